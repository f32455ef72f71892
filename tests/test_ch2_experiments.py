"""The Chapter 2 black-box experiments (advrobust.experiments.ch2_*): summaries, claims and the
hard-label objective's checks, on made-up results and classifiers with closed forms."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from advrobust.attacks.result import AttackResult
from advrobust.blackbox import BlackBoxResult, QueryTrace
from advrobust.experiments import ch2_hard_label, ch2_hard_label_objective, ch2_soft_label
from advrobust.profiles.hard_label import hard_label
from advrobust.profiles.score_based import score_based
from advrobust.toys import hard_label_2d as toy2d


def black_box(first: list[tuple[int, int, float]], n: int, l2: list[float] | None = None) -> BlackBoxResult:
    """n examples whose trace holds the (example, query, distance) improvements ``first``."""
    example, query, distance = (torch.tensor(column) for column in zip(*first)) if first else (
        torch.zeros(0, dtype=torch.long), torch.zeros(0, dtype=torch.long), torch.zeros(0))
    found = torch.zeros(n, dtype=torch.bool)
    found[example] = True
    distances = torch.tensor(l2) if l2 is not None else torch.zeros(n)
    return BlackBoxResult(
        x_adv=torch.zeros(n, 2), success=found, l2=distances, linf=distances / 2, queries=torch.full((n,), 100),
        original_correct=torch.ones(n, dtype=torch.bool), trace=QueryTrace(n, example, query, distance.float()),
    )


def white_box(l2: list[float], success: list[bool]) -> AttackResult:
    n = len(l2)
    return AttackResult(x_adv=torch.zeros(n, 2), success=torch.tensor(success), l2=torch.tensor(l2),
                        linf=torch.tensor(l2) / 4, queries=torch.full((n,), 7),
                        original_correct=torch.ones(n, dtype=torch.bool))


# --- §2.3 ------------------------------------------------------------------------------------------

def test_first_success_is_the_lower_median_over_the_examples_with_one() -> None:
    result = black_box([(0, 40, 3.0), (0, 90, 2.0), (1, 10, 5.0), (2, 70, 1.0), (3, 30, 1.0)], n=5)
    assert ch2_soft_label.median_first_success(result) == 30.0  # first queries 40, 10, 70, 30: lower median
    assert math.isnan(ch2_soft_label.median_first_success(black_box([], n=2)))


def test_soft_label_summary_reads_each_attack_in_its_own_norm() -> None:
    zoo = black_box([(0, 50, 1.0), (1, 20, 3.0)], n=3, l2=[1.0, 3.0, 0.0])
    nes = black_box([(0, 5, 0.3)], n=3, l2=[0.8, 0.0, 0.0])
    runs = ch2_soft_label.SoftLabelRuns(zoo, nes, white_box([1.0, 2.0, 4.0], [True, True, True]),
                                        white_box([1.2, 1.2, 1.2], [True, False, False]))
    table = ch2_soft_label.summary_table(runs, eps=0.3)
    assert list(table.index) == ["ZOO", "C&W", "NES (ε = 0.3)", "PGD (ε = 0.3)"]
    assert table.loc["ZOO", "success rate"] == pytest.approx(2 / 3)
    assert table.loc["ZOO", "mean distortion"] == pytest.approx(2.0)  # L2 over the two broken
    assert table.loc["C&W", "median distortion"] == pytest.approx(2.0)
    assert table.loc["NES (ε = 0.3)", "mean distortion"] == pytest.approx(0.4)  # L∞ = L2 / 2 here
    assert table.loc["PGD (ε = 0.3)", "mean distortion"] == pytest.approx(0.3)
    assert table.loc["ZOO", "median queries to first success"] == 20.0
    assert math.isnan(table.loc["C&W", "median queries to first success"])
    assert table.loc["C&W", "mean queries used"] == 7.0 and table.loc["C&W", "norm"] == "L2"


def test_zoo_updates_each_pixel_budget_over_twice_the_dimension_times() -> None:
    settings = score_based("paper")  # 3000 iterations of 2 * 128 + 1 queries
    assert ch2_soft_label.zoo_updates_per_pixel(settings, 784) == pytest.approx(3000 * 128 / 784)


# --- §2.5 ------------------------------------------------------------------------------------------

def test_table_2_2_puts_our_rows_and_the_cw_row_beside_the_thesis() -> None:
    settings = hard_label("smoke", "mnist")  # budgets 300, 600; threshold 1.5
    runs = {"Sign-OPT attack": black_box([(0, 100, 2.0), (0, 400, 1.0), (1, 200, 1.4)], n=3),
            "OPT attack": black_box([(0, 500, 3.0)], n=3)}
    cw = white_box([1.0, 2.0, 1.4], [True, True, False])
    table = ch2_hard_label.table_2_2(settings, runs, "smoke", cw)
    ours = table.xs("ours (smoke)", axis=1, level=1)
    assert ours.loc[("MNIST", "Sign-OPT attack", 300), "avg_l2"] == pytest.approx(1.7)
    assert ours.loc[("MNIST", "Sign-OPT attack", 600), "success_rate"] == pytest.approx(2 / 3)
    assert ours.loc[("MNIST", "OPT attack", 600), "avg_l2"] == pytest.approx(3.0)
    cw_row = table.sort_index().loc[("MNIST", "C&W (white-box)")]
    assert cw_row[("avg_l2", "thesis")].item() == 0.88
    assert cw_row[("avg_l2", "ours (smoke)")].item() == pytest.approx(1.5)  # over the two it broke
    assert cw_row[("success_rate", "ours (smoke)")].item() == pytest.approx(1 / 3)  # ≤ 1.5 among all three


def test_ordered_medians_check_the_order_at_each_budget() -> None:
    runs = {"A": black_box([(0, 10, 1.0), (1, 10, 1.0)], n=2), "B": black_box([(0, 10, 4.0), (0, 50, 0.5)], n=1),
            "C": black_box([(0, 10, 3.0)], n=1)}
    medians, holds = ch2_hard_label.ordered_medians(runs, [20, 60], ["A", "B", "C"])
    assert medians.loc[20].tolist() == [1.0, 4.0, 3.0]
    assert holds == {20: False, 60: False}
    assert ch2_hard_label.ordered_medians(runs, [20], ["A", "C", "B"])[1] == {20: True}
    assert ch2_hard_label.ordered_medians(runs, [20], ["A", "missing"])[1] == {}
    assert ch2_hard_label.largest_relative_gap(runs, [20, 60], ("B", "C")) == pytest.approx(5.0)  # |0.5-3| / 0.5


def test_side_specs_put_q_200_first_in_the_sweep_cache_and_run_the_thesis_targeted_set() -> None:
    settings = hard_label("quick", "mnist")
    assert list(settings.q_specs()) == ["Q=20", "Q=200", "Q=1000"]
    assert settings.q_specs()["Q=200"] == settings.svm_specs()["Sign-OPT attack"]  # one cached run
    assert list(settings.targeted_specs()) == ["Sign-OPT attack", "OPT attack", "Boundary attack", "SVM-OPT"]
    assert all(spec.settings["budget"] == settings.side_budget for spec in settings.targeted_specs().values())
    cifar = hard_label("quick", "cifar10").untargeted_specs()
    assert list(cifar) == ["Sign-OPT attack", "OPT attack", "Boundary attack"]


# --- §2.4 ------------------------------------------------------------------------------------------

class CircleNet(nn.Module):
    """Logits of the circle classifier ‖x‖² ≥ 0.4 (class 1 outside)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([0.4 - x.pow(2).sum(dim=1), torch.zeros(len(x))], dim=1)


