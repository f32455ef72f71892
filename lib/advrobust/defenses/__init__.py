"""Robust training in the vicinal-risk frame of thesis §5.2 (Eq. (5.4), Table 5.1).

Each defense supplies its virtual samples x~, labels y~ and loss maps g, h per batch
(:class:`Defense`) and declares its row of Table 5.1 (:class:`VicinalForm`, collected by
:func:`vicinal_risk_table`); :func:`advrobust.training.train` runs any of them. Registered as
``"defense"``:

``natural`` :class:`Natural`, ``pgd_at`` :class:`PGDAT`, ``trades`` :class:`TRADES`,
``cat`` :class:`CAT` (Algorithm 8), ``adv_ls`` and ``adp_adv`` (the ablations of Table 4.6),
``free_at`` :class:`FreeAT` (SNG19), ``sprout`` :class:`SPROUT` (Algorithm 9) and its one-module
baselines ``gaussian_augmentation``, ``mixup``, ``dirichlet_ls``, ``uniform_ls`` and ``ls_ga``
(every combination of Figure 5.5 is in :data:`ABLATIONS`), and Chapter 6's ``advprop``
:class:`AdvProp` (XTG20, for ``norm_layer="dual_bn"`` models) and ``robmask`` :class:`RobMask`
(Algorithm 10, for ``norm_layer="robmask"`` models).
"""
from typing import Any

from ..registry import create
from .advprop import STRENGTH_DRAWS, AdvProp, draw_strength
from .base import Defense, State, VicinalBatch, class_count, generalized_cross_entropy, one_hot
from .cat import CAT, adp_adv, adv_ls, next_eps
from .free_at import FreeAT, SignAscent
from .inner import linf_ascent
from .natural import Natural
from .pgd_at import PGDAT
from .robmask import MaskedBatch, RobMask
from .sprout import (
    ABLATIONS,
    SPROUT,
    dirichlet_ls,
    gaussian_augmentation,
    ls_ga,
    mixup_training,
    uniform_ls,
)
from .trades import TRADES, kl_divergence
from .vicinal_form import VicinalForm, vicinal_risk_table


def create_defense(name: str, **settings: Any) -> Defense:
    """The defense registered as ``name``: ``create_defense("cat", eta=0.005)``."""
    return create("defense", name, **settings)


__all__ = [
    "ABLATIONS",
    "CAT",
    "PGDAT",
    "SPROUT",
    "STRENGTH_DRAWS",
    "TRADES",
    "AdvProp",
    "Defense",
    "FreeAT",
    "MaskedBatch",
    "Natural",
    "RobMask",
    "SignAscent",
    "State",
    "VicinalBatch",
    "VicinalForm",
    "adp_adv",
    "adv_ls",
    "class_count",
    "create_defense",
    "dirichlet_ls",
    "draw_strength",
    "gaussian_augmentation",
    "generalized_cross_entropy",
    "kl_divergence",
    "linf_ascent",
    "ls_ga",
    "mixup_training",
    "next_eps",
    "one_hot",
    "uniform_ls",
    "vicinal_risk_table",
]
