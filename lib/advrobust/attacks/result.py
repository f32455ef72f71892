"""What an attack returns: adversarial inputs, per-example success, distortion and query counts."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import Tensor


@dataclass(frozen=True)
class AttackResult:
    """Outcome of one :meth:`Attack.run <advrobust.attacks.base.Attack.run>` call on N examples.

    Distances are measured on the returned ``x_adv``, which is already clipped to the input
    bounds (and, for budgeted attacks, projected onto the eps-ball): the model saw exactly it.

    Attributes:
        x_adv: adversarial inputs, same shape as the clean inputs.
        success: (N,) bool; untargeted: prediction differs from the label; targeted: prediction
            equals the target. Judged by a forward pass on ``x_adv``.
        l2: (N,) L2 distance between ``x_adv`` and the clean input.
        linf: (N,) L∞ distance between ``x_adv`` and the clean input.
        queries: (N,) int64; model forward evaluations the attack spent on each example (a
            gradient step counts 1); the clean and final judging passes are not counted.
        original_correct: (N,) bool; the clean prediction equals the label.
    """

    x_adv: Tensor
    success: Tensor
    l2: Tensor
    linf: Tensor
    queries: Tensor
    original_correct: Tensor

    @property
    def broken(self) -> Tensor:
        """(N,) bool: successful attacks on originally correct examples, the ones statistics use."""
        return self.success & self.original_correct

    @property
    def success_rate(self) -> float:
        """Share of originally correct examples the attack broke (NaN when none was correct)."""
        n_correct = int(self.original_correct.sum())
        return int(self.broken.sum()) / n_correct if n_correct else float("nan")

    @property
    def median_l2(self) -> float:
        """Median L2 distortion over :attr:`broken` examples (NaN when there are none)."""
        return _statistic(self.l2[self.broken], lambda v: v.quantile(0.5))

    @property
    def mean_l2(self) -> float:
        """Mean L2 distortion over :attr:`broken` examples (NaN when there are none)."""
        return _statistic(self.l2[self.broken], Tensor.mean)

    def summary(self) -> dict[str, float]:
        """Headline numbers: n, clean accuracy, success rate, L2 mean and median, mean queries."""
        return {
            "n": float(self.success.numel()),
            "clean_accuracy": float(self.original_correct.float().mean()),
            "success_rate": self.success_rate,
            "mean_l2": self.mean_l2,
            "median_l2": self.median_l2,
            "mean_queries": float(self.queries.double().mean()),
        }


def _statistic(values: Tensor, reduce: Callable[[Tensor], Tensor]) -> float:
    if values.numel() == 0:
        return float("nan")
    return float(reduce(values.double()))
