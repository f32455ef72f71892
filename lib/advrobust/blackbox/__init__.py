"""Black-box attacks of thesis §2.3-2.5, registered under ``registry.create("blackbox", name)``.

Every attack sees the model only through a query oracle (:mod:`.oracle`), which counts, clips and
budgets queries and records the best adversarial distortion at every query count.
"""
from .base import BlackBoxAttack, BlackBoxResult
from .boundary import BoundaryAttack
from .guessing_smart import GuessingSmart
from .nes import NES
from .opt import OPTAttack
from .oracle import HardLabelOracle, QueryOracle, QueryTrace, ScoreOracle
from .sign_opt import SVMOPT, SignOPT, ZOSignSGD
from .zoo import ZOO

__all__ = [
    "BoundaryAttack",
    "GuessingSmart",
    "NES",
    "ZOO",
    "OPTAttack",
    "SignOPT",
    "SVMOPT",
    "ZOSignSGD",
    "BlackBoxAttack",
    "BlackBoxResult",
    "HardLabelOracle",
    "QueryOracle",
    "QueryTrace",
    "ScoreOracle",
]
