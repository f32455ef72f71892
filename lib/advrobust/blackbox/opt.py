"""OPT-attack, thesis §2.4.2: randomized gradient-free descent on g(θ) (Eq. (2.16), Algorithm 3).

Each iteration averages q finite-difference estimates (g(θ + βu) - g(θ))/β · u over random unit
directions u, every g value found by Algorithm 2, and takes a backtracking line-search step. If
one of the probed directions θ + βu is better than the line search's result, it is taken instead
(as in the official code; it costs no query).

The smooth L∞ form replaces g by Σ_i max{λ|θ_i|/‖θ‖∞ - ε, 0}² with λ the boundary distance along
θ/‖θ‖∞: it is 0 exactly when the attack has found an adversarial example inside the L∞ ball of
radius ε, and unlike ‖·‖∞ it has informative slopes.

Settings follow the thesis text where it and the official code differ: q = 20 (code: 10),
β = 0.005 (code: 0.001), t = 100 initial directions; α = 0.2 and the line-search schedule as in the
code; the bisection tolerance is β/500 (1e-5 at β = 0.005, the code's tolerance).
"""
from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor

from ..attacks.base import require_count, require_positive
from ..registry import register
from .direction_search import DirectionSearchAttack, Estimate, finite_differences, require_norm, weighted_sum
from .oracle import HardLabelOracle


@register("blackbox", "opt")
class OPTAttack(DirectionSearchAttack):
    """OPT-attack (Algorithm 3) in the L2 form (2.13)/(2.14) or the smooth L∞ form.

    Args:
        q: random directions averaged per gradient estimate. Default 20 (§2.4.2).
        beta: smoothing β. Default 0.005 (§2.4.2).
        norm: ``"l2"`` or ``"linf"``. Default ``"l2"``.
        epsilon: the L∞ radius ε of the smooth L∞ objective (only with ``norm="linf"``).
        Others: see :class:`~advrobust.blackbox.direction_search.DirectionSearchAttack`.

    Examples::

        >>> atk = OPTAttack(model, budget=8000)
        >>> result = atk.run(x, y)
        >>> atk = OPTAttack(model, budget=8000, norm="linf", epsilon=0.3)
    """

    name: ClassVar[str] = "opt"

    def __init__(
        self,
        model: Any,
        *,
        budget: int,
        q: int = 20,
        beta: float = 0.005,
        norm: str = "l2",
        epsilon: float | None = None,
        **settings: Any,
    ) -> None:
        super().__init__(model, budget=budget, beta=beta, **settings)
        require_count(q, "q")
        require_norm(norm, ("l2", "linf"))
        if norm == "linf":
            require_positive(epsilon if epsilon is not None else 0.0, "epsilon (needed with norm='linf')")
        self.q = q
        self.norm = norm
        self.epsilon = epsilon

    def objective(self, direction: Tensor, lam: Tensor) -> Tensor:
        """g = λ (L2), or Σ_i max{λ|θ_i|/‖θ‖∞ - ε, 0}² for unit-L∞ ``direction`` (smooth L∞)."""
        if self.norm == "l2":
            return lam
        epsilon = self.epsilon if self.epsilon is not None else 0.0  # set whenever norm == "linf"
        excess = (lam.view(-1, *[1] * (direction.dim() - 1)) * direction.abs() - epsilon).clamp_min(0)
        value = excess.flatten(1).pow(2).sum(dim=1)
        return torch.where(lam < float("inf"), value, float("inf"))

    def _estimate(
        self, oracle: HardLabelOracle, index: Tensor, theta: Tensor, lam: Tensor, value: Tensor,
        beta: Tensor, generator: torch.Generator,
    ) -> Estimate:
        u, differences, complete, probes, probe_lam = finite_differences(
            self, oracle, index, theta, lam, value, beta, self.q, generator
        )
        probe_values = differences * beta[:, None] + value[:, None]
        best = probe_values.argmin(dim=1)
        rows = torch.arange(index.numel(), device=index.device)
        return Estimate(
            step=weighted_sum(differences, u) / self.q,
            complete=complete,
            probe_theta=probes[rows, best],
            probe_lam=probe_lam[rows, best],
            probe_value=torch.where(probe_lam[rows, best] < float("inf"), probe_values[rows, best], float("inf")),
        )
