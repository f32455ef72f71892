"""Table 6.2: a linear path between two adversarial maskings, γ̂ = pγ + (1 − p)γ′, β̂ likewise.

§6.2.2 takes two models that differ only in their BN affine parameters (a model and its BN-only
fine-tuned copy, Table 6.1) and evaluates the model whose every BN has (γ̂, β̂) for p = 1, 0.8, ...,
0. The thesis does not say which running statistics the combined model uses. Its Table 6.2 ends
(p = 1 and p = 0) equal Table 6.1's two models to the last digit, so by default the running mean
and variance are interpolated with the same p (``statistics="interpolate"``): p = 1 reproduces the
first model and p = 0 the second, bit for bit. ``statistics="first"`` keeps the first model's
statistics, the text's literal "use the new adversarial masking (γ̂, β̂)"; where BN-only fine-tuning
has moved the running statistics, its p = 0 end is not the second model. Every parameter and buffer
outside the BNs is the first model's.
:func:`interpolate_branches` does the same between a dual-BN model's main BN (first) and its
auxiliary BN (second).
"""
from __future__ import annotations

import copy

import torch
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

from ..errors import require
from .mode import dual_bn_layers, robmask_layers


def _check_p(p: float) -> float:
    require(isinstance(p, (int, float)) and 0.0 <= p <= 1.0,
            f"interpolation weight p must lie in [0, 1], got {p!r}")
    return float(p)


def _mix(first: Tensor, second: Tensor, p: float) -> Tensor:
    # p * a + (1 - p) * b (not torch.lerp): exactly a at p = 1 and exactly b at p = 0.
    return p * first + (1.0 - p) * second


def _affine_norms(model: nn.Module) -> dict[str, _BatchNorm]:
    return {name: m for name, m in model.named_modules() if isinstance(m, _BatchNorm) and m.affine}


STATISTICS = ("interpolate", "first")  # interpolate_norms' choices of running statistics


def interpolate_norms(first: nn.Module, second: nn.Module, p: float, statistics: str = "interpolate") -> nn.Module:
    """A copy of ``first`` whose every BN affine is ``p`` × first's + (1 − ``p``) × second's, and
    its running statistics likewise (``statistics="interpolate"``) or the first model's ("first").

    ``first`` and ``second`` must have the same BN layers (names and widths); all other weights come
    from ``first``. Dual-BN models interpolate both of their BNs; RobMask models interpolate
    through their strength instead (:func:`~advrobust.norms.norm_mode`).
    """
    p = _check_p(p)
    require(statistics in STATISTICS, f"unknown statistics {statistics!r}; choose from {', '.join(STATISTICS)}")
    require(not robmask_layers(first) and not robmask_layers(second),
            "RobMask layers have no affine to interpolate; set their strength with norm_mode")
    ours, theirs = _affine_norms(first), _affine_norms(second)
    require(bool(ours), "interpolate_norms: the first model has no BatchNorm affine parameters")
    require(ours.keys() == theirs.keys()
            and all(ours[n].num_features == theirs[n].num_features for n in ours),
            "interpolate_norms needs two models with the same BatchNorm layers")
    mixed = copy.deepcopy(first)
    with torch.no_grad():
        for name, norm in _affine_norms(mixed).items():
            norm.weight.copy_(_mix(ours[name].weight, theirs[name].weight, p))
            norm.bias.copy_(_mix(ours[name].bias, theirs[name].bias, p))
            if statistics == "interpolate":
                for buffer in ("running_mean", "running_var"):
                    mixed_buffer, a, b = (getattr(m, buffer) for m in (norm, ours[name], theirs[name]))
                    if mixed_buffer is not None:  # a BN without running statistics has none to mix
                        mixed_buffer.copy_(_mix(a, b, p))
    return mixed


def interpolate_branches(model: nn.Module, p: float) -> nn.Module:
    """A copy of a dual-BN ``model`` whose main BNs carry ``p`` × main + (1 − ``p``) × auxiliary
    affine, routed to the main branch (with the main running statistics); auxiliaries unchanged."""
    p = _check_p(p)
    require(bool(dual_bn_layers(model)), "interpolate_branches needs a model with dual_bn layers")
    mixed = copy.deepcopy(model)
    with torch.no_grad():
        for dual in dual_bn_layers(mixed):
            dual.weight.copy_(_mix(dual.weight, dual.aux_bn.weight, p))
            dual.bias.copy_(_mix(dual.bias, dual.aux_bn.bias, p))
            dual.branch = "main"
    return mixed
