"""advrobust: the library of the executable companion to M. Cheng's thesis *On the Robustness of
Neural Network: Attacks and Defenses* (UCLA, 2021).

The layout follows the thesis and the data flow; see ``lib/advrobust/README.md``. Importing the
package imports nothing heavy: each subpackage is imported where it is used, and the registry
imports the package of a kind (model, dataset, attack, black-box attack, defense) on its first
look-up.
"""
from .errors import AdvRobustError, ConfigError, DataError

__all__ = ["AdvRobustError", "ConfigError", "DataError"]
__version__ = "0.1.0"
