"""The Boundary attack (Brendel et al. 2018), a hard-label baseline of thesis §2.4.1 and §2.5.

"Boundary attack (black box): the method proposed in (BRB17) ... compared only in L2 setting."
It is a random walk along the decision boundary that starts at an adversarial point far from x0
and keeps it adversarial while shrinking the distance to x0. Each step draws two proposals from
the current point x (distance r = ||x0 - x||):

1. a spherical (orthogonal) step: a Gaussian direction orthogonal to x0 - x, of length
   ``spherical_step``·r, projected back onto the sphere of radius r around x0;
2. from there, a step of length ``source_step``·r toward x0.

The second proposal (the candidate) replaces x when it is adversarial and closer to x0. The step
sizes adapt as in foolbox 3.3.4's ``BoundaryAttack``, whose semantics this follows: every
``stats_every`` steps the spherical proposal is queried as well, and the success rates of the
last 100 spherical proposals (both steps × or ÷ 1.5 above 0.5 / below 0.2) and of the last 30
candidates on those steps (source step × or ÷ 1.5 above 0.25 / below 0.1) drive the adaptation;
an example stops when its source step falls below ``convergence`` or its budget is spent. Unlike
foolbox, every example draws its own Gaussian direction, and all queries go to the oracle.

The start (:func:`starting_points`) is an adversarial uniform-noise image (a few tries), or for a
given set of candidate starts (targeted attacks, §2.5.0.2) the adversarial candidate closest to
x0; either is then blended toward x0 by bisection, every query charged to the oracle.

This module also holds what :mod:`.guessing_smart` shares with it: the start, the proposal
geometry (:func:`proposals`) and the orthogonal projection (:func:`orthogonal_unit`).
"""
from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor

from ..attacks.base import require_count, require_positive, rows
from ..errors import require
from ..registry import register
from .base import BlackBoxAttack
from .oracle import HardLabelOracle, distance
from .search import bisect


def flat_norm(x: Tensor) -> Tensor:
    """(R,) L2 norm of each row of ``x`` (R, ...)."""
    return x.flatten(1).norm(dim=1)


def orthogonal_unit(noise: Tensor, toward_source: Tensor) -> Tensor:
    """``noise`` (R, ...) with its component along ``toward_source`` removed, scaled to unit L2."""
    source = toward_source.flatten(1)
    source = source / source.norm(dim=1, keepdim=True).clamp_min(1e-12)
    flat = noise.flatten(1)
    flat = flat - (flat * source).sum(dim=1, keepdim=True) * source
    return (flat / flat.norm(dim=1, keepdim=True).clamp_min(1e-12)).view_as(noise)


def proposals(
    oracle: HardLabelOracle, x0: Tensor, x: Tensor, direction: Tensor, spherical_step: Tensor, source_step: Tensor
) -> tuple[Tensor, Tensor]:
    """The spherical proposal and the candidate of one boundary step (Brendel et al. 2018, §3).

    From the current points ``x`` (R, ...) at distance r from ``x0``, move ``spherical_step``·r
    along the unit ``direction`` (orthogonal to x0 - x), rescale onto the sphere of radius r around
    x0, clip to the box; the candidate then lies ``(1 - source_step)``·r from x0 on the line from
    x0 through the spherical proposal, clipped again. Returns (spherical (R, ...), candidate (R, ...)).
    """
    toward_source = x0 - x
    r = flat_norm(toward_source)
    eta = rows(spherical_step * r, x) * direction
    spherical = oracle.clip(x0 + (eta - toward_source) / rows(torch.sqrt(spherical_step**2 + 1), x))
    back = x0 - spherical
    back_norm = flat_norm(back).clamp_min(1e-12)
    # Step (source_step·r) toward x0, corrected for the spherical proposal's distance after clipping.
    length = (source_step * r + back_norm - r).clamp_min(0)
    candidate = oracle.clip(spherical + rows(length / back_norm, x) * back)
    return spherical, candidate


