"""Carlini-Wagner L2 attack (thesis §2.2, Eqs. (2.5)-(2.7); Carlini & Wagner 2017)."""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ..registry import register
from .base import MinimizationAttack, require_count, require_nonnegative, require_positive, rows
from .losses import cw_loss, cw_margin

_ATANH_SHRINK = 1 - 1e-6  # keeps arctanh finite for inputs exactly on the bounds
_NO_UPPER = 1e10  # upper bound on c meaning "no success yet": grow c tenfold instead of bisecting


@register("attack", "cw_l2")
class CarliniWagnerL2(MinimizationAttack):
    r"""C&W L2: minimise Eq. (2.5) with Dis = squared L2 and L = Eq. (2.6) (or (2.7) targeted).

    .. math::
        \min_w \; \|x(w) - x_0\|_2^2
        + c \cdot \max\{Z(x(w))_{y_0} - \max_{i \ne y_0} Z(x(w))_i, -\kappa\},
        \qquad x(w) = a + b \tanh(w)

    where the bounds are [a - b, a + b]: the change of variables keeps every iterate inside the
    bounds without clipping. For each example, Adam minimises over w for a fixed c; a binary
    search then adjusts c per example (tenfold growth until the first success, then bisection
    between the largest failing and the smallest succeeding c). The result is, per example, the
    successful iterate with the smallest L2 distance seen over all c (x0 itself when none
    succeeded).

    Paper: N. Carlini, D. Wagner, "Towards Evaluating the Robustness of Neural Networks",
    IEEE S&P 2017, https://arxiv.org/abs/1608.04644.

    Distance measure: L2.

    Args:
        model: maps inputs in ``bounds`` to logits.
        kappa: confidence; an iterate counts only once its margin is below -kappa. Default 0.
        initial_const: starting c for every example. Default 1e-3.
        binary_search_steps: rounds of the search over c. Default 9.
        steps: Adam steps per round. Default 10000.
        lr: Adam learning rate. Default 1e-2.
        abort_early: every ``ceil(steps / 10)`` steps, an example stops for the round when its
            objective fell by less than 0.01 % since the last check; the round ends when no
            example is left. Default True.
        bounds: input domain. Default (0, 1).

    Shape: x (N, ...) in ``bounds``; y and target (N,); output like x. c is an (N,) tensor.

    Queries: one per Adam step an example is still running (its own early abort).

    Deviations: the distance is taken to x0 itself, not to its tanh reconstruction (they differ
    by about 1e-6 per coordinate). Early abort is per example (the paper's code checks the
    whole batch's loss), so a batch gives the same result as its examples one by one. The
    official attackbox code has no tanh change of variables and returns the last iterate; this
    one follows the paper.

    Examples::

        >>> result = CarliniWagnerL2(model, steps=1000, binary_search_steps=5).run(x, y)
        >>> result.median_l2
    """

    name = "cw_l2"

    def __init__(
        self,
        model: nn.Module,
        *,
        kappa: float = 0.0,
        initial_const: float = 1e-3,
        binary_search_steps: int = 9,
        steps: int = 10000,
        lr: float = 1e-2,
        abort_early: bool = True,
        bounds: tuple[float, float] = (0.0, 1.0),
    ) -> None:
        super().__init__(model, bounds=bounds)
        require_nonnegative(kappa, "kappa")
        require_positive(initial_const, "initial_const")
        require_count(binary_search_steps, "binary_search_steps")
        require_count(steps, "steps")
        require_positive(lr, "lr")
        self.kappa = kappa
        self.initial_const = initial_const
        self.binary_search_steps = binary_search_steps
        self.steps = steps
        self.lr = lr
        self.abort_early = abort_early

    def _perturb(self, x0: Tensor, labels: Tensor, target: Tensor | None) -> tuple[Tensor, Tensor]:
        n = x0.shape[0]
        targeted = target is not None
        classes = target if target is not None else labels
        w0 = torch.atanh(self._to_unit(x0) * _ATANH_SHRINK)
        const = torch.full((n,), self.initial_const, dtype=x0.dtype, device=x0.device)
        lower = torch.zeros_like(const)
        upper = torch.full_like(const, _NO_UPPER)
        best_l2 = torch.full_like(const, math.inf)
        best_x = x0
        queries = torch.zeros(n, dtype=torch.long, device=x0.device)
        check_every = math.ceil(self.steps / 10)

        for _ in range(self.binary_search_steps):
            w = w0.clone().requires_grad_(True)
            adam = torch.optim.Adam([w], lr=self.lr)
            running = torch.ones(n, dtype=torch.bool, device=x0.device)
            found = torch.zeros_like(running)
            last_check = torch.full_like(const, math.inf)
            for step in range(self.steps):
                x = self._from_unit(torch.tanh(w))
                logits = self.model(x)
                sq_l2 = (x - x0).flatten(1).pow(2).sum(dim=1)  # (N,)
                objective = sq_l2 + const * cw_loss(
                    logits, classes, kappa=self.kappa, targeted=targeted
                )
                (w.grad,) = torch.autograd.grad(objective.sum(), w)
                adam.step()
                queries += running
                with torch.no_grad():
                    # margin < -kappa: the goal of Eq. (2.1)/(2.2) holds with confidence kappa
                    success = running & (
                        cw_margin(logits, classes, targeted=targeted) < -self.kappa
                    )
                    found |= success
                    l2 = sq_l2.sqrt()
                    improved = success & (l2 < best_l2)
                    best_l2 = torch.where(improved, l2, best_l2)
                    best_x = torch.where(rows(improved, x), x, best_x)
                    if self.abort_early and step % check_every == check_every - 1:
                        running &= objective <= 0.9999 * last_check
                        last_check = objective.detach()
                        if not running.any():
                            break
            upper = torch.where(found, torch.minimum(upper, const), upper)
            lower = torch.where(found, lower, torch.maximum(lower, const))
            const = torch.where(upper < _NO_UPPER, (lower + upper) / 2, const * 10)
        return best_x, queries

    def _to_unit(self, x: Tensor) -> Tensor:
        """Map ``bounds`` onto [-1, 1]."""
        lower, upper = self.bounds
        return (x - (upper + lower) / 2) / ((upper - lower) / 2)

    def _from_unit(self, u: Tensor) -> Tensor:
        """Map [-1, 1] onto ``bounds``."""
        lower, upper = self.bounds
        return u * ((upper - lower) / 2) + (upper + lower) / 2
