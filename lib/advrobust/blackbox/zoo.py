"""ZOO, the zeroth-order C&W attack (thesis §2.3; Chen et al. 2017), on class probabilities.

ZOO minimises the C&W objective (2.5) with the loss computed from the probabilities the oracle
returns, estimating each partial derivative by the symmetric difference of §2.3,

    ∂F/∂x_i ≈ (F(x + h e_i) - F(x - h e_i)) / 2h,

and taking coordinate-wise ADAM steps on a random batch of coordinates per iteration.
The loss on log-probabilities, :func:`margin_from_probabilities`, is shared with NES (:mod:`.nes`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor

from ..attacks.base import require_count, require_nonnegative, require_positive
from ..registry import register
from .base import BlackBoxAttack
from .oracle import ScoreOracle

_NO_UPPER = 1e10  # upper bound on c meaning "no success yet": grow c tenfold instead of bisecting
_ADAM_EPS = 1e-8


def margin_from_probabilities(probs: Tensor, labels: Tensor, target: Tensor | None) -> Tensor:
    """(R, M) C&W margin on log-probabilities of probabilities ``probs`` (R, M, K), per example row.

    Untargeted (labels y0 (R,)): log p_y0 - max_{j≠y0} log p_j; targeted (target t (R,)):
    max_{j≠t} log p_j - log p_t. Negative exactly when the goal is reached; equal to the logit
    margin of (2.6)/(2.7). Probabilities are taken in float64 and floored at float32's smallest
    normal number, so that a probability that underflowed to 0 gives a flat, finite loss.
    """
    log_p = probs.double().clamp(min=torch.finfo(torch.float32).tiny).log()
    classes = (labels if target is None else target)[:, None, None].expand(*log_p.shape[:2], 1)
    own = log_p.gather(2, classes).squeeze(2)
    other = log_p.scatter(2, classes, float("-inf")).amax(dim=2)
    return own - other if target is None else other - own


@register("blackbox", "zoo")
class ZOO(BlackBoxAttack[ScoreOracle]):
    r"""ZOO-ADAM (Chen et al. 2017, thesis §2.3): coordinate-wise ADAM on the C&W L2 objective.

    .. math::
        F(x) = \|x - x_0\|_2^2 + c\,\max\{\log p_{y_0}(x) - \max_{j \ne y_0} \log p_j(x),\, -\kappa\}

    (targeted: :math:`\max\{\max_{j \ne t} \log p_j(x) - \log p_t(x), -\kappa\}`), ZOO's loss on
    log-probabilities. Since :math:`\log p_i = Z_i - \log\sum_j e^{Z_j}`, the difference of two
    log-probabilities is the difference of the logits: the loss equals C&W's (2.6)/(2.7), computed
    from the soft labels alone.

    Each iteration, for every example still running: draw ``coords`` distinct random coordinates
    i, evaluate F at the current point and at x ± h e_i for each of them (2·coords + 1 queries;
    ALL examples' points go to the oracle in one batched call), estimate ∂F/∂x_i by the symmetric
    difference and take one ADAM step on those coordinates only, with per-coordinate moments and
    step counts (ZOO's "coordinate ADAM"). The iterate is then clipped to the input bounds.

    For each c, at most ``steps`` iterations run from x0 with a fresh ADAM state; with
    ``abort_early`` an example's round also ends when its objective fell by less than 0.01 %
    over the last ``ceil(steps / 10)`` iterations. Between rounds c follows C&W's binary search
    per example (tenfold growth until the first success, then bisection), judged on the current
    point's margin. The result is the oracle's record: the adversarial query with the smallest
    L2 distance over all rounds (probe points included; each is a query the model answered).
    With κ = 0 that point lies on the decision boundary (measured logit gaps down to 2e-6), so,
    as for the hard-label attacks, the last query of the budget verifies the point 1e-4 (relative)
    beyond it, which is returned (:mod:`.base`).

    Paper: P.-Y. Chen, H. Zhang, Y. Sharma, J. Yi, C.-J. Hsieh, "ZOO: Zeroth Order Optimization
    Based Black-box Attacks to Deep Neural Networks without Training Substitute Models",
    AISec 2017, https://arxiv.org/abs/1708.03999. Official code: github.com/huanzhang12/ZOO-Attack.

    Distance measure: L2. Queries per iteration: 2·coords + 1 per example.

    Args:
        model, budget, bounds, seed, max_batch: see :class:`~advrobust.blackbox.base.BlackBoxAttack`.
        coords: coordinates updated per iteration (official code: 128).
        lr: ADAM step size. Default 1e-2 (official code).
        beta1, beta2: ADAM moment decays. Default 0.9, 0.999.
        h: finite-difference step. Default 1e-4 (official code's later version; its first
            version used 1e-3).
        kappa: confidence κ. Default 0.
        initial_const: first c. Default 0.5 (official code without binary search; it starts at
            0.01 with it).
        binary_search_steps: rounds of the search over c. Default 1 (official code).
        steps: iterations per round (official code on MNIST: 3000).
        abort_early: end a round early when the objective stalls. Default True.

    Choices and deviations:

    * No tanh change of variables: the attack works in the input space and clips the iterate to
      the bounds after each step (the official code's ``use_tanh=False`` branch, which it uses for
      MNIST because, as its comments say, tanh makes the gradient vanish there). Near a bound the
      tanh map flattens, so a fixed step h changes the input by far less than h and the
      finite differences lose their signal; clipping has no such effect.
    * The probes x ± h e_i are clipped to the bounds by the oracle, like every query; the
      difference is divided by the distance between the two clipped probes, not by 2h, so a
      coordinate sitting on a bound (most MNIST pixels) gets the one-sided difference instead of
      half of it.
    * No importance sampling or hierarchical resizing (the paper's tricks for ImageNet-sized
      inputs): coordinates are drawn uniformly.
    * Batched over examples: the official code attacks one image at a time.
    * The last iteration before the budget runs out uses fewer coordinates, so that every query
      of the budget (but the one held back for the final verification) is answered and used.

    Examples::

        >>> atk = ZOO(model, budget=20_000)
        >>> result = atk.run(x, y)            # result.best_at([5000, 10000, 20000])
    """

    name: ClassVar[str] = "zoo"
    oracle_class = ScoreOracle
    norm = "l2"

    def __init__(
        self,
        model: Any,
        *,
        budget: int,
        coords: int = 128,
        lr: float = 1e-2,
        beta1: float = 0.9,
        beta2: float = 0.999,
        h: float = 1e-4,
        kappa: float = 0.0,
        initial_const: float = 0.5,
        binary_search_steps: int = 1,
        steps: int = 3000,
        abort_early: bool = True,
        **base: Any,
    ) -> None:
        super().__init__(model, budget=budget, **base)
        require_count(coords, "coords")
        require_positive(lr, "lr")
        for value, what in ((beta1, "beta1"), (beta2, "beta2")):
            require_nonnegative(value, what)
            require_positive(1 - value, f"1 - {what}")
        require_positive(h, "h")
        require_nonnegative(kappa, "kappa")
        require_positive(initial_const, "initial_const")
        require_count(binary_search_steps, "binary_search_steps")
        require_count(steps, "steps")
        self.coords = coords
        self.lr = lr
        self.beta1 = beta1
        self.beta2 = beta2
        self.h = h
        self.kappa = kappa
        self.initial_const = initial_const
        self.binary_search_steps = binary_search_steps
        self.steps = steps
        self.abort_early = abort_early

    def _attack(
        self, oracle: ScoreOracle, active: Tensor, starts: Tensor | None, generator: torch.Generator
    ) -> None:
        index = active.nonzero().squeeze(1)
        shape = oracle.x0.shape[1:]
        x0 = oracle.x0[index].flatten(1)  # (R, D)
        bounds = (oracle.lower.expand(shape).flatten().to(x0.dtype), oracle.upper.expand(shape).flatten().to(x0.dtype))
        state = _RoundState(x0)
        search = _ConstSearch(x0.shape[0], self.initial_const, x0.device)
        live = torch.ones(x0.shape[0], dtype=torch.bool, device=x0.device)
        while True:
            # Each iteration needs the current point and at least one pair of probes.
            live &= oracle.remaining()[index] >= 3
            run = live.nonzero().squeeze(1)
            if run.numel() == 0:
                break
            estimate = self._estimate(oracle, index[run], state.x[run], x0[run], search.const[run], bounds, generator)
            state.adam_step(run, estimate.chosen, estimate.grad, estimate.usable, self, *bounds)
            live[run] &= estimate.complete  # a row the oracle refused freezes its example
            state.found[run] |= estimate.margin < -self.kappa
            state.iteration[run] += 1
            ended = run[self._round_over(state, run, estimate.objective)]
            if ended.numel():
                search.update(ended, state.found[ended])
                state.reset(ended, x0)
                live &= search.rounds < self.binary_search_steps

    def _estimate(
        self, oracle: ScoreOracle, index: Tensor, x: Tensor, x0: Tensor, const: Tensor,
        bounds: tuple[Tensor, Tensor], generator: torch.Generator,
    ) -> _Estimate:
        """Symmetric differences of F at rows ``x`` (r, D) along random coordinates, in one oracle call."""
        lower, upper = bounds
        coords = min(self.coords, x.shape[1])
        count = torch.clamp((oracle.remaining()[index] - 1) // 2, max=coords)  # (r,) pairs the budget pays for
        chosen = torch.rand(x.shape, generator=generator, device=x.device).topk(coords).indices  # (r, k)
        used = torch.arange(coords, device=x.device)[None] < count[:, None]
        at = x.gather(1, chosen)
        plus = (at + self.h).clamp(lower[chosen], upper[chosen])
        minus = (at - self.h).clamp(lower[chosen], upper[chosen])
        probs, answered = _ask(oracle, index, x, chosen, plus, minus, used, oracle.x0.shape[1:])
        target = None if oracle.target is None else oracle.target[index]
        margin = margin_from_probabilities(probs, oracle.labels[index], target)  # (r, 1 + 2k)
        loss = const[:, None] * margin.clamp(min=-self.kappa)
        # ||x' - x0||² of a probe differs from the current point's in one coordinate only.
        sq = (x.double() - x0.double()).pow(2).sum(dim=1)  # (r,)
        origin = x0.gather(1, chosen).double()
        rest = sq[:, None] - (at.double() - origin).pow(2)
        objective_plus = rest + (plus.double() - origin).pow(2) + loss[:, 1::2]
        objective_minus = rest + (minus.double() - origin).pow(2) + loss[:, 2::2]
        spread = (plus - minus).double()  # 2h, or less where a probe was clipped to a bound
        grad = torch.where(spread > 0, (objective_plus - objective_minus) / spread.clamp(min=1e-30), 0.0)
        complete = answered.all(dim=1)
        return _Estimate(
            chosen, grad.to(x.dtype), used & complete[:, None], complete, margin[:, 0], sq + loss[:, 0]
        )

    def _round_over(self, state: _RoundState, run: Tensor, objective: Tensor) -> Tensor:
        """(r,) bool: the round of c ends (``steps`` iterations, or a stalled objective with early abort)."""
        over = state.iteration[run] >= self.steps
        if self.abort_early:
            check = state.iteration[run] % math.ceil(self.steps / 10) == 0
            over |= check & (objective > 0.9999 * state.last_check[run])
            state.last_check[run] = torch.where(check, objective, state.last_check[run])
        return over


@dataclass(frozen=True)
class _Estimate:
    """One iteration's coordinate-wise estimate for r rows."""

    chosen: Tensor  # (r, k) coordinates probed
    grad: Tensor  # (r, k) estimated ∂F/∂x_i
    usable: Tensor  # (r, k) bool: the pair was queried and answered
    complete: Tensor  # (r,) bool: every query of the row was answered
    margin: Tensor  # (r,) the current point's margin
    objective: Tensor  # (r,) the current point's F


class _ConstSearch:
    """C&W's per-example search over c: tenfold growth until the first success, then bisection."""

    def __init__(self, rows: int, initial: float, device: torch.device) -> None:
        self.const = torch.full((rows,), initial, dtype=torch.float64, device=device)
        self.low = torch.zeros_like(self.const)
        self.high = torch.full_like(self.const, _NO_UPPER)
        self.rounds = torch.zeros(rows, dtype=torch.long, device=device)

    def update(self, rows: Tensor, found: Tensor) -> None:
        """Close the round of ``rows``; ``found`` (bool) says whether it reached the goal."""
        const = self.const[rows]
        self.high[rows] = torch.where(found, torch.minimum(self.high[rows], const), self.high[rows])
        self.low[rows] = torch.where(found, self.low[rows], torch.maximum(self.low[rows], const))
        bounded = self.high[rows] < _NO_UPPER
        self.const[rows] = torch.where(bounded, (self.low[rows] + self.high[rows]) / 2, const * 10)
        self.rounds[rows] += 1


class _RoundState:
    """Per-example iterate, coordinate-wise ADAM moments and round bookkeeping, flattened (R, D)."""

    def __init__(self, x: Tensor) -> None:
        rows = x.shape[0]
        self.x = x.clone()
        self.m = torch.zeros_like(x)
        self.v = torch.zeros_like(x)
        self.t = torch.zeros_like(x, dtype=torch.long)  # ADAM steps taken by each coordinate
        self.iteration = torch.zeros(rows, dtype=torch.long, device=x.device)
        self.found = torch.zeros(rows, dtype=torch.bool, device=x.device)
        self.last_check = torch.full((rows,), math.inf, dtype=torch.float64, device=x.device)

    def reset(self, rows: Tensor, x0: Tensor) -> None:
        """Start a new round (a new c) for ``rows``: back to x0 with a fresh ADAM state."""
        self.x[rows] = x0[rows]
        self.m[rows] = 0
        self.v[rows] = 0
        self.t[rows] = 0
        self.iteration[rows] = 0
        self.found[rows] = False
        self.last_check[rows] = math.inf

    def adam_step(
        self, run: Tensor, chosen: Tensor, grad: Tensor, ok: Tensor, attack: ZOO, lower: Tensor, upper: Tensor
    ) -> None:
        """One ADAM step on the coordinates ``chosen`` (r, k) of rows ``run`` where ``ok`` (r, k)."""
        m = self.m[run].gather(1, chosen)
        v = self.v[run].gather(1, chosen)
        t = self.t[run].gather(1, chosen)
        new_m = attack.beta1 * m + (1 - attack.beta1) * grad
        new_v = attack.beta2 * v + (1 - attack.beta2) * grad * grad
        new_t = t + 1
        correction = torch.sqrt(1 - attack.beta2 ** new_t.to(grad.dtype)) / (1 - attack.beta1 ** new_t.to(grad.dtype))
        x = self.x[run].gather(1, chosen)
        new_x = (x - attack.lr * correction * new_m / (new_v.sqrt() + _ADAM_EPS)).clamp(lower[chosen], upper[chosen])
        for buffer, old, new in ((self.m, m, new_m), (self.v, v, new_v), (self.t, t, new_t), (self.x, x, new_x)):
            rows = buffer[run]
            rows.scatter_(1, chosen, torch.where(ok, new, old))
            buffer[run] = rows


def _ask(
    oracle: ScoreOracle, index: Tensor, x: Tensor, chosen: Tensor, plus: Tensor, minus: Tensor, used: Tensor,
    shape: torch.Size,
) -> tuple[Tensor, Tensor]:
    """Query the current points and their used probes in one oracle call.

    Returns probabilities (r, 1 + 2k, K) ordered [x, x+he_1, x-he_1, x+he_2, ...] (NaN where a
    probe was not used) and answered (r, 1 + 2k) (True where not used).
    """
    rows, k = chosen.shape
    probes = x[:, None, None].repeat(1, k, 2, 1)  # (r, k, 2, D): the pair of each coordinate
    probes[:, :, 0].scatter_(2, chosen[:, :, None], plus[:, :, None])
    probes[:, :, 1].scatter_(2, chosen[:, :, None], minus[:, :, None])
    points = torch.cat([x[:, None], probes.flatten(1, 2)], dim=1)  # (r, 1+2k, D)
    asked = torch.cat([torch.ones_like(used[:, :1]), used.repeat_interleave(2, dim=1)], dim=1)  # (r, 1+2k)
    flat_probs, flat_answered = oracle(points[asked].view(-1, *shape), index[:, None].expand_as(asked)[asked])
    probs = flat_probs.new_full((rows, 1 + 2 * k, flat_probs.shape[1]), float("nan"))
    answered = torch.ones_like(asked)
    probs[asked] = flat_probs
    answered[asked] = flat_answered
    return probs, answered
