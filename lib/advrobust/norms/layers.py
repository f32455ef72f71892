"""Norm layers by name: the ``norm_layer`` argument of the CIFAR models (thesis Chapter 6).

A model builds each of its normalisation layers as ``factory(num_features)``, the factory chosen
by name, so one architecture serves Table 6.3's three columns:

- ``"bn"``: plain ``nn.BatchNorm2d`` (the "BN" column; every model's default, so existing
  checkpoints and parameter counts are unchanged);
- ``"dual_bn"``: AdvProp's :class:`~advrobust.norms.dual.DualBatchNorm2d` (the "AdvProp" column);
  ``"dual_bn_aux<n>"`` (e.g. ``"dual_bn_aux2"``, Table 6.6) with n >= 2 auxiliary BNs;
- ``"robmask"``: :class:`~advrobust.norms.robmask.RobMaskNorm2d` with k = 2 (the "RobMask"
  column, the thesis's setting); ``"robmask_k<k>"`` (e.g. ``"robmask_k3"``, Table 6.6) any k >= 2.

The names are strings so that a model's configuration (and the trainer's cache key) stays plain
data; a callable ``(num_features) -> nn.Module`` is accepted too.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial

from torch import nn

from ..errors import ConfigError, require
from .dual import DualBatchNorm2d
from .robmask import RobMaskNorm2d, check_k

NormFactory = Callable[[int], nn.Module]
NormSpec = str | NormFactory

# The plain names; "robmask_k<k>" is parsed on top of these.
NORM_LAYERS: dict[str, NormFactory] = {
    "bn": nn.BatchNorm2d,
    "dual_bn": DualBatchNorm2d,
    "robmask": RobMaskNorm2d,
}
_ROBMASK_K = re.compile(r"robmask_k(\d+)")
_DUAL_AUX = re.compile(r"dual_bn_aux(\d+)")


def norm_factory(spec: NormSpec) -> NormFactory:
    """The factory ``(num_features) -> nn.Module`` that ``spec`` names (or ``spec`` if callable)."""
    if callable(spec):
        return spec
    require(isinstance(spec, str), f"norm_layer must be a name or a factory, got {spec!r}")
    if spec in NORM_LAYERS:
        return NORM_LAYERS[spec]
    match = _ROBMASK_K.fullmatch(spec)
    if match:
        return partial(RobMaskNorm2d, k=check_k(int(match.group(1))))
    match = _DUAL_AUX.fullmatch(spec)
    if match and int(match.group(1)) >= 2:
        return partial(DualBatchNorm2d, auxiliaries=int(match.group(1)))
    raise ConfigError(f"unknown norm_layer {spec!r}; available: {', '.join(NORM_LAYERS)}, robmask_k<k> (k >= 2), "
                      "dual_bn_aux<n> (n >= 2)")
