"""What an attack returns: adversarial inputs, per-example success, distortion and query counts.

Image attacks measure L2 and L∞; an attack in another domain adds its own distances by name in
``distances`` (a text attack: words changed, or the BLEU of its output), and every statistic and
summary takes the distance's name.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from torch import Tensor

from ..errors import ConfigError


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
        distances: further (N,) distances by name beyond L2 and L∞ (keyword only).
    """

    x_adv: Tensor
    success: Tensor
    l2: Tensor
    linf: Tensor
    queries: Tensor
    original_correct: Tensor
    distances: Mapping[str, Tensor] = field(default_factory=dict, kw_only=True)

    @property
    def broken(self) -> Tensor:
        """(N,) bool: successful attacks on originally correct examples, the ones statistics use."""
        return self.success & self.original_correct

    @property
    def success_rate(self) -> float:
        """Share of originally correct examples the attack broke (NaN when none was correct)."""
        n_correct = int(self.original_correct.sum())
        return int(self.broken.sum()) / n_correct if n_correct else float("nan")

    def distance(self, name: str = "l2") -> Tensor:
        """(N,) the distance ``name``: ``"l2"``, ``"linf"`` or one of :attr:`distances`."""
        named = {"l2": self.l2, "linf": self.linf, **self.distances}
        if name not in named:
            raise ConfigError(f"unknown distance {name!r}; this result has: {', '.join(named)}")
        return named[name]

    def median_distance(self, name: str = "l2") -> float:
        """Median of the distance ``name`` over :attr:`broken` examples (NaN when there are none)."""
        return _statistic(self.distance(name)[self.broken], lambda v: v.quantile(0.5))

    def mean_distance(self, name: str = "l2") -> float:
        """Mean of the distance ``name`` over :attr:`broken` examples (NaN when there are none)."""
        return _statistic(self.distance(name)[self.broken], Tensor.mean)

    @property
    def median_l2(self) -> float:
        """Median L2 distortion over :attr:`broken` examples (NaN when there are none)."""
        return self.median_distance("l2")

    @property
    def mean_l2(self) -> float:
        """Mean L2 distortion over :attr:`broken` examples (NaN when there are none)."""
        return self.mean_distance("l2")

    def summary(self, distance: str = "l2") -> dict[str, float]:
        """Headline numbers: n, clean accuracy, success rate, mean and median of ``distance`` over
        the broken examples, and mean queries."""
        return {
            "n": float(self.success.numel()),
            "clean_accuracy": float(self.original_correct.float().mean()),
            "success_rate": self.success_rate,
            f"mean_{distance}": self.mean_distance(distance),
            f"median_{distance}": self.median_distance(distance),
            "mean_queries": float(self.queries.double().mean()),
        }


def _statistic(values: Tensor, reduce: Callable[[Tensor], Tensor]) -> float:
    if values.numel() == 0:
        return float("nan")
    return float(reduce(values.double()))
