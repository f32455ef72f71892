"""The experiments of Chapter 1 and §2.1-2.2 (advrobust.experiments.ch1_introduction and
ch2_white_box) on linear models whose minimal perturbations are known in closed form."""
from __future__ import annotations

import dataclasses
import math

import pandas as pd
import pytest
import torch
from _attack_fixtures import binary_linear, multiclass_linear
from advrobust.attacks import AttackResult
from advrobust.data import TensorData
from advrobust.experiments import ch1_introduction as ch1
from advrobust.experiments import ch2_white_box as ch2
from advrobust.profiles.whitebox import whitebox
from advrobust.robustness.accuracy import correctly_classified
from torch import nn


def as_images(x: torch.Tensor, y: torch.Tensor, classes: int) -> TensorData:
    """(N, D) points as (N, D, 1, 1) "images", the shape TensorData holds."""
    return TensorData(x[:, :, None, None], y, tuple(str(k) for k in range(classes)), "linear")


def result(l2: list[float], success: list[bool]) -> AttackResult:
    n = len(l2)
    return AttackResult(torch.zeros(n, 1, 1, 1), torch.tensor(success), torch.tensor(l2), torch.tensor(l2),
                        torch.zeros(n, dtype=torch.long), torch.ones(n, dtype=torch.bool))


def test_budgeted_linf_curves_are_exact_on_a_binary_linear_model():
    # FGSM, PGD and C&W L∞ all find the optimal corner of a linear model: an example is robust at
    # eps exactly when its L∞ distance to the boundary exceeds eps
    case = binary_linear([0.02, 0.04, 0.06, 0.08, 0.10, 0.12])
    model = nn.Sequential(nn.Flatten(), case.model)
    margins = case.linf.sort().values
    eps = tuple(float(m) * 1.05 for m in margins[::2])  # between the distances, never on one
    settings = dataclasses.replace(whitebox("smoke"), eps_linf=eps)
    curves = ch2.budgeted_curves(model, as_images(case.x, case.y, 2), settings, "Linf")
    assert set(curves["attack"]) == {"FGSM", "PGD", "C&W L∞ (PGD on (2.6))"}
    for attack, curve in curves.groupby("attack"):
        expected = [float((case.linf > e).float().mean()) for e in eps]
        assert curve["robust_accuracy"].tolist() == pytest.approx(expected), attack
    assert ch2.accuracy_at(curves, "PGD", eps[1]) == pytest.approx(float((case.linf > eps[1]).float().mean()))
    assert math.isnan(ch2.accuracy_at(curves, "PGD", 0.5))
    assert list(ch2.curve_table(curves).columns) == list(eps)


def test_minimal_attacks_read_as_curves_count_failures_and_larger_distortions_as_robust():
    results = {"C&W L2": result([0.5, 1.0, 2.0, 9.9], [True, True, True, False])}
    curves = ch2.minimal_curves(results, (0.75, 1.5, 3.0))
    assert curves["robust_accuracy"].tolist() == [0.75, 0.5, 0.25]
    stats = ch2.distortion_table(results)
    assert stats.loc["C&W L2", "success_rate"] == 0.75 and stats.loc["C&W L2", "l2_mean"] == pytest.approx(3.5 / 3)
    assert ch2.broken_distortions(results)["C&W L2"].tolist() == [0.5, 1.0, 2.0]


def test_table_2_2_success_rate_counts_successes_within_the_threshold():
    cw = result([0.5, 1.4, 1.6, 0.1], [True, True, True, False])
    table = ch2.table_2_2_cw(cw, whitebox("smoke"), "smoke")
    ours = table.loc[("MNIST", "C&W (white-box)")]
    assert ours[("success_rate", "ours (smoke)")] == 0.5  # 0.5 and 1.4 are within 1.5; 0.1 failed
    assert ours[("avg_l2", "ours (smoke)")] == pytest.approx(3.5 / 3)
    assert (ours[("avg_l2", "thesis")], ours[("success_rate", "thesis")]) == (0.88, 0.99)


@pytest.fixture(scope="module")
def victim() -> ch2.WhiteBoxVictim:
    case = multiclass_linear(n=30)
    model = nn.Sequential(nn.Flatten(), case.model)
    y = case.y.clone()
    y[[1, 4]] = (y[[1, 4]] + 1) % 10  # two misclassified examples
    test = as_images(case.x, y, 10)
    return ch2.WhiteBoxVictim(model, test, 28 / 30, 28)


