"""Threat models: the L∞ and L2 balls B(x0, eps) of thesis §2.1.1, Eqs. (2.3)-(2.4).

A threat model knows three things a projected-gradient attack needs (as in MadryLab's
``attack_steps``): where to start at random inside the ball, how a normalised ascent step looks
in its geometry, and how to project back onto the ball around the clean input ``x0``. Bounds of
the input domain (e.g. [0, 1]) are the attack's business, not the ball's.

Shapes: ``x``, ``x0`` and ``grad`` are (N, ...) batches; distances are (N,).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Protocol

import torch
from torch import Tensor

from ..errors import require

_TINY = (
    1e-12  # floor for norms that divide, so a zero gradient or zero perturbation gives 0, not NaN
)


def l2_distance(x: Tensor, x0: Tensor) -> Tensor:
    """(N,) per-example L2 norm of ``x - x0``, Eq. (2.3) with p = 2."""
    return (x - x0).flatten(1).norm(p=2, dim=1)


def linf_distance(x: Tensor, x0: Tensor) -> Tensor:
    """(N,) per-example L∞ norm of ``x - x0``, Eq. (2.4)."""
    return (x - x0).flatten(1).abs().amax(dim=1)


class ThreatModel(Protocol):
    """A norm ball of radius ``eps`` around the clean input."""

    norm: ClassVar[str]  # "linf" or "l2"

    @property
    def eps(self) -> float: ...

    def random_start(self, x0: Tensor, generator: torch.Generator | None = None) -> Tensor: ...
    def step(self, x: Tensor, grad: Tensor, alpha: float) -> Tensor: ...
    def project(self, x: Tensor, x0: Tensor) -> Tensor: ...
    def distance(self, x: Tensor, x0: Tensor) -> Tensor: ...


@dataclass(frozen=True)
class LinfBall:
    """:math:`\\{x : \\|x - x_0\\|_\\infty \\le \\varepsilon\\}`; steps follow the gradient sign."""

    eps: float
    norm: ClassVar[str] = "linf"

    def __post_init__(self) -> None:
        require(self.eps >= 0, f"eps must be >= 0, got {self.eps}")

    def random_start(self, x0: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """``x0`` plus noise uniform on [-eps, eps] in every coordinate."""
        return x0 + (2 * _rand(x0.shape, x0, generator) - 1) * self.eps

    def step(self, x: Tensor, grad: Tensor, alpha: float) -> Tensor:
        """Steepest L∞ ascent step: ``x + alpha * sign(grad)``."""
        return x + alpha * grad.sign()

    def project(self, x: Tensor, x0: Tensor) -> Tensor:
        """Nearest point of the ball around ``x0`` (coordinate-wise clamp of ``x - x0``)."""
        return x0 + (x - x0).clamp(-self.eps, self.eps)

    def distance(self, x: Tensor, x0: Tensor) -> Tensor:
        return linf_distance(x, x0)


@dataclass(frozen=True)
class L2Ball:
    """:math:`\\{x : \\|x - x_0\\|_2 \\le \\varepsilon\\}`; steps follow the normalised gradient."""

    eps: float
    norm: ClassVar[str] = "l2"

    def __post_init__(self) -> None:
        require(self.eps >= 0, f"eps must be >= 0, got {self.eps}")

    def random_start(self, x0: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """``x0`` plus a uniform point of the ball: Gaussian direction, radius eps·u^(1/D)."""
        n, dim = x0.shape[0], x0[0].numel()
        direction = _rand((n, dim), x0, generator, normal=True)
        radius = self.eps * _rand((n, 1), x0, generator).pow(1.0 / dim)
        return x0 + (direction / _l2(direction) * radius).reshape(x0.shape)

    def step(self, x: Tensor, grad: Tensor, alpha: float) -> Tensor:
        """Steepest L2 ascent step: ``x + alpha * grad / ||grad||_2`` per example."""
        return x + alpha * _per_example(grad, lambda g: g / _l2(g))

    def project(self, x: Tensor, x0: Tensor) -> Tensor:
        """Nearest point of the ball around ``x0`` (radial shrink of ``x - x0`` when outside)."""
        delta = x - x0
        return x0 + _per_example(delta, lambda d: d * (self.eps / _l2(d)).clamp(max=1.0))

    def distance(self, x: Tensor, x0: Tensor) -> Tensor:
        return l2_distance(x, x0)


def _l2(flat: Tensor) -> Tensor:
    """(N, 1) row norms of a flattened (N, D) batch, floored at a tiny positive value."""
    return flat.norm(p=2, dim=1, keepdim=True).clamp_min(_TINY)


def _per_example(x: Tensor, fn: Callable[[Tensor], Tensor]) -> Tensor:
    """Apply a row-wise map on the (N, D) flattening of ``x`` and restore the shape."""
    return fn(x.flatten(1)).reshape(x.shape)


def _rand(
    shape: tuple[int, ...], like: Tensor, generator: torch.Generator | None, normal: bool = False
) -> Tensor:
    """U[0, 1) (or, with ``normal``, N(0, 1)) noise on ``like``'s device and dtype.

    With a ``generator`` the numbers are drawn on the CPU and moved, so one seed gives the same
    random start on every device.
    """
    draw = torch.randn if normal else torch.rand
    if generator is None:
        return draw(shape, dtype=like.dtype, device=like.device)
    return draw(shape, generator=generator, dtype=like.dtype).to(like.device)
