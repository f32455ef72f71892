"""Guessing Smart (Brunner et al. 2019), the biased Boundary attack, a baseline of thesis §2.5.

"This attack enhances boundary attack by biasing sampling towards three priors. Note that one of
the priors assumes access to a similar model as the target model and for a fair comparison we do
not incorporate this bias in our experiments." We use the other two, as the reference code
(github.com/ttbrunner/biased_boundary_attack) does when its surrogate bias is off:

* low-frequency prior: the orthogonal step is drawn from Perlin noise (:mod:`.perlin`) instead of
  white Gaussian noise;
* regional mask prior: after projecting it orthogonal to x0 - x, the step is multiplied by the mask
  sqrt(|x - x0| / max|x - x0|) and renormalised, so it concentrates where the current
  perturbation is already large.

The boundary-step geometry and the start are those of the Boundary attack (shared with
:mod:`.boundary`). The step sizes follow the reference's schedule rather than foolbox's
adaptation: candidates are tried in "batches" of at most ``batch_length`` at the current point,
the i-th candidate of a batch with both steps scaled by (1 - i/n) + 0.3 (n the batch length);
the first adversarial candidate closer to x0 is taken and starts a new batch, and a batch without
success starts over at full scale. Defaults are those of the reference benchmark script:
spherical step 0.05, source step 0.002, batches of 50; the Perlin frequency is its setting for
small (64 px) images, 5. The reference queries one candidate at a time; here each step queries
``candidates`` consecutive candidates of every live example (default 1, the reference's order
and query count) in one oracle call, and an example stops only when its budget is spent.
"""
from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor

from ..attacks.base import require_count, require_positive, rows
from ..errors import require
from ..registry import register
from .base import BlackBoxAttack
from .boundary import flat_norm, orthogonal_unit, proposals, starting_points
from .oracle import HardLabelOracle, distance
from .perlin import perlin_noise


def regional_mask(x: Tensor, x0: Tensor) -> Tensor:
    """(R, ...) sqrt(|x - x0| / max|x - x0|) per example: the regional mask prior."""
    diff = (x - x0).abs()
    peak = diff.flatten(1).amax(dim=1).clamp_min(1e-12)
    return (diff / rows(peak, diff)).sqrt()


@register("blackbox", "guessing_smart")
class GuessingSmart(BlackBoxAttack[HardLabelOracle]):
    """Guessing Smart without the surrogate-gradient prior (thesis §2.5), L2, hard-label, images.

    Args:
        spherical_step: relative length of the orthogonal step at full scale. Default 0.05.
        source_step: relative length of the step toward x0 at full scale. Default 0.002.
        batch_length: candidates per batch before the scale schedule restarts. Default 50.
        frequency: Perlin lattice cells per image side. Default 5.
        candidates: consecutive candidates of each example queried per step (one oracle call for
            all examples). Default 1.
        noise_tries, blend_tolerance: the start, see :class:`~advrobust.blackbox.boundary.BoundaryAttack`.
        model, budget, bounds, seed, max_batch: see :class:`~advrobust.blackbox.base.BlackBoxAttack`.

    Inputs must be images (N, C, H, W).

    Examples::

        >>> atk = GuessingSmart(model, budget=14000)
        >>> result = atk.run(x, y)                 # result.best_at([4000, 8000, 14000])
    """

    name: ClassVar[str] = "guessing_smart"

    def __init__(
        self,
        model: Any,
        *,
        budget: int,
        spherical_step: float = 0.05,
        source_step: float = 0.002,
        batch_length: int = 50,
        frequency: int = 5,
        candidates: int = 1,
        noise_tries: int = 100,
        blend_tolerance: float = 1e-3,
        **base: Any,
    ) -> None:
        super().__init__(model, budget=budget, **base)
        require_positive(spherical_step, "spherical_step")
        require_positive(source_step, "source_step")
        require_count(batch_length, "batch_length")
        require_count(frequency, "frequency")
        require_count(candidates, "candidates")
        require_count(noise_tries, "noise_tries")
        require_positive(blend_tolerance, "blend_tolerance")
        self.spherical_step = spherical_step
        self.source_step = source_step
        self.batch_length = batch_length
        self.frequency = frequency
        self.candidates = candidates
        self.noise_tries = noise_tries
        self.blend_tolerance = blend_tolerance

    def _attack(
        self, oracle: HardLabelOracle, active: Tensor, starts: Tensor | None, generator: torch.Generator
    ) -> None:
        require(oracle.x0.dim() == 4, f"GuessingSmart needs (N, C, H, W) images, got {tuple(oracle.x0.shape)}")
        index = active.nonzero().squeeze(1)
        x, found = starting_points(oracle, index, starts, generator, self.noise_tries, self.blend_tolerance)
        index, x = index[found], x[found]
        x0 = oracle.x0[index]
        q = self.candidates
        position = torch.zeros(index.numel(), dtype=torch.long, device=x0.device)  # i within the batch
        length = self._batch_length(oracle, index)  # n of the current batch
        live = torch.ones(index.numel(), dtype=torch.bool, device=x0.device)
        while True:
            live &= ~oracle.exhausted()[index]
            moving = live.nonzero().squeeze(1)
            if moving.numel() == 0:
                return
            count = moving.numel()
            slot = position[moving, None] + torch.arange(q, device=x0.device)  # (R', q)
            valid = slot < length[moving, None]
            scale = (1 - slot / length[moving, None]) + 0.3
            here, origin = x[moving].repeat_interleave(q, dim=0), x0[moving].repeat_interleave(q, dim=0)
            candidate = self._candidates(oracle, origin, here, scale.flatten(), generator)
            picked = valid.flatten()
            adv = torch.zeros(count * q, dtype=torch.bool, device=x0.device)
            answered = torch.ones_like(adv)
            adv[picked], answered[picked] = oracle.is_adversarial(
                candidate[picked], index[moving].repeat_interleave(q)[picked]
            )
            closer = distance(candidate, origin, "l2") < distance(here, origin, "l2")
            success = (adv & closer).view(count, q)
            # The first successful candidate in the batch's order is taken and starts a new batch.
            first = success.long().argmax(dim=1)
            taken = success.any(dim=1)
            x[moving[taken]] = candidate.view(count, q, *x0.shape[1:])[taken, first[taken]]
            position[moving] = torch.where(taken, 0, position[moving] + q)
            restart = moving[position[moving] >= length[moving]]
            position[restart] = 0
            renew = torch.cat([moving[taken], restart])
            length[renew] = self._batch_length(oracle, index[renew])
            live[moving] = answered.view(count, q).all(dim=1)

    def _batch_length(self, oracle: HardLabelOracle, index: Tensor) -> Tensor:
        """n = min(batch_length, queries left), at least 1."""
        return oracle.remaining()[index].clamp(1, self.batch_length)

    def _candidates(
        self, oracle: HardLabelOracle, x0: Tensor, x: Tensor, scale: Tensor, generator: torch.Generator
    ) -> Tensor:
        """(R, ...) candidates from ``x``: Perlin steps, orthogonal and masked, steps × ``scale``."""
        channels, height, width = x.shape[1:]
        noise = perlin_noise(x.shape[0], (channels, height, width), self.frequency, generator, x.device, x.dtype)
        direction = orthogonal_unit(noise, x0 - x) * regional_mask(x, x0)
        direction = direction / rows(flat_norm(direction).clamp_min(1e-12), direction)
        _, candidate = proposals(
            oracle, x0, x, direction, self.spherical_step * scale.to(x.dtype), self.source_step * scale.to(x.dtype)
        )
        return candidate
