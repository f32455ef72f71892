"""A chapter's claims, measured: one line each, ``[holds]``, ``[does NOT hold]`` or
``[inconclusive]``, then the claim and what was measured (Chapters 3.1, 3.2 and 6).

Where a claim compares paired measurements (two attacks on the same examples or games), its
effect carries a 95% interval from a paired bootstrap over the examples (:func:`paired_effect`);
:func:`verdict` then says ``inconclusive`` when the interval contains zero.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

RESAMPLES = 2000  # bootstrap resamples
LEVEL = 0.95  # the interval's coverage


@dataclass(frozen=True)
class Claim:
    """One claim of the chapter, measured."""

    claim: str
    status: str  # "holds" | "does NOT hold" | "inconclusive"
    measured: str

    def line(self) -> str:
        return f"[{self.status}] {self.claim}: {self.measured}"


def status(holds: bool) -> str:
    """``"holds"`` or ``"does NOT hold"``."""
    return "holds" if holds else "does NOT hold"


def claim_lines(claims: Sequence[Claim]) -> str:
    """The claims as lines for the page."""
    return "\n".join(claim.line() for claim in claims)


@dataclass(frozen=True)
class Effect:
    """A mean paired difference and its bootstrap interval."""

    mean: float
    low: float
    high: float
    count: int  # paired examples

    def __str__(self) -> str:
        return f"{self.mean:+.2f} [{self.low:+.2f}, {self.high:+.2f}] over {self.count}"


def paired_effect(first: Sequence[float], second: Sequence[float], seed: int = 0) -> Effect:
    """The mean of ``first[i] − second[i]`` over the examples both have (the shorter's length:
    rows of a table play the same examples in the same order) and its :data:`LEVEL` percentile
    interval from :data:`RESAMPLES` bootstrap resamples of the examples."""
    count = min(len(first), len(second))
    differences = np.asarray(first[:count], dtype=float) - np.asarray(second[:count], dtype=float)
    rows = np.random.default_rng(seed).integers(0, count, size=(RESAMPLES, count))
    means = differences[rows].mean(axis=1)
    tail = (1 - LEVEL) / 2
    return Effect(float(differences.mean()), float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail)),
                  count)


def joint_verdict(verdicts: Sequence[str]) -> str:
    """The verdict of a claim made of parts: it fails if a part fails, holds if every part holds."""
    if "does NOT hold" in verdicts:
        return "does NOT hold"
    return "holds" if all(v == "holds" for v in verdicts) else "inconclusive"


def verdict(effect: Effect) -> str:
    """For a claim that ``effect`` is positive: holds when its interval lies above zero, does not
    hold when it lies below, inconclusive when it contains zero."""
    if effect.low > 0:
        return "holds"
    return "does NOT hold" if effect.high < 0 else "inconclusive"
