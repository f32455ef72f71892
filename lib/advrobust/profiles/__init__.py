"""Profiles: the one knob that sets the scale of every experiment.

* ``smoke``: seconds per notebook, for the tests;
* ``quick``: the default; the whole book on a 2-core CPU, on real data at reduced size, showing
  the thesis's qualitative claims;
* ``paper``: the thesis's own settings (datasets, architectures, epochs, example counts), for a GPU.

Notebooks never branch on the profile: they ask this package for the settings of their experiment
(``whitebox(profile)``, ...) and use the fields. One module per experiment family.
"""
from .base import PROFILES, check_profile
from .defenses import AttackColumns, DefenseSettings, defenses
from .whitebox import WhiteBoxSettings, whitebox

__all__ = ["PROFILES", "AttackColumns", "DefenseSettings", "check_profile", "defenses", "WhiteBoxSettings", "whitebox"]