def starting_points(
    oracle: HardLabelOracle,
    index: Tensor,
    starts: Tensor | None,
    generator: torch.Generator,
    noise_tries: int,
    tolerance: float,
) -> tuple[Tensor, Tensor]:
    """Verified adversarial starting points of the examples ``index`` (R,), blended toward x0.

    Without ``starts``: uniform noise in the box, redrawn (one query per try) until adversarial,
    at most ``noise_tries`` times. With ``starts`` (N, M, ...): all M candidates of each example
    are queried in one call and the adversarial one closest to x0 is kept. Then a bisection on
    the blend (1 - ε)·x0 + ε·start finds the smallest adversarial ε to ``tolerance``.
    Returns (points (R, ...), found (R,) bool); rows without an adversarial start are not found.
    """
    x0 = oracle.x0[index]
    if starts is None:
        start, found = _noise_starts(oracle, index, generator, noise_tries)
    else:
        start, found = _closest_adversarial_start(oracle, index, starts.to(x0.device, x0.dtype))
    chosen = found.nonzero().squeeze(1)
    blend = torch.ones(index.numel(), dtype=x0.dtype, device=x0.device)
    if chosen.numel():
        ones = blend[chosen]
        blend[chosen], _ = bisect(oracle, index[chosen], start[chosen] - x0[chosen], ones * 0, ones, tolerance)
    blended = oracle.clip(x0 + rows(blend, x0) * (start - x0))  # the very point the bisection verified
    return torch.where(rows(blend < 1, x0), blended, start), found


def _noise_starts(
    oracle: HardLabelOracle, index: Tensor, generator: torch.Generator, tries: int
) -> tuple[Tensor, Tensor]:
    x0 = oracle.x0[index]
    start = x0.clone()
    found = torch.zeros(index.numel(), dtype=torch.bool, device=x0.device)
    searching = torch.ones_like(found)
    for _ in range(tries):
        open_rows = searching.nonzero().squeeze(1)
        if open_rows.numel() == 0:
            break
        shape = (open_rows.numel(), *x0.shape[1:])
        noise = torch.rand(shape, generator=generator, device=x0.device, dtype=x0.dtype)
        noise = oracle.lower + noise * (oracle.upper - oracle.lower)
        adv, answered = oracle.is_adversarial(noise, index[open_rows])
        start[open_rows[adv]] = noise[adv]
        found[open_rows] = adv
        searching[open_rows] = answered & ~adv
    return start, found


def _closest_adversarial_start(oracle: HardLabelOracle, index: Tensor, starts: Tensor) -> tuple[Tensor, Tensor]:
    x0 = oracle.x0[index]
    candidates = oracle.clip(starts[index])  # (R, M, ...)
    count = candidates.shape[1]
    adv, _ = oracle.is_adversarial(candidates.flatten(0, 1), index.repeat_interleave(count))
    dist = distance(candidates.flatten(0, 1), x0.repeat_interleave(count, dim=0), "l2").view(-1, count)
    dist = dist.masked_fill(~adv.view(-1, count), float("inf"))
    best = dist.argmin(dim=1)
    return candidates[torch.arange(index.numel(), device=x0.device), best], dist.min(dim=1).values < float("inf")


class SuccessQueue:
    """The last ``length`` successes (0/1) of each of R rows; NaN marks empty slots (cf. foolbox)."""

    def __init__(self, count: int, length: int, device: torch.device) -> None:
        self.data = torch.full((count, length), float("nan"), device=device)
        self.position = torch.zeros(count, dtype=torch.long, device=device)

    def append(self, which: Tensor, success: Tensor) -> None:
        """Record ``success`` (B,) bool for rows ``which`` (B,)."""
        self.data[which, self.position[which]] = success.to(self.data.dtype)
        self.position[which] = (self.position[which] + 1) % self.data.shape[1]

    def full(self, which: Tensor) -> Tensor:
        """(B,) whether the rows' queues hold ``length`` results."""
        return ~self.data[which].isnan().any(dim=1)

    def rate(self, which: Tensor) -> Tensor:
        """(B,) success rate over the recorded results."""
        return self.data[which].nanmean(dim=1)

    def clear(self, which: Tensor) -> None:
        """Forget the results of rows ``which``."""
        self.data[which] = float("nan")


