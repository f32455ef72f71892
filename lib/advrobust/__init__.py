"""advrobust: attacks, defenses, models, data and the run pipeline of the thesis companion.

Importing the package registers every model, dataset, attack and defense with :mod:`advrobust.registry`.
"""
from . import attacks, blackbox, data, defenses, models, registry, robustness
from .errors import AdvRobustError, ConfigError, DataError

__all__ = [
    "AdvRobustError", "ConfigError", "DataError", "attacks", "blackbox", "data", "defenses", "models", "registry",
    "robustness",
]
__version__ = "0.1.0"