def test_victim_attacks_the_first_correct_examples_in_dataset_order(victim):
    chosen = victim.correct_examples(5)
    assert len(chosen) == 5 and torch.equal(chosen.x, victim.test.x[[0, 2, 3, 5, 6]])
    larger = victim.correct_examples(10)
    assert torch.equal(larger.x[:5], chosen.x)  # the smaller set is a prefix of the larger one


def test_example_grid_stacks_the_originals_then_one_row_per_attack(victim):
    settings = dataclasses.replace(whitebox("smoke"), n_examples_shown=3)
    data = victim.correct_examples(4)
    minimal = {"C&W L2": result([1.0] * 4, [True] * 4)}
    minimal = {"C&W L2": dataclasses.replace(minimal["C&W L2"], x_adv=data.x.clone())}
    grid = ch2.example_grid(victim.model, data, minimal, settings)
    assert grid.rows == ["original", "FGSM ε=0.3", "PGD ε=0.3", "C&W L2"]
    assert grid.images.shape == (12, *data.x.shape[1:]) and grid.columns == 3
    assert torch.equal(grid.images[:3], data.x[:3]) and grid.titles[0] == f"pred {int(data.y[0])}"


def test_figure_1_1_attacks_one_correct_example_per_class_toward_the_next_class(victim):
    smoke = whitebox("smoke")
    settings = dataclasses.replace(smoke, n_examples_shown=4, cw=smoke.cw.replace(steps=10, binary_search_steps=2))
    figure = ch1.figure_1_1(victim, settings, target_shift=3)
    correct = correctly_classified(victim.model, victim.test.x, victim.test.y)
    assert len(figure.examples) == 4 and len(set(figure.examples.y.tolist())) == 4
    assert all(bool((victim.test.x[correct] == x).all(dim=(1, 2, 3)).any()) for x in figure.examples.x)
    assert torch.equal(figure.target, (figure.examples.y + 3) % 10)
    assert figure.untargeted.success_rate == 1.0  # a linear model falls to C&W on every example
    predicted = victim.model(figure.targeted.x_adv).argmax(dim=1)
    assert torch.equal(predicted[figure.targeted.success], figure.target[figure.targeted.success])
    assert set(figure.summary()) == {"untargeted success rate", "untargeted mean L2", "targeted success rate",
                                     "targeted mean L2"}


def test_prediction_titles_give_the_top_class_and_its_softmax_confidence():
    model = nn.Linear(3, 3, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.eye(3))
    titles = ch1.prediction_titles(model, torch.tensor([[0.0, 0.0, 0.0], [0.0, 5.0, 0.0]]))
    assert titles == ["predicted 0\n(33%)", f"predicted 1\n({torch.softmax(torch.tensor([0.0, 5, 0]), 0)[1]:.0%})"]


def test_model_accuracy_sits_beside_the_thesis(victim):
    table = ch2.model_accuracy_table(victim, "smoke")
    assert isinstance(table, pd.DataFrame) and len(table) == 1
    assert table.iloc[0].tolist() == [0.995, pytest.approx(28 / 30)]


def test_figure_1_1_claim_pairs_the_two_runs_over_the_examples_both_broke():
    def run(l2: list[float], success: list[bool]) -> AttackResult:
        n = len(l2)
        return AttackResult(x_adv=torch.zeros(n, 2), success=torch.tensor(success), l2=torch.tensor(l2),
                            linf=torch.tensor(l2), queries=torch.ones(n), original_correct=torch.ones(n, dtype=torch.bool))

    examples = TensorData(torch.zeros(4, 2), torch.zeros(4, dtype=torch.long), ("0", "1"), "toy")
    untargeted = run([1.0, 1.2, 0.8, 0.5], [True, True, True, True])
    targeted = run([2.0, 2.5, 1.9, 9.0], [True, True, True, False])  # the last missed its target: not paired
    claim = ch1.Figure11(examples, torch.ones(4, dtype=torch.long), untargeted, targeted).claim()
    assert claim.verdict == "holds" and claim.item == "Figure 1.1"
    assert claim.effect is not None and claim.effect.count == 3 and claim.effect.estimate == pytest.approx(1.1333, abs=1e-3)
