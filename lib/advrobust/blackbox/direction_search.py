"""The direction-search family: minimise g(θ) (thesis Eq. (2.15)) by zeroth-order descent.

OPT-attack (Algorithm 3), Sign-OPT (Algorithm 4), SVM-OPT (Algorithm 5) and ZO-SignSGD adapted
to the hard-label objective (§2.5.0.3) share everything but the gradient estimate:

1. start from the best of t candidate directions (:func:`~.search.initial_direction`);
2. repeat: estimate a descent direction of g at θ (the subclass's :meth:`_estimate`), take a
   backtracking line-search step (:func:`~.search.line_search`), and when the step size α has
   collapsed (< 1e-4) reset it to 1 and shrink the smoothing β tenfold, stopping at β < 1e-8
   (the official code's schedule, which the thesis defers to);
3. until the example's query budget is spent.

All examples of the batch run in lock-step; the oracle keeps the best adversarial point it saw,
x0 + g(θ)·θ/‖θ‖ at the upper end of a final bracket, and the base class returns the point 1e-4
(relative) farther along the same ray, verified by the last query of the budget (:mod:`.base`).
"""
from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from ..attacks.base import require_count, require_positive
from ..errors import require
from .base import BlackBoxAttack
from .oracle import HardLabelOracle
from .search import initial_direction, line_search, local_search, unit

_CHUNK_ELEMENTS = 2**26  # random directions held at once (rows × Q × input size)


@dataclass(frozen=True)
class Estimate:
    """A gradient estimate of g for R rows, and optionally the best probe the estimate met."""

    step: Tensor  # (R, ...) the descent direction estimate (θ ← θ - α·step)
    complete: Tensor  # (R,) bool: every query of the estimate was answered
    probe_theta: Tensor | None = None  # (R, ...) best probed direction (OPT's RGF probes)
    probe_lam: Tensor | None = None  # (R,) its boundary distance
    probe_value: Tensor | None = None  # (R,) its objective


class DirectionSearchAttack(BlackBoxAttack[HardLabelOracle]):
    """Base of OPT-attack, Sign-OPT, SVM-OPT and ZO-SignSGD (hard-label, Eq. (2.15)).

    Args:
        model, budget, bounds, seed, max_batch: see :class:`~advrobust.blackbox.base.BlackBoxAttack`.
        alpha: initial line-search step size. Default 0.2.
        beta: smoothing β of the direction perturbations θ + βu. Default 0.001.
        initial_directions: t, candidate directions tried at the start (§2.4.2: t = 100). With
            ``starts`` (targeted, §2.5.0.2) the candidates are the directions toward the starts.
        max_iterations: cap on the gradient steps (the budget usually ends the run first).
        tol_ratio: the bisections stop at tolerance β·tol_ratio (official code: β/500).
    """

    def __init__(
        self,
        model: Any,
        *,
        budget: int,
        alpha: float = 0.2,
        beta: float = 0.001,
        initial_directions: int = 100,
        max_iterations: int = 10_000,
        tol_ratio: float = 1 / 500,
        **base: Any,
    ) -> None:
        super().__init__(model, budget=budget, **base)
        require_positive(alpha, "alpha")
        require_positive(beta, "beta")
        require_count(initial_directions, "initial_directions")
        require_count(max_iterations, "max_iterations")
        require_positive(tol_ratio, "tol_ratio")
        self.alpha = alpha
        self.beta = beta
        self.initial_directions = initial_directions
        self.max_iterations = max_iterations
        self.tol_ratio = tol_ratio

    def objective(self, direction: Tensor, lam: Tensor) -> Tensor:
        """The value minimised for unit ``direction`` at boundary distance ``lam``: g itself (L2)."""
        return lam

    @abstractmethod
    def _estimate(
        self, oracle: HardLabelOracle, index: Tensor, theta: Tensor, lam: Tensor, value: Tensor,
        beta: Tensor, generator: torch.Generator,
    ) -> Estimate:
        """A descent direction of g at unit directions ``theta`` (R, ...) of examples ``index``."""

    def _attack(
        self, oracle: HardLabelOracle, active: Tensor, starts: Tensor | None, generator: torch.Generator
    ) -> None:
        index = active.nonzero().squeeze(1)
        x0 = oracle.x0[index]
        if starts is None:
            count = self.initial_directions

            def candidates(i: int) -> Tensor:
                return torch.randn(x0.shape, generator=generator, device=x0.device, dtype=x0.dtype)
        else:
            chosen = starts[index.to(starts.device)].to(x0.device)
            count = min(self.initial_directions, chosen.shape[1])

            def candidates(i: int) -> Tensor:
                return chosen[:, i] - x0

        theta, lam = initial_direction(oracle, index, candidates, count, self.norm)
        value = self.objective(theta, lam)
        alpha = torch.full_like(lam, self.alpha)
        beta = torch.full_like(lam, self.beta)
        live = lam < float("inf")
        for _ in range(self.max_iterations):
            live &= ~oracle.exhausted()[index]
            rows = live.nonzero().squeeze(1)
            if rows.numel() == 0:
                break
            estimate = self._estimate(oracle, index[rows], theta[rows], lam[rows], value[rows], beta[rows], generator)
            live[rows] = estimate.complete
            rows = rows[estimate.complete]
            keep = estimate.complete
            new_theta, new_lam, new_value, new_alpha = line_search(
                oracle, index[rows], theta[rows], lam[rows], value[rows], estimate.step[keep],
                alpha[rows], beta[rows] * self.tol_ratio, self.objective, self.norm,
            )
            probe_theta, probe_lam, probe_value = estimate.probe_theta, estimate.probe_lam, estimate.probe_value
            if probe_theta is not None and probe_lam is not None and probe_value is not None:
                probe_wins = probe_value[keep] < new_value
                new_theta = torch.where(_column(probe_wins, new_theta), probe_theta[keep], new_theta)
                new_lam = torch.where(probe_wins, probe_lam[keep], new_lam)
                new_value = torch.where(probe_wins, probe_value[keep], new_value)
            theta[rows], lam[rows], value[rows] = new_theta, new_lam, new_value
            collapsed = new_alpha < 1e-4
            alpha[rows] = torch.where(collapsed, torch.ones_like(new_alpha), new_alpha)
            beta[rows] = torch.where(collapsed, beta[rows] / 10, beta[rows])
            live &= beta >= 1e-8


