"""The inner maximisation of adversarial training (Eq. (4.1)): projected sign-gradient ascent.

This is the training-time workhorse shared by PGD-AT, TRADES and CAT. Unlike the evaluation
attacks of :mod:`advrobust.attacks` it ascends an arbitrary per-example objective of the logits
(cross-entropy, TRADES' KL, CAT's mixed loss (4.6)) and accepts a per-example radius (CAT's
eps_i), and it draws its random start from torch's global generator, which the trainer seeds per
epoch. Evaluation never uses it.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
from torch import Tensor, nn

from ..attacks.base import eval_mode

Start = Literal["zero", "uniform", "normal"]


def linf_ascent(
    model: nn.Module,
    x: Tensor,
    objective: Callable[[Tensor], Tensor],
    *,
    eps: Tensor | float,
    alpha: Tensor | float,
    steps: int,
    start: Start = "uniform",
    start_scale: float = 1e-3,
    bounds: tuple[float, float] = (0.0, 1.0),
) -> Tensor:
    """x~ = x + delta maximising ``objective(model(x~)).sum()`` over ||delta||_inf <= eps.

    ``eps`` and ``alpha`` are floats or (N,) per-example tensors. Each of ``steps`` iterations is
    ``delta <- clip_eps(delta + alpha * sign(grad))`` (Algorithm 8's inner loop), with x~ kept in
    ``bounds``. ``start``: ``"zero"`` (delta = 0, Algorithm 8), ``"uniform"`` on [-eps, eps]
    (Madry et al.), or ``"normal"`` with std ``start_scale`` (TRADES). The model runs in eval mode
    (as in the TRADES reference code); its training mode is restored afterwards. Returns x~
    detached.
    """
    x = x.detach()
    radius = _per_example(eps, x)
    step = _per_example(alpha, x)
    if start == "uniform":
        delta = (2 * torch.rand_like(x) - 1) * radius
    elif start == "normal":
        delta = start_scale * torch.randn_like(x)
    else:
        delta = torch.zeros_like(x)
    x_tilde = (x + delta).clamp(*bounds)
    with eval_mode(model), torch.enable_grad():
        for _ in range(steps):
            x_tilde.requires_grad_(True)
            (grad,) = torch.autograd.grad(objective(model(x_tilde)).sum(), x_tilde)
            delta = (x_tilde.detach() + step * grad.sign() - x).clamp(-radius, radius)
            x_tilde = (x + delta).clamp(*bounds)
    return x_tilde.detach()


def _per_example(value: Tensor | float, like: Tensor) -> Tensor:
    """``value`` as a tensor broadcastable against ``like`` (N, ...): scalar or (N,) -> (N, 1, ...)."""
    value = torch.as_tensor(value, dtype=like.dtype, device=like.device)
    return value.reshape(-1, *([1] * (like.ndim - 1))) if value.ndim == 1 else value
