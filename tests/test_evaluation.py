"""Robust accuracy as the per-example worst case over an attack list (AutoAttack protocol),
distortion statistics, accuracy-versus-eps curves, and the threat-model check."""
from __future__ import annotations

import math

import pytest
import torch
from _attack_fixtures import binary_linear, tiny_mlp
from advrobust.attacks import (
    BIM,
    FGSM,
    PGD,
    AttackResult,
    BudgetedAttack,
    LinfBall,
    MinimizationAttack,
)
from advrobust.attacks.base import rows
from advrobust.errors import ConfigError
from advrobust.robustness.accuracy import (
    clean_accuracy,
    distortion_stats,
    predict,
    robust_accuracy,
    robust_accuracy_curve,
)
from torch import Tensor, nn


class Reflect(MinimizationAttack):
    """Breaks exactly the inputs whose coordinate ``feature`` exceeds 0.5, by mapping x to 1 - x.

    On the two-class linear model of ``binary_linear`` (margin w·(x - 0.5)) the reflection flips
    the sign of the margin, hence the class.
    """

    name = "reflect"

    def __init__(self, model: nn.Module, feature: int) -> None:
        super().__init__(model)
        self.feature = feature

    def _perturb(self, x0: Tensor, labels: Tensor, target: Tensor | None) -> tuple[Tensor, Tensor]:
        chosen = rows(x0[:, self.feature] > 0.5, x0)
        return torch.where(chosen, 1 - x0, x0), torch.ones(len(x0), dtype=torch.long)


class LeavesItsBall(BudgetedAttack):
    """A deliberately broken budgeted attack: steps 0.1 out and skips the projection."""

    name = "leaves_its_ball"

    def __init__(self, model: nn.Module) -> None:
        super().__init__(model, threat=LinfBall(0.01))

    def _perturb(self, x0: Tensor, labels: Tensor, target: Tensor | None) -> tuple[Tensor, Tensor]:
        return x0 + 0.1, torch.ones(len(x0), dtype=torch.long)

    def _finish(self, x_adv: Tensor, x0: Tensor) -> Tensor:
        return self._clip(x_adv)


class ReturnsNaN(MinimizationAttack):
    name = "returns_nan"

    def _perturb(self, x0: Tensor, labels: Tensor, target: Tensor | None) -> tuple[Tensor, Tensor]:
        return x0 * float("nan"), torch.ones(len(x0), dtype=torch.long)


@pytest.fixture
def subsets():
    """Binary linear case with every fourth label wrong, and the two Reflect subsets."""
    case = binary_linear([0.05 + 0.01 * i for i in range(40)], seed=3)
    y = case.y.clone()
    y[::4] = 1 - y[::4]
    correct = y == case.y
    a, b = case.x[:, 0] > 0.5, case.x[:, 1] > 0.5
    assert (correct & a & ~b).any() and (correct & b & ~a).any() and (correct & ~a & ~b).any()
    return case.model, case.x, y, correct, a, b


def test_robust_accuracy_is_the_per_example_worst_case(subsets) -> None:
    model, x, y, correct, a, b = subsets
    report = robust_accuracy(model, x, y, [Reflect(model, 1)], batch_size=7)
    assert report.robust_accuracy == pytest.approx(float((correct & ~b).float().mean()))

    report = robust_accuracy(
        model, x, y, {"a": Reflect(model, 0), "b": Reflect(model, 1)}, batch_size=7
    )
    assert list(report.accuracy) == ["clean", "a", "b"]
    assert report.accuracy["clean"] == pytest.approx(float(correct.float().mean()))
    assert report.accuracy["a"] == pytest.approx(float((correct & ~a).float().mean()))
    assert report.robust_accuracy == pytest.approx(float((correct & ~a & ~b).float().mean()))
    expected = [
        "clean" if not c else "a" if ia else "b" if ib else None
        for c, ia, ib in zip(correct.tolist(), a.tolist(), b.tolist())
    ]
    assert report.broken_by == expected
    broken = torch.tensor([s not in (None, "clean") for s in expected])
    assert torch.equal(report.x_adv[broken], 1 - x[broken])
    assert torch.equal(report.x_adv[~broken], x[~broken])
    table = report.table()
    assert table["broken"].tolist() == [
        int((~correct).sum()),
        expected.count("a"),
        expected.count("b"),
    ]


def test_attacks_after_every_example_is_broken_run_on_nothing(subsets) -> None:
    model, x, y, correct, a, b = subsets
    # FGSM at eps = 1 moves every input to the far corner of [0, 1]^2 and breaks all of them, so the
    # attacks after it run on no example (torch's split of an empty index would give one empty batch)
    report = robust_accuracy(model, x, y, {"fgsm": FGSM(model, eps=1.0), "a": Reflect(model, 0)}, batch_size=7)
    assert report.accuracy["fgsm"] == report.robust_accuracy == 0.0
    assert report.max_l2["a"] == 0.0


