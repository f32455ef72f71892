"""White-box attacks of thesis §2.1-2.2, registered under ``registry.create("attack", name)``.

Budgeted (eps-ball; ``atk.eps``, ``atk.threat``):
    ``fgsm`` :class:`FGSM`, ``pgd`` :class:`PGD` (L∞), ``bim`` :class:`BIM`, ``pgd_l2``
    :class:`PGDL2`, ``cw_linf`` :class:`CWLinf`.
Minimal distortion (L2):
    ``cw_l2`` :class:`CarliniWagnerL2`, ``deepfool`` :class:`DeepFool`.

Every attack is called as ``x_adv = atk(x, y)`` or ``result = atk.run(x, y, target=None)``;
chapters build them from the :class:`AttackSpec` of their profile (``spec.build(model)``).
"""

from .base import Attack, BudgetedAttack, MinimizationAttack
from .cw_l2 import CarliniWagnerL2
from .cw_linf import CWLinf
from .deepfool import DeepFool
from .fgsm import FGSM
from .losses import attack_objective, cross_entropy, cw_loss, cw_margin
from .pgd import BIM, PGD, PGDL2
from .result import AttackResult
from .spec import AttackSpec
from .threat import L2Ball, LinfBall, ThreatModel, l2_distance, linf_distance

__all__ = [
    # contract
    "Attack",
    "BudgetedAttack",
    "MinimizationAttack",
    "AttackResult",
    "AttackSpec",
    # threat models and losses
    "LinfBall",
    "L2Ball",
    "ThreatModel",
    "l2_distance",
    "linf_distance",
    "cross_entropy",
    "cw_margin",
    "cw_loss",
    "attack_objective",
    # L∞ budgeted
    "FGSM",
    "PGD",
    "BIM",
    "CWLinf",
    # L2 budgeted
    "PGDL2",
    # L2 minimal distortion
    "CarliniWagnerL2",
    "DeepFool",
]