def circle_toys() -> ch2_hard_label_objective.Classifiers:
    """The page's classifiers, with the circle standing in for the network (closed-form g)."""
    x0 = (0.2, 0.1)
    case = ch2_hard_label_objective.Case(toy2d.circle_classifier, x0, 0,
                                         toy2d.objective_over_angles(toy2d.circle_classifier, x0))
    names = (ch2_hard_label_objective.CIRCLE, ch2_hard_label_objective.NETWORK, ch2_hard_label_objective.TREE)
    regions = toy2d.evaluate_on_grid(toy2d.circle_classifier, size=5)
    return ch2_hard_label_objective.Classifiers(CircleNet(), 1.0, regions, 0.0, dict.fromkeys(names, case))


def test_algorithm_2_table_matches_the_closed_form_within_its_tolerance() -> None:
    table = ch2_hard_label_objective.algorithm_2_table(circle_toys(), (30, 145), tolerance=1e-4)
    exact = toy2d.circle_distance(torch.tensor((0.2, 0.1)), torch.tensor([math.radians(30), math.radians(145)]))
    assert table["θ"].tolist() == ["30°", "145°"]
    assert np.allclose(table["g, Algorithm 2"], exact.numpy(), atol=2e-4)
    assert (table["g, Algorithm 2"] >= exact.numpy() - 1e-6).all()  # the verified (adversarial) end
    assert (table["queries"] > 0).all() and (table["difference"] < 2e-4).all()


def test_single_query_signs_and_their_agreement_on_a_star_shaped_region() -> None:
    toys = circle_toys()
    g = toys.cases[ch2_hard_label_objective.NETWORK].g
    nearest = float(g.theta[int(np.argmin(g.g))])  # the direction of the closest boundary point
    signs = ch2_hard_label_objective.single_query_signs(toys, nearest + 0.5, {"toward": nearest, "away": nearest + 1.0})
    assert signs == {"toward": -1, "away": 1}
    agreement = ch2_hard_label_objective.agreement_table(toys, shifts=(1, 5, 20))
    assert agreement.index.tolist() == ["0.5°", "2.5°", "10°"]
    assert (agreement == 1.0).all().all()


def test_order_claims_pair_the_medians_over_the_same_examples() -> None:
    def run(distance: float) -> BlackBoxResult:
        return black_box([(i, 10, distance + 0.01 * i) for i in range(12)], n=12)

    runs = {"A attack": run(1.0), "B attack": run(2.0), "C": run(3.0)}
    [claim] = ch2_hard_label.order_claims(runs, [20], ["A attack", "B attack", "C"], item="Table 2.2")
    assert (claim.verdict, claim.claim, claim.item) == ("holds", "A < B < C (median L2 at 20 queries)", "Table 2.2")
    assert claim.effect is not None and claim.effect.estimate == pytest.approx(1.0) and claim.effect.count == 12
    [flipped] = ch2_hard_label.order_claims(runs, [20], ["A attack", "C", "B attack"])
    assert flipped.verdict == "fails" and "(deciding: median B − C)" in flipped.measured
    [early] = ch2_hard_label.order_claims(runs, [5], ["A attack", "B attack"])  # nothing found yet: inf − inf
    assert early.verdict == "inconclusive"
    assert [c.verdict for c in ch2_hard_label.order_claims(runs, [20, 60], ["A attack", "missing"])] == [
        "inconclusive"] * 2