@register("blackbox", "boundary")
class BoundaryAttack(BlackBoxAttack[HardLabelOracle]):
    """The Boundary attack (L2, hard-label), with foolbox 3.3.4's step-size adaptation.

    Queries per step: 1 (the candidate), plus 1 (the spherical proposal) every ``stats_every``
    steps, sent for all live examples in one oracle call.

    Args:
        spherical_step: initial relative length of the orthogonal step. Default 0.01.
        source_step: initial relative length of the step toward x0. Default 0.01.
        step_adaptation: factor by which the steps grow or shrink. Default 1.5.
        stats_every: the spherical proposal is queried, and the steps adapted, every this many
            steps. Default 10 (foolbox's ``update_stats_every_k``).
        convergence: an example stops when its source step falls below this. Default 1e-7.
        noise_tries: uniform-noise draws tried for an untargeted start. Default 100.
        blend_tolerance: precision of the blend bisection toward x0 (fraction of the way). Default 1e-3.
        model, budget, bounds, seed, max_batch: see :class:`~advrobust.blackbox.base.BlackBoxAttack`.

    Examples::

        >>> atk = BoundaryAttack(model, budget=14000)
        >>> result = atk.run(x, y)                       # result.best_at([4000, 8000, 14000])
        >>> result = atk.run(x, y, target, starts=imgs)  # imgs (N, M, ...) of the target class
    """

    name: ClassVar[str] = "boundary"

    def __init__(
        self,
        model: Any,
        *,
        budget: int,
        spherical_step: float = 0.01,
        source_step: float = 0.01,
        step_adaptation: float = 1.5,
        stats_every: int = 10,
        convergence: float = 1e-7,
        noise_tries: int = 100,
        blend_tolerance: float = 1e-3,
        **base: Any,
    ) -> None:
        super().__init__(model, budget=budget, **base)
        require_positive(spherical_step, "spherical_step")
        require_positive(source_step, "source_step")
        require(step_adaptation > 1, f"step_adaptation must be > 1, got {step_adaptation!r}")
        require_count(stats_every, "stats_every")
        require_positive(convergence, "convergence")
        require_count(noise_tries, "noise_tries")
        require_positive(blend_tolerance, "blend_tolerance")
        self.spherical_step = spherical_step
        self.source_step = source_step
        self.step_adaptation = step_adaptation
        self.stats_every = stats_every
        self.convergence = convergence
        self.noise_tries = noise_tries
        self.blend_tolerance = blend_tolerance

    def _attack(
        self, oracle: HardLabelOracle, active: Tensor, starts: Tensor | None, generator: torch.Generator
    ) -> None:
        index = active.nonzero().squeeze(1)
        x, found = starting_points(oracle, index, starts, generator, self.noise_tries, self.blend_tolerance)
        index, x = index[found], x[found]
        x0 = oracle.x0[index]
        spherical_step = torch.full((index.numel(),), self.spherical_step, device=x0.device, dtype=x0.dtype)
        source_step = torch.full_like(spherical_step, self.source_step)
        spherical_stats = SuccessQueue(index.numel(), 100, x0.device)
        candidate_stats = SuccessQueue(index.numel(), 30, x0.device)
        live = torch.ones(index.numel(), dtype=torch.bool, device=x0.device)
        step = 0
        while True:
            live &= ~oracle.exhausted()[index] & (source_step >= self.convergence)
            moving = live.nonzero().squeeze(1)
            if moving.numel() == 0:
                return
            step += 1
            check = step % self.stats_every == 0
            here, origin = x[moving], x0[moving]
            noise = torch.randn(here.shape, generator=generator, device=here.device, dtype=here.dtype)
            direction = orthogonal_unit(noise, origin - here)
            spherical, candidate = proposals(
                oracle, origin, here, direction, spherical_step[moving], source_step[moving]
            )
            # Candidates first: an example with one query left spends it on its candidate.
            points = torch.cat([candidate, spherical]) if check else candidate
            adv, answered = oracle.is_adversarial(points, index[moving].repeat(2 if check else 1))
            adv, answered = adv.view(-1, moving.numel()), answered.view(-1, moving.numel())
            closer = distance(candidate, origin, "l2") < distance(here, origin, "l2")
            accept = adv[0] & closer
            x[moving[accept]] = candidate[accept]
            complete = answered.all(dim=0)
            live[moving] = complete
            if check:
                self._adapt(moving[complete], adv[1][complete], adv[0][complete],
                            spherical_stats, candidate_stats, spherical_step, source_step)

    def _adapt(
        self, which: Tensor, spherical_adv: Tensor, candidate_adv: Tensor, spherical_stats: SuccessQueue,
        candidate_stats: SuccessQueue, spherical_step: Tensor, source_step: Tensor,
    ) -> None:
        """foolbox's rule: the spherical success rate scales both steps, the candidates' the source step."""
        spherical_stats.append(which, spherical_adv)
        candidate_stats.append(which, candidate_adv)
        factor = self.step_adaptation
        full = spherical_stats.full(which)
        rate = spherical_stats.rate(which)
        grow, shrink = full & (rate > 0.5), full & (rate < 0.2)
        scale = torch.where(grow, factor, torch.where(shrink, 1 / factor, 1.0)).to(source_step.dtype)
        spherical_step[which] *= scale
        source_step[which] *= scale
        spherical_stats.clear(which[grow | shrink])
        full = candidate_stats.full(which)
        rate = candidate_stats.rate(which)
        grow, shrink = full & (rate > 0.25), full & (rate < 0.1)
        source_step[which] *= torch.where(grow, factor, torch.where(shrink, 1 / factor, 1.0)).to(source_step.dtype)
        candidate_stats.clear(which[grow | shrink])
