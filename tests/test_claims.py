"""The claims' statistics and schema (experiments/bootstrap.py, claims.py, record.py): bootstrap
intervals and verdicts on cases with known answers, and the records round-tripping through JSON."""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from advrobust.experiments import record
from advrobust.experiments.bootstrap import Effect, bootstrap_effect, mean_effect, paired_effect, seed_effect
from advrobust.experiments.claims import (
    Claim,
    Part,
    joint_claim,
    joint_verdict,
    judged,
    status,
    verdict,
)
from advrobust.tables import beside_thesis


def test_a_constant_difference_has_a_zero_width_interval():
    effect = paired_effect([3.0, 5.0, 1.0, 7.0], [2.0, 4.0, 0.0, 6.0])
    assert (effect.estimate, effect.low, effect.high, effect.count) == (1.0, 1.0, 1.0, 4)
    assert verdict(effect) == "holds" and verdict(paired_effect([0.0, 1.0], [2.0, 3.0])) == "fails"


def test_one_pair_gives_an_infinite_interval_and_no_verdict():
    """Resampling one example repeats it: a zero-width interval would claim certainty from one."""
    effect = paired_effect([0.9], [0.2])
    assert effect.estimate == pytest.approx(0.7) and (effect.low, effect.high) == (-math.inf, math.inf)
    assert verdict(effect) == "inconclusive"


def test_all_equal_pairs_are_inconclusive_unless_the_claim_allows_equality():
    same = paired_effect([True, False, True], [True, False, True])  # booleans count as 0/1
    assert (same.estimate, same.low, same.high) == (0.0, 0.0, 0.0)
    assert verdict(same) == "inconclusive"  # the interval [0, 0] contains the margin 0
    assert verdict(same, strict=False) == "holds"  # "at least": the low end may touch the margin
    assert verdict(Effect(0.5, 0.2, 0.8, 10), margin=0.3) == "inconclusive"
    assert verdict(Effect(0.5, 0.2, 0.8, 10), margin=-0.1) == "holds"
    assert verdict(Effect(math.nan, math.nan, math.nan, 0)) == "inconclusive"


def test_pairs_only_the_examples_both_rows_played():
    effect = paired_effect([1.0, 1.0, 9.0], [0.0, 0.0])  # the third game has no partner
    assert effect.count == 2 and effect.estimate == 1.0
    assert paired_effect([], []).count == 0 and verdict(paired_effect([], [])) == "inconclusive"


def test_noise_around_zero_is_inconclusive_and_the_interval_covers_the_estimate():
    rng = np.random.default_rng(1)
    first, second = rng.normal(0, 1, 400), rng.normal(0, 1, 400)
    effect = paired_effect(first, second)
    assert effect.low < 0 < effect.high and effect.low < effect.estimate < effect.high
    assert verdict(effect) == "inconclusive"
    # the interval's half-width is about 1.96 standard errors of the mean difference
    standard_error = np.std(first - second) / np.sqrt(400)
    assert (effect.high - effect.low) / 2 == pytest.approx(1.96 * standard_error, rel=0.15)
    assert paired_effect(first, second) == effect  # seeded


def test_the_median_statistic_compares_the_two_medians():
    first, second = [1.0, 2.0, 3.0, 100.0, 5.0], [0.0, 1.0, 1.0, 1.0, 1.0]
    effect = paired_effect(first, second, statistic="median")
    assert effect.estimate == 3.0 - 1.0 and effect.low <= effect.estimate <= effect.high
    infinite = paired_effect([math.inf] * 4, [math.inf] * 4, statistic="median")  # inf − inf: no interval
    assert math.isnan(infinite.estimate) and verdict(infinite) == "inconclusive"
    with pytest.raises(ValueError, match="statistic"):
        paired_effect(first, second, statistic="mode")


def test_shares_seeds_and_any_statistic():
    share = mean_effect([1.0] * 20, over="games")
    assert (share.estimate, share.low, share.high, share.over) == (1.0, 1.0, 1.0, "games")
    one_seed = seed_effect([0.9], [0.5])
    assert one_seed.estimate == pytest.approx(0.4) and one_seed.low == -math.inf and one_seed.high == math.inf
    assert verdict(one_seed) == "inconclusive" and seed_effect([0.7, 0.8], [0.5, 0.6]).over == "seeds"
    values = np.array([0.0, 10.0])
    largest = bootstrap_effect(lambda rows: values[rows].max(axis=1), 2, over="channels")
    assert largest.estimate == 10.0 and (largest.low, largest.high) == (0.0, 10.0)


