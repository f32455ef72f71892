"""Evaluating the hard-label objective g(θ) with queries (thesis §2.4.2, Eqs. (2.13)-(2.14), Algorithm 2).

g(θ) is the distance from x0 to the nearest adversarial point along the direction θ. With only
top-1 labels it is found by search along the ray x0 + λ θ/||θ||:

* :func:`initial_direction`: the best of t candidate directions (random Gaussian ones, or for a
  targeted attack the directions toward images of the target class, §2.5.0.2), each measured by a
  coarse check and a bisection that is skipped when the candidate cannot beat the best so far;
* :func:`local_search`: Algorithm 2 — bracket the boundary near a known value v by steps of
  (1 ± 1%), then bisect to a tolerance;
* :func:`line_search`: the backtracking line search of §2.4.2 ("Implementation details") that all
  the direction-search attacks (OPT, Sign-OPT, SVM-OPT, ZO-SignSGD) use for the step size.

Everything runs in lock-step over many *search rows* (``index`` names the example of each row):
each round sends one query for every row still searching, in one oracle call, so the rounds of a
batch cost about as many forward passes as the slowest row needs. Rows whose queries come back
unanswered (budget spent) stop, and their value is ``inf``.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from .oracle import HardLabelOracle

Objective = Callable[[Tensor, Tensor], Tensor]  # (unit directions (R, ...), λ (R,)) -> (R,)


def norm_of(theta: Tensor, norm: str) -> Tensor:
    """(R,) ``||θ||`` per row, L2 or L∞."""
    flat = theta.flatten(1)
    return flat.norm(dim=1) if norm == "l2" else flat.abs().amax(dim=1)


def unit(theta: Tensor, norm: str) -> Tensor:
    """θ/||θ|| per row, in ``norm``."""
    return theta / norm_of(theta, norm).clamp_min(1e-12).view(-1, *[1] * (theta.dim() - 1))


def _column(values: Tensor, like: Tensor) -> Tensor:
    return values.view(-1, *[1] * (like.dim() - 1))


def ray_is_adversarial(
    oracle: HardLabelOracle, index: Tensor, direction: Tensor, lam: Tensor
) -> tuple[Tensor, Tensor]:
    """One query per row at x0 + λ·direction: (adversarial (R,), answered (R,))."""
    points = oracle.x0[index] + _column(lam, direction) * direction
    return oracle.is_adversarial(points, index)


def max_distance(oracle: HardLabelOracle, norm: str) -> float:
    """The diameter of the input box in ``norm``: no ray needs to go further."""
    width = (oracle.upper - oracle.lower).expand_as(oracle.x0[0]).flatten()
    return float(width.norm() if norm == "l2" else width.amax())


def bisect(
    oracle: HardLabelOracle, index: Tensor, direction: Tensor, lo: Tensor, hi: Tensor, tol: Tensor | float
) -> tuple[Tensor, Tensor]:
    """Shrink brackets [lo, hi] (lo benign, hi adversarial) until hi - lo <= tol.

    Returns (hi (R,), answered-throughout (R,)).
    """
    lo, hi = lo.clone(), hi.clone()
    tol = torch.as_tensor(tol, dtype=hi.dtype, device=hi.device).expand_as(hi)
    alive = torch.ones_like(hi, dtype=torch.bool)
    while True:
        rows = (alive & (hi - lo > tol)).nonzero().squeeze(1)
        if rows.numel() == 0:
            return hi, alive
        mid = (lo[rows] + hi[rows]) / 2
        adv, answered = ray_is_adversarial(oracle, index[rows], direction[rows], mid)
        alive[rows] = answered
        hi[rows] = torch.where(adv, mid, hi[rows])
        lo[rows] = torch.where(~adv & answered, mid, lo[rows])


def local_search(
    oracle: HardLabelOracle,
    index: Tensor,
    direction: Tensor,
    start: Tensor,
    tol: Tensor | float,
    norm: str = "l2",
    ratio: float = 0.01,
) -> Tensor:
    """Algorithm 2: g along unit ``direction`` (R, ...) near ``start`` (R,); ``inf`` on failure.

    The bracket grows by (1 + ratio) while the point stays benign (failing beyond the box's
    diameter) or shrinks by (1 - ratio) while it stays adversarial; then bisection to ``tol``.
    Returns the upper end of the final bracket, a verified adversarial distance.
    """
    limit = max_distance(oracle, norm)
    lam = start.clone()
    adv, alive = ray_is_adversarial(oracle, index, direction, lam)
    lo = torch.where(adv, lam * (1 - ratio), lam)
    hi = torch.where(adv, lam, lam * (1 + ratio))
    growing, shrinking = alive & ~adv, alive & adv
    failed = torch.zeros_like(alive)
    while True:
        rows = (growing | shrinking).nonzero().squeeze(1)
        if rows.numel() == 0:
            break
        grow = growing[rows]
        probe = torch.where(grow, hi[rows], lo[rows])
        adv, answered = ray_is_adversarial(oracle, index[rows], direction[rows], probe)
        alive[rows] &= answered
        keep_growing = grow & ~adv & answered
        keep_shrinking = ~grow & adv
        old_lo, old_hi = lo[rows], hi[rows]
        # Growing: the benign probe becomes the lower end. Shrinking: the adversarial probe the upper.
        lo[rows] = torch.where(keep_growing, old_hi, torch.where(keep_shrinking, old_lo * (1 - ratio), old_lo))
        hi[rows] = torch.where(keep_growing, old_hi * (1 + ratio), torch.where(keep_shrinking, old_lo, old_hi))
        too_far = keep_growing & (hi[rows] > limit)
        failed[rows] |= too_far
        growing[rows] = keep_growing & ~too_far
        shrinking[rows] = keep_shrinking
    ok = alive & ~failed
    g, answered = bisect(oracle, index[ok], direction[ok], lo[ok], hi[ok], _per_row(tol, ok))
    result = torch.full_like(lam, float("inf"))
    result[ok] = torch.where(answered, g, float("inf"))
    return result


def _per_row(tol: Tensor | float, rows: Tensor) -> Tensor | float:
    return tol[rows] if isinstance(tol, Tensor) and tol.dim() else tol


def initial_direction(
    oracle: HardLabelOracle,
    index: Tensor,
    candidates: Callable[[int], Tensor],
    count: int,
    norm: str = "l2",
    tol: float = 1e-3,
) -> tuple[Tensor, Tensor]:
    """The best of ``count`` candidate directions per row (§2.4.2 "Implementation details", t).

    ``candidates(i)`` gives the i-th candidate perturbation θ (R, ...) of every row. The point
    x0 + θ is queried first; an adversarial candidate is kept only if it beats the best distance
    so far, which one query at that distance decides, and then bisected on [0, best] to ``tol``.
    Returns (unit directions (R, ...), g (R,); ``inf`` where no candidate was adversarial).
    """
    best_g = torch.full((index.numel(),), float("inf"), device=oracle.x0.device)
    best_theta = torch.zeros_like(oracle.x0[index])
    for i in range(count):
        theta = candidates(i)
        length = norm_of(theta, norm)
        direction = unit(theta, norm)
        adv, _ = ray_is_adversarial(oracle, index, direction, length)
        # A candidate farther than the best so far must be adversarial at the best distance.
        far = (adv & (length > best_g)).nonzero().squeeze(1)
        if far.numel():
            closer, _ = ray_is_adversarial(oracle, index[far], direction[far], best_g[far])
            adv[far] = closer
        rows = adv.nonzero().squeeze(1)
        if rows.numel() == 0:
            continue
        hi = torch.minimum(length[rows], best_g[rows])
        g, answered = bisect(oracle, index[rows], direction[rows], torch.zeros_like(hi), hi, tol)
        better = answered & (g < best_g[rows])
        best_g[rows] = torch.where(better, g, best_g[rows])
        best_theta[rows] = torch.where(_column(better, direction[rows]), direction[rows], best_theta[rows])
    return best_theta, best_g


def line_search(
    oracle: HardLabelOracle,
    index: Tensor,
    theta: Tensor,
    lam: Tensor,
    value: Tensor,
    step: Tensor,
    alpha: Tensor,
    tol: Tensor,
    objective: Objective,
    norm: str = "l2",
    max_tries: int = 15,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Backtracking line search for θ ← θ - α·step (§2.4.2; Sign-OPT §2.5 "Implementation details").

    Per row: try α and keep doubling it while the objective improves (at most ``max_tries``);
    if even the first try did not improve, quarter α until it does (at most ``max_tries``).
    ``lam`` is the boundary distance g along θ (the search starts there) and ``value`` the
    objective (λ itself for L2). Returns (θ, λ, objective, α) after the step; rows that found no
    improvement keep their θ. Every candidate direction is evaluated by :func:`local_search`.
    """
    theta, lam, value, alpha = theta.clone(), lam.clone(), value.clone(), alpha.clone()
    start_theta, start_lam, start_value = theta.clone(), lam.clone(), value.clone()

    def evaluate(rows: Tensor, from_lam: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        candidate = unit(start_theta[rows] - _column(alpha[rows], step) * step[rows], norm)
        g = local_search(oracle, index[rows], candidate, from_lam, tol[rows], norm)
        return candidate, g, objective(candidate, g)

    def accept(rows: Tensor, better: Tensor, candidate: Tensor, g: Tensor, v: Tensor) -> None:
        theta[rows] = torch.where(_column(better, candidate), candidate, theta[rows])
        lam[rows] = torch.where(better, g, lam[rows])
        value[rows] = torch.where(better, v, value[rows])

    growing = torch.ones_like(lam, dtype=torch.bool)
    for _ in range(max_tries):
        rows = growing.nonzero().squeeze(1)
        if rows.numel() == 0:
            break
        candidate, g, v = evaluate(rows, lam[rows])
        alpha[rows] *= 2
        better = v < value[rows]
        accept(rows, better, candidate, g, v)
        growing[rows] = better
    shrinking = ~(value < start_value)
    for _ in range(max_tries):
        rows = (shrinking & (start_lam < float("inf"))).nonzero().squeeze(1)
        if rows.numel() == 0:
            break
        alpha[rows] *= 0.25
        candidate, g, v = evaluate(rows, start_lam[rows])
        better = v < start_value[rows]
        accept(rows, better, candidate, g, v)
        shrinking[rows] = ~better & ~oracle.exhausted()[index[rows]]
    return theta, lam, value, alpha
