"""One switch for every norm layer of a model: AdvProp's branch and RobMask's strength.

AdvProp attacks and trains its auxiliary BN in ``"aux"`` or ``"split"`` mode and tests with the
main one; RobMask (Algorithm 10) sets the strength p = ε_i / ε_max of every BN for a mini-batch.
The thesis's PGD loop omits γ_i; the intended use is to run the attack inside the same
``norm_mode`` (through u_i), as AdvProp attacks through its auxiliary BN. :func:`norm_mode` sets
every such layer at once and restores each layer's previous state on exit; :func:`set_norm_mode`
sets it for good. The default state of a new layer is the main branch and p = 0 (clean).
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn

from ..errors import require
from .dual import DualBatchNorm2d, check_branch
from .robmask import RobMaskNorm2d, Strength, check_strength


def dual_bn_layers(model: nn.Module) -> list[DualBatchNorm2d]:
    """Every :class:`DualBatchNorm2d` of ``model``, in module order."""
    return [m for m in model.modules() if isinstance(m, DualBatchNorm2d)]


def robmask_layers(model: nn.Module) -> list[RobMaskNorm2d]:
    """Every :class:`RobMaskNorm2d` of ``model``, in module order."""
    return [m for m in model.modules() if isinstance(m, RobMaskNorm2d)]


def set_norm_mode(model: nn.Module, *, branch: str | None = None, strength: Strength | None = None) -> None:
    """Route every dual BN of ``model`` to ``branch`` and/or set every RobMask layer's ``strength``.

    Naming a setting the model has no layer for is a ConfigError (a BN model has neither), so a
    typo in a trainer cannot silently train the wrong branch.
    """
    require(branch is not None or strength is not None, "set_norm_mode needs a branch or a strength")
    duals, masks = dual_bn_layers(model), robmask_layers(model)
    if branch is not None:
        require(bool(duals), f"branch={branch!r}: the model has no dual_bn layers")
        for dual in duals:
            check_branch(branch, dual.auxiliaries)
    if strength is not None:
        check_strength(strength)
        require(bool(masks), "strength: the model has no robmask layers")
    if branch is not None:  # applied only once both settings are known to be valid
        for dual in duals:
            dual.branch = branch
    if strength is not None:
        for mask in masks:
            mask.strength = strength


@contextmanager
def norm_mode(
    model: nn.Module, *, branch: str | None = None, strength: Strength | None = None
) -> Iterator[nn.Module]:
    """:func:`set_norm_mode` for the ``with`` block; every layer's previous state comes back after.

    >>> with norm_mode(model, branch="aux"):     # doctest: +SKIP
    ...     logits = model(x_adv)                 # AdvProp's auxiliary BN
    >>> with norm_mode(model, strength=0.75):     # doctest: +SKIP
    ...     logits = model(x_adv)                 # RobMask at eps = 0.75 eps_max
    """
    before = [(dual, dual.branch) for dual in dual_bn_layers(model)]
    strengths = [(mask, mask.strength) for mask in robmask_layers(model)]
    set_norm_mode(model, branch=branch, strength=strength)
    try:
        yield model
    finally:
        for dual, previous in before:
            dual.branch = previous
        for mask, strength_before in strengths:
            mask.strength = strength_before
