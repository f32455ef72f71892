"""The claims' statistics (experiments/claims.py): paired bootstrap intervals and verdicts on cases
with known answers."""
from __future__ import annotations

import numpy as np
import pytest
from advrobust.experiments.claims import Effect, joint_verdict, paired_effect, verdict


def test_a_constant_difference_has_a_degenerate_interval():
    effect = paired_effect([3.0, 5.0, 1.0, 7.0], [2.0, 4.0, 0.0, 6.0])
    assert (effect.mean, effect.low, effect.high, effect.count) == (1.0, 1.0, 1.0, 4)
    assert verdict(effect) == "holds" and verdict(paired_effect([0.0, 1.0], [2.0, 3.0])) == "does NOT hold"


def test_pairs_only_the_examples_both_rows_played():
    effect = paired_effect([1.0, 1.0, 9.0], [0.0, 0.0])  # the third game has no partner
    assert effect.count == 2 and effect.mean == 1.0


def test_noise_around_zero_is_inconclusive_and_the_interval_covers_the_mean():
    rng = np.random.default_rng(1)
    first, second = rng.normal(0, 1, 400), rng.normal(0, 1, 400)
    effect = paired_effect(list(first), list(second))
    assert effect.low < effect.mean < effect.high and verdict(effect) == "inconclusive"
    # the interval's half-width is about 1.96 standard errors of the mean difference
    standard_error = np.std(first - second) / np.sqrt(400)
    assert (effect.high - effect.low) / 2 == pytest.approx(1.96 * standard_error, rel=0.15)
    assert paired_effect(list(first), list(second)) == effect  # seeded


def test_joint_verdict():
    assert joint_verdict(["holds", "holds"]) == "holds"
    assert joint_verdict(["holds", "inconclusive"]) == "inconclusive"
    assert joint_verdict(["inconclusive", "does NOT hold"]) == "does NOT hold"
    assert str(Effect(0.5, -0.25, 1.0, 10)) == "+0.50 [-0.25, +1.00] over 10"
