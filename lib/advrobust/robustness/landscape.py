"""Loss landscapes of Figure 4.2 (Engstrom, Ilyas & Athalye 2018, "EIA18").

For an input x with label y the loss is evaluated on the plane

    x(a, b) = clip(x + a · sign(∇_x L(x, y)) + b · r),    r ∈ {-1, +1}^D Rademacher,

over a square grid of (a, b), both in L∞ units (a = 8/255 moves every pixel by 8/255 along the
gradient sign). A robust model shows a low, flat surface; a sharp rise along a means the
gradient direction finds adversarial examples quickly, and a surface that is flat along a but
rises along b is a sign of masked gradients.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..attacks.base import eval_mode
from ..errors import require
from .accuracy import model_device


@dataclass(frozen=True)
class LossLandscape:
    """Mean cross-entropy ``loss[i, j]`` at ``a[i]`` along the gradient sign, ``b[j]`` along r."""

    a: np.ndarray  # (P,)
    b: np.ndarray  # (P,)
    loss: np.ndarray  # (P, P)


def loss_landscape(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    span: float,
    points: int = 21,
    seed: int = 0,
    bounds: tuple[float, float] = (0.0, 1.0),
    batch_size: int = 1024,
) -> LossLandscape:
    """The loss surface of Figure 4.2 around ``x`` (N, ...) with labels ``y`` (N,).

    Args:
        span: the grid runs over a, b ∈ [-span, span] (L∞ units); the centre (0, 0) is exact.
        points: grid points per axis (odd, so the clean input is on the grid). Default 21.
        seed: seed of the Rademacher vectors (one per example).
        bounds: every grid point is clipped to the input domain.
        batch_size: grid points (and examples, for the gradients) per forward pass.

    With N > 1 each example gets its own gradient sign and Rademacher vector and the surface is
    the mean of the N per-example losses. Runs in eval mode; gradients are taken at the clean x.
    """
    require(span > 0, f"span must be > 0, got {span}")
    require(points >= 3 and points % 2 == 1, f"points must be odd and >= 3, got {points}")
    require(y.shape == (x.shape[0],), f"y must have shape ({x.shape[0]},), got {tuple(y.shape)}")
    device = model_device(model)
    x, y = x.to(device), y.to(device)
    steps = (torch.arange(points) - points // 2) * (span / (points // 2))  # (P,), exact 0 centre
    a, b = torch.meshgrid(steps, steps, indexing="ij")  # grid point k = (a[k // P], b[k % P])
    coefficients = torch.stack([a.flatten(), b.flatten()], dim=1).to(x)  # (P², 2)
    generator = torch.Generator().manual_seed(seed)
    rademacher = (torch.randint(0, 2, x.shape, generator=generator) * 2 - 1).to(x)
    total = torch.zeros(points * points, dtype=torch.float64, device=device)
    with eval_mode(model):
        direction = torch.cat(
            [_gradient_sign(model, xs, ys) for xs, ys in zip(x.split(batch_size), y.split(batch_size))]
        )
        with torch.no_grad():
            for xi, yi, di, ri in zip(x, y, direction, rademacher):
                plane = torch.stack([di, ri])  # (2, ...)
                losses = [
                    F.cross_entropy(
                        model((xi + torch.tensordot(c, plane, dims=1)).clamp(*bounds)),
                        yi.expand(len(c)),
                        reduction="none",
                    )
                    for c in coefficients.split(batch_size)
                ]
                total += torch.cat(losses).double()
    loss = (total / x.shape[0]).reshape(points, points).cpu().numpy()
    grid = steps.double().numpy()
    return LossLandscape(a=grid, b=grid.copy(), loss=loss)


def _gradient_sign(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
    """sign(∇_x CE(model(x_i), y_i)) for every example (the losses of a batch do not interact
    in eval mode)."""
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(F.cross_entropy(model(x), y, reduction="sum"), x)
    return grad.sign()
