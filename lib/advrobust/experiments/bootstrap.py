"""Effects with bootstrap intervals: the uncertainty every measured claim of the book carries.

A reduced profile reads a thesis's ordering off 10-100 examples, few enough for a re-run on
another machine to flip it (on a fresh machine the MNIST ordering "Sign-OPT < OPT < Boundary" of
Table 2.2 flipped at 8k queries: median OPT 2.41 against Boundary 2.18). So each claim's *effect*
comes with a 95% percentile interval from :data:`RESAMPLES` bootstrap resamples of what it was
measured on: the attacked examples, paired, where two attacks or models saw the same examples
(:func:`paired_effect`); the examples of one measurement (:func:`mean_effect`); the training
seeds where two methods were trained with the same seeds (:func:`seed_effect`); or any statistic
of resampled indices (:func:`bootstrap_effect`, e.g. over a layer's channels).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

RESAMPLES = 2000  # bootstrap resamples
LEVEL = 0.95  # the interval's coverage
STATISTICS = ("mean", "median")  # what paired_effect compares


@dataclass(frozen=True)
class Effect:
    """A measured effect and its bootstrap interval.

    ``estimate`` is the statistic on the measurements as they are; ``low`` and ``high`` bound the
    :data:`LEVEL` percentile interval over resamples of the ``count`` units named by ``over``
    ("examples", "games", "seeds", "channels"). A unit count too small for an interval (one seed)
    gives an infinite one.
    """

    estimate: float
    low: float
    high: float
    count: int
    over: str = "examples"

    def __str__(self) -> str:
        """"+0.120 [+0.050, +0.200] over 64 examples"; "undefined" without an estimate."""
        if math.isnan(self.estimate):
            return f"undefined over {self.count} {self.over}"
        interval = "no interval" if math.isnan(self.low) else f"{self.low:+.3f}, {self.high:+.3f}"
        return f"{self.estimate:+.3f} [{interval}] over {self.count} {self.over}"

    def negated(self) -> Effect:
        """The effect of the reverse comparison (second minus first)."""
        return Effect(-self.estimate, -self.high, -self.low, self.count, self.over)

    def to_dict(self) -> dict[str, Any]:
        """Strict JSON: a non-finite number is written as the string "nan", "inf" or "-inf"."""
        return {"estimate": _encode(self.estimate), "low": _encode(self.low), "high": _encode(self.high),
                "count": self.count, "over": self.over}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Effect:
        """Inverse of :meth:`to_dict`."""
        return cls(float(data["estimate"]), float(data["low"]), float(data["high"]), int(data["count"]),
                   str(data.get("over", "examples")))


def resampled_rows(count: int, seed: int = 0) -> np.ndarray:
    """(:data:`RESAMPLES`, ``count``) indices drawn with replacement, seeded."""
    return np.random.default_rng(seed).integers(0, count, size=(RESAMPLES, count))


def bootstrap_effect(
    statistic: Callable[[np.ndarray], np.ndarray], count: int, over: str = "examples", seed: int = 0
) -> Effect:
    """The effect of ``statistic`` and its percentile interval over resamples of ``count`` units.

    ``statistic`` maps a (k, count) array of unit indices (each row one sample) to k values; the
    estimate is its value on the units as they are (the row 0, 1, ..., count − 1). Resamples whose
    statistic is NaN are left out. No unit, or a NaN estimate (e.g. inf − inf), gives a NaN effect:
    no interval, so no verdict rests on it. One unit gives an infinite interval (every resample
    repeats it, which says nothing of the spread).
    """
    if count == 0:
        return Effect(math.nan, math.nan, math.nan, 0, over)
    estimate = float(statistic(np.arange(count)[None])[0])
    if math.isnan(estimate):
        return Effect(estimate, math.nan, math.nan, count, over)
    if count == 1:
        return Effect(estimate, -math.inf, math.inf, 1, over)
    values = np.asarray(statistic(resampled_rows(count, seed)), dtype=float)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return Effect(estimate, math.nan, math.nan, count, over)
    tail = (1 - LEVEL) / 2
    return Effect(estimate, float(np.quantile(values, tail)), float(np.quantile(values, 1 - tail)), count, over)


def paired_effect(
    first: Sequence[float] | np.ndarray, second: Sequence[float] | np.ndarray, statistic: str = "mean",
    over: str = "examples", seed: int = 0,
) -> Effect:
    """``statistic(first) − statistic(second)`` over the units both have (the shorter's length:
    rows of a table play the same examples in the same order), resampling the pairs together.

    ``statistic`` "mean" gives the mean paired difference; "median" the difference of the two
    medians (the thesis compares hard-label attacks by median distortion, §2.5). Booleans count
    as 0/1 (per-example robust or clean correctness).
    """
    if statistic not in STATISTICS:
        raise ValueError(f"statistic must be one of {STATISTICS}, got {statistic!r}")
    count = min(len(first), len(second))
    a = np.asarray(first, dtype=float)[:count]
    b = np.asarray(second, dtype=float)[:count]
    if statistic == "mean":
        differences = a - b
        return bootstrap_effect(lambda rows: differences[rows].mean(axis=1), count, over, seed)
    return bootstrap_effect(lambda rows: _median_difference(a[rows], b[rows]), count, over, seed)


def _median_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise median(a) − median(b); NaN where both medians are infinite alike (inf − inf)."""
    with np.errstate(invalid="ignore"):
        return np.asarray(np.median(a, axis=1) - np.median(b, axis=1), dtype=float)


def mean_effect(values: Sequence[float] | np.ndarray, over: str = "examples", seed: int = 0) -> Effect:
    """The mean of ``values`` (e.g. a share of 0/1 outcomes) with its interval over the units."""
    data = np.asarray(values, dtype=float)
    return bootstrap_effect(lambda rows: data[rows].mean(axis=1), len(data), over, seed)


def seed_effect(first: Sequence[float] | np.ndarray, second: Sequence[float] | np.ndarray, seed: int = 0) -> Effect:
    """The mean difference of two methods trained with the same seeds (value i of each: seed i),
    resampled over the seeds. One seed gives no interval: it is infinite, so no claim rests on it."""
    return paired_effect(first, second, over="seeds", seed=seed)


def _encode(value: float) -> float | str:
    return float(value) if math.isfinite(value) else str(float(value))
