"""Profiles: the one knob that sets the scale of every experiment.

* ``smoke``: seconds per notebook, for the tests;
* ``quick``: the default; the whole book on a 2-core CPU, on real data at reduced size, showing
  the thesis's qualitative claims;
* ``paper``: the thesis's own settings (datasets, architectures, epochs, example counts), for a GPU.

Notebooks never branch on the profile: they ask the module of their experiment for its settings
(``profiles.whitebox.whitebox(profile)``, ...), frozen dataclasses whose fields they use. One
module per experiment family; this package imports none of them, so a page depends only on the
settings it reads.
"""
from .base import PROFILES, check_profile

__all__ = ["PROFILES", "check_profile"]
