"""Robust training in the vicinal-risk frame of thesis §5.2 (Eq. (5.4), Table 5.1).

Each defense supplies its virtual samples x~, labels y~ and loss maps g, h per batch
(:class:`Defense`); :func:`advrobust.training.train` runs any of them. Registered as ``"defense"``:

``natural`` :class:`Natural`, ``pgd_at`` :class:`PGDAT`, ``trades`` :class:`TRADES`,
``cat`` :class:`CAT` (Algorithm 8), ``adv_ls`` and ``adp_adv`` (the ablations of Table 4.6).
"""
from typing import Any

from ..registry import create
from .base import Defense, State, VicinalBatch, class_count, generalized_cross_entropy, one_hot
from .cat import CAT, adp_adv, adv_ls, next_eps
from .inner import linf_ascent
from .natural import Natural
from .pgd_at import PGDAT
from .trades import TRADES, kl_divergence


def create_defense(name: str, **settings: Any) -> Defense:
    """The defense registered as ``name``: ``create_defense("cat", eta=0.005)``."""
    return create("defense", name, **settings)


__all__ = [
    "CAT",
    "PGDAT",
    "TRADES",
    "Defense",
    "Natural",
    "State",
    "VicinalBatch",
    "adp_adv",
    "adv_ls",
    "class_count",
    "create_defense",
    "generalized_cross_entropy",
    "kl_divergence",
    "linf_ascent",
    "next_eps",
    "one_hot",
]