def test_joint_verdict_and_the_deciding_part():
    assert joint_verdict(["holds", "holds"]) == "holds" and joint_verdict([]) == "inconclusive"
    assert joint_verdict(["holds", "inconclusive"]) == "inconclusive"
    assert joint_verdict(["inconclusive", "fails"]) == "fails"
    strong, weak, wrong = Effect(1.0, 0.8, 1.2, 10), Effect(0.1, -0.1, 0.3, 10), Effect(-1.0, -1.2, -0.8, 10)
    assert joint_claim("c", [Part("a", strong), Part("b", weak)]).effect == weak  # inconclusive: b decides
    failed = joint_claim("c", [Part("a", weak), Part("b", wrong)])
    assert failed.verdict == "fails" and failed.effect == wrong and "(deciding: b)" in failed.measured
    assert joint_claim("c", [Part("a", strong), Part("b", Effect(0.5, 0.1, 0.9, 10))]).effect.low == 0.1
    assert joint_claim("c", [Part("a", strong, margin=0.9)]).verdict == "inconclusive"
    assert joint_claim("c", []).verdict == "inconclusive"


def test_claim_lines_show_the_verdict_and_the_interval():
    claim = judged("CAT > TRADES", Effect(0.5, -0.25, 1.0, 10), "CAT 0.6 vs TRADES 0.1", attack="PGD", item="Table 4.2")
    assert claim.verdict == claim.status == "inconclusive"
    assert claim.line() == ("[inconclusive] CAT > TRADES (PGD): effect +0.500 [-0.250, +1.000] over 10 examples "
                            "(> 0); CAT 0.6 vs TRADES 0.1")
    assert claim.phrase() == "is inconclusive (effect +0.500 [-0.250, +1.000] over 10 examples (> 0))"
    assert status(True) == "holds" and status(False) == "fails"
    assert Claim("x", "fails", "y").line() == "[fails] x: y"
    with pytest.raises(ValueError, match="verdict"):
        Claim("x", "does NOT hold", "y")
    with pytest.raises(ValueError, match="attack"):
        Claim("x", "holds", "y", attack="FGSM")


def test_claims_and_outputs_round_trip_through_json(tmp_path):
    claims = [judged("a", Effect(0.1, -0.2, 0.3, 7, "seeds"), margin=-0.02, attack="AutoAttack", item="Table 6.3",
                     strict=False),
              Claim("b", "inconclusive", "not run (data absent)"),
              Claim("c", "inconclusive", "one seed", seed_effect([1.0], [0.0]), item="Table 6.3")]
    for claim in claims:
        assert Claim.from_dict(json.loads(json.dumps(claim.to_dict(), allow_nan=False))) == claim
    record.record_claims(tmp_path, claims, "claims")
    record.record_claims(tmp_path, [Claim("b", "holds", "rerun")], "claims-2")  # the same claim replaces its record
    read = record.read_claims(tmp_path)
    assert [r.claim for r in read] == [claims[0], claims[2], Claim("b", "holds", "rerun")]
    assert [r.anchor for r in read] == ["claims", "claims", "claims-2"]

    output = record.Output("table_4_2", "table", "Table 4.2.", "Table 4.2", "table_4_2", True,
                           (record.Cell("CAT · pgd", 0.7554, 0.32), record.Cell("CAT · class", "World", "Sports")))
    record.record_output(tmp_path, output)
    record.record_output(tmp_path, output)  # recorded once
    assert record.read_outputs(tmp_path) == [output]
    record.clear_records(tmp_path)
    assert record.read_outputs(tmp_path) == [] and record.read_claims(tmp_path) == []


def test_result_names_name_their_thesis_items():
    assert record.item_of("table_4_2") == "Table 4.2" and record.item_of("table_3_10") == "Table 3.10"
    assert record.item_of("figure_5_6a") == "Figure 5.6" and record.item_of("fig_1_1_targeted") == "Figure 1.1"
    assert record.item_of("table_3_9_dialogue") == "Table 3.9" and record.item_of("table_2_2_cw") == "Table 2.2"
    assert record.item_of("claims") is None and record.item_of("table_3_perplexity") is None
    assert sorted(["Figure 2.10", "Figure 2.9", "Table 1.1"], key=record.item_sort_key) == [
        "Figure 2.9", "Figure 2.10", "Table 1.1"]


def test_comparable_cells_pair_the_thesis_and_ours_wherever_the_source_level_is():
    ours = pd.DataFrame({"method": ["CAT", "TRADES"], "pgd": [0.3, np.nan]})
    thesis = pd.DataFrame({"method": ["CAT", "TRADES", "MART"], "pgd": [0.7554, 0.3881, 0.5]})
    cells, has_ours = record.comparable_cells(beside_thesis(ours, thesis, ["method"], "quick"))
    assert cells == (record.Cell("CAT · pgd", 0.7554, 0.3),) and has_ours
    rows = pd.DataFrame({"accuracy": [0.9, 0.8, 0.7]}, index=pd.MultiIndex.from_tuples(
        [("AT", "thesis"), ("AT", "ours (quick): BN"), ("AT", "ours (quick): aux")], names=["method", "source"]))
    assert record.comparable_cells(rows) == ((record.Cell("AT · accuracy", 0.9, 0.8),), True)  # the first of ours
    thesis_only = pd.DataFrame({"text": ["a mood"]}, index=pd.MultiIndex.from_tuples([("thesis", "original")]))
    assert record.comparable_cells(thesis_only) == ((), False)
    assert record.comparable_cells(pd.DataFrame({"x": [1.0]})) == ((), True)  # a table of ours alone
