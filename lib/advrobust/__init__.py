"""advrobust: attacks, defenses, models, data and the run pipeline of the thesis companion.

Importing the package registers every model, dataset and attack with :mod:`advrobust.registry`.
"""
from . import attacks, data, models, registry
from .errors import AdvRobustError, ConfigError, DataError

__all__ = ["attacks", "data", "models", "registry", "AdvRobustError", "ConfigError", "DataError"]
__version__ = "0.1.0"
