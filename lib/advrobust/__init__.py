"""advrobust: attacks, defenses, models, data and the run pipeline of the thesis companion.

Importing the package registers every model, dataset and attack with :mod:`advrobust.registry`.
"""
from . import attacks, blackbox, data, models, registry
from .errors import AdvRobustError, ConfigError, DataError

__all__ = ["AdvRobustError", "ConfigError", "DataError", "attacks", "blackbox", "data", "models", "registry"]
__version__ = "0.1.0"