def _column(values: Tensor, like: Tensor) -> Tensor:
    return values.view(-1, *[1] * (like.dim() - 1))


def random_unit_directions(
    rows: int, count: int, shape: torch.Size, generator: torch.Generator, like: Tensor
) -> Tensor:
    """(rows, count, *shape) Gaussian directions, each scaled to unit L2 norm."""
    u = torch.randn((rows, count, *shape), generator=generator, device=like.device, dtype=like.dtype)
    return u / u.flatten(2).norm(dim=2).view(rows, count, *[1] * len(shape))


def perturbed_directions(theta: Tensor, u: Tensor, beta: Tensor, norm: str) -> Tensor:
    """(R, Q, ...) unit(θ + β u_q): the directions whose g values an estimate compares."""
    shifted = theta[:, None] + beta.view(-1, 1, *[1] * (theta.dim() - 1)) * u
    return unit(shifted.flatten(0, 1), norm).view_as(u)


def single_query_signs(
    oracle: HardLabelOracle, index: Tensor, theta: Tensor, lam: Tensor, beta: Tensor, count: int,
    generator: torch.Generator, norm: str = "l2",
) -> tuple[Tensor, Tensor, Tensor]:
    """The single-query oracle (2.17) for ``count`` random directions per row.

    sign(g(θ + βu) - g(θ)) is +1 when x0 + g(θ)·unit(θ + βu) is still benign, else -1: one query
    per direction instead of a search. Returns (u (R, Q, ...), signs (R, Q), complete (R,)).
    """
    size = theta[0].numel()
    per_chunk = max(1, _CHUNK_ELEMENTS // (count * size))
    us, signs, complete = [], [], []
    for start in range(0, index.numel(), per_chunk):
        part = slice(start, start + per_chunk)
        u = random_unit_directions(index[part].numel(), count, theta.shape[1:], generator, theta)
        directions = perturbed_directions(theta[part], u, beta[part], norm)
        points = oracle.x0[index[part]][:, None] + lam[part].view(-1, 1, *[1] * (theta.dim() - 1)) * directions
        adv, answered = oracle.is_adversarial(points.flatten(0, 1), index[part].repeat_interleave(count))
        us.append(u)
        signs.append(torch.where(adv, -1.0, 1.0).view(-1, count).to(theta.dtype))
        complete.append(answered.view(-1, count).all(dim=1))
    return torch.cat(us), torch.cat(signs), torch.cat(complete)


def finite_differences(
    attack: DirectionSearchAttack, oracle: HardLabelOracle, index: Tensor, theta: Tensor, lam: Tensor,
    value: Tensor, beta: Tensor, count: int, generator: torch.Generator,
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """The randomized gradient-free differences of Eq. (2.16) for ``count`` directions per row.

    Each g(θ + βu_q) is computed with Algorithm 2 started at g(θ). Rows whose budget ran out are
    incomplete. Returns
    (u (R, Q, ...), (g(θ+βu) - g(θ))/β (R, Q), complete (R,), probed directions (R, Q, ...),
    their boundary distances (R, Q)).
    """
    u = random_unit_directions(index.numel(), count, theta.shape[1:], generator, theta)
    directions = perturbed_directions(theta, u, beta, attack.norm)
    flat = directions.flatten(0, 1)
    lam_u = local_search(
        oracle, index.repeat_interleave(count), flat, lam.repeat_interleave(count),
        (beta * attack.tol_ratio).repeat_interleave(count), attack.norm,
    )
    value_u = attack.objective(flat, lam_u).view(-1, count)
    # A probe with no boundary inside the box (g = inf) carries no slope: it is left out.
    differences = torch.nan_to_num((value_u - value[:, None]) / beta[:, None], posinf=0.0)
    complete = ~oracle.exhausted()[index]  # a spent budget may have cut a search short
    return u, differences, complete, directions, lam_u.view(-1, count)


def weighted_sum(weights: Tensor, u: Tensor) -> Tensor:
    """(R, ...) Σ_q w_q u_q for weights (R, Q) and directions (R, Q, ...)."""
    return (weights.view(*weights.shape, *[1] * (u.dim() - 2)) * u).sum(dim=1)


def require_norm(norm: str, allowed: tuple[str, ...]) -> None:
    """ConfigError unless ``norm`` is one of ``allowed``."""
    require(norm in allowed, f"norm must be one of {allowed}, got {norm!r}")