def test_robust_accuracy_equals_the_intersection_for_real_attacks() -> None:
    # FGSM and BIM are deterministic and treat examples independently, so the examples robust to
    # the list are exactly those robust to each attack alone.
    model = tiny_mlp(seed=2)
    x = torch.rand(300, 32, generator=torch.Generator().manual_seed(0))
    y = predict(model, x)
    y[::10] = (y[::10] + 1) % 10
    fgsm, bim = FGSM(model, eps=0.05), BIM(model, eps=0.03, alpha=0.01, steps=5)
    alone = [robust_accuracy(model, x, y, [attack]) for attack in (fgsm, bim)]
    robust_alone = [torch.tensor([s is None for s in r.broken_by]) for r in alone]
    both = robust_accuracy(model, x, y, [fgsm, bim], batch_size=64)
    assert torch.equal(
        torch.tensor([s is None for s in both.broken_by]), robust_alone[0] & robust_alone[1]
    )
    assert both.robust_accuracy <= min(r.robust_accuracy for r in alone)
    assert 0 < both.robust_accuracy < both.clean_accuracy
    accuracies = list(both.accuracy.values())
    assert accuracies == sorted(accuracies, reverse=True)  # never above clean, never rising
    assert both.max_linf["fgsm"] <= 0.05 + 1e-6 and both.max_linf["bim"] <= 0.03 + 1e-6


def test_success_is_judged_by_the_evaluated_model() -> None:
    # A transfer attack: built on a surrogate, scored on the target model.
    surrogate, target = tiny_mlp(seed=5), tiny_mlp(seed=6)
    x = torch.rand(200, 32, generator=torch.Generator().manual_seed(0))
    y = predict(target, x)
    attack = FGSM(surrogate, eps=0.1)
    report = robust_accuracy(target, x, y, [attack])
    still_robust = predict(target, attack(x, y)) == y
    assert torch.equal(torch.tensor([s is None for s in report.broken_by]), still_robust)
    assert 0 < report.robust_accuracy < 1


def test_batch_size_does_not_change_the_report(subsets) -> None:
    model, x, y, *_ = subsets
    attacks = [
        PGD(model, eps=0.02, alpha=0.005, steps=5, random_start=False),
        FGSM(model, eps=0.04),
    ]
    small, large = (robust_accuracy(model, x, y, attacks, batch_size=b) for b in (3, 1000))
    assert small.accuracy == large.accuracy and small.broken_by == large.broken_by
    assert torch.equal(small.x_adv, large.x_adv)


def test_robust_accuracy_curve_falls_with_eps() -> None:
    model = tiny_mlp(seed=1)
    x = torch.rand(200, 32, generator=torch.Generator().manual_seed(0))
    y = predict(model, x)
    eps_values = [0.0, 0.005, 0.01, 0.02, 0.05, 0.1]
    curve = robust_accuracy_curve(
        model,
        x,
        y,
        lambda eps: PGD(model, eps=eps, alpha=max(eps, 1e-6) / 4, steps=10, seed=0),
        eps_values,
    )
    assert list(curve.columns) == ["attack", "eps", "clean_accuracy", "robust_accuracy"]
    assert curve["eps"].tolist() == eps_values and set(curve["attack"]) == {"pgd"}
    accuracy = curve["robust_accuracy"].tolist()
    assert accuracy[0] == curve["clean_accuracy"][0] == 1.0
    assert all(later <= earlier for earlier, later in zip(accuracy, accuracy[1:])), accuracy
    assert accuracy[-1] < 0.5


def test_threat_model_violations_fail_loudly(subsets) -> None:
    model, x, y, *_ = subsets
    with pytest.raises(RuntimeError, match="left its linf ball"):
        robust_accuracy(model, x, y, [LeavesItsBall(model)])
    with pytest.raises(RuntimeError, match="NaN"):
        robust_accuracy(model, x, y, [ReturnsNaN(model)])


def test_attack_lists_need_distinct_names(subsets) -> None:
    model, x, y, *_ = subsets
    with pytest.raises(ConfigError, match="mapping"):
        robust_accuracy(model, x, y, [FGSM(model, eps=0.1), FGSM(model, eps=0.2)])
    with pytest.raises(ConfigError, match="at least one"):
        robust_accuracy(model, x, y, [])


def test_predict_is_batched_in_eval_mode_and_restores_the_mode() -> None:
    model = nn.Sequential(tiny_mlp(), nn.Dropout(0.9)).train()
    x = torch.rand(50, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = model.eval()(x).argmax(dim=1)
    model.train()
    assert torch.equal(predict(model, x, batch_size=7), expected)
    assert model.training
    y = expected.clone()
    y[:10] = (y[:10] + 1) % 10
    assert clean_accuracy(model, x, y, batch_size=7) == pytest.approx(0.8)


def test_distortion_stats_use_only_broken_originally_correct_examples() -> None:
    l2 = torch.tensor([1.0, 2.0, 3.0, 4.0, 100.0, 200.0])
    result = AttackResult(
        x_adv=torch.zeros(6, 2),
        success=torch.tensor([True, True, True, True, False, True]),
        l2=l2,
        linf=l2 / 10,
        queries=torch.ones(6, dtype=torch.long),
        original_correct=torch.tensor([True, True, True, True, True, False]),
    )
    stats = distortion_stats(result)
    assert stats["n_broken"] == 4 and stats["success_rate"] == pytest.approx(0.8)
    assert stats["l2_mean"] == pytest.approx(2.5) and stats["l2_median"] == pytest.approx(2.5)
    assert stats["l2_p25"] == pytest.approx(1.75) and stats["linf_p90"] == pytest.approx(0.37)
    assert result.median_l2 == pytest.approx(2.5) and result.mean_l2 == pytest.approx(2.5)
    none_correct = AttackResult(
        **{**result.__dict__, "original_correct": torch.zeros(6, dtype=torch.bool)}
    )
    assert math.isnan(none_correct.success_rate) and math.isnan(
        distortion_stats(none_correct)["l2_mean"]
    )
