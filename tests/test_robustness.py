"""Robustness evaluation of thesis §4.2.4.2: AutoAttack, Table 4.2's columns, transfer attacks
(Table 4.4), loss landscapes (Figure 4.2) and the gradient-masking checks of Athalye et al.

Analytic anchors: on a two-class linear model the smallest L∞ perturbation that flips example i
is known in closed form (``_attack_fixtures.binary_linear``), so an exact attack breaks exactly
the examples closer than eps; a model whose input goes through ``torch.round`` has zero input
gradients everywhere, the textbook case of gradient masking.
"""
from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from _attack_fixtures import D, binary_linear, multiclass_linear
from advrobust import registry
from advrobust.attacks import PGD, DeepFool
from advrobust.errors import ConfigError
from advrobust.robustness import (
    AutoAttack,
    WithinBudget,
    accuracy_on,
    craft_transfer_examples,
    defense_report,
    gradient_masking_checks,
    loss_landscape,
    transfer_accuracy,
)
from advrobust.robustness.accuracy import robust_accuracy
from torch import nn

DISTANCES = [0.05, 0.1, 0.15, 0.2, 0.25, 0.3] * 3  # L2; the L∞ distances are about 4.5x smaller
EPS = 0.037  # between the L∞ distances 0.0315 and 0.042 of binary_linear(DISTANCES)


class Quantize(nn.Module):
    """8-bit input quantisation: harmless to the prediction, zero gradient everywhere."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.round(x * 255) / 255


@pytest.fixture(scope="module")
def mlp_case() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """A small ReLU net trained on four Gaussian blobs in [0, 1]^D; 64 test points."""
    g = torch.Generator().manual_seed(0)
    centres = 0.5 + 0.08 * torch.randn(4, D, generator=g)
    labels = torch.arange(4).repeat(80)
    x = (centres[labels] + 0.05 * torch.randn(len(labels), D, generator=g)).clamp(0, 1)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(D, 64), nn.ReLU(), nn.Linear(64, 4))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    for _ in range(50):
        optimizer.zero_grad()
        F.cross_entropy(model(x[64:]), labels[64:]).backward()
        optimizer.step()
    return model.eval(), x[:64], labels[:64]


# --------------------------------------------------------------------------------- AutoAttack


def test_autoattack_is_registered_with_the_standard_budgets() -> None:
    attack = registry.create("attack", "autoattack", model=nn.Linear(D, 10))
    assert isinstance(attack, AutoAttack)
    assert (attack.steps, attack.n_target_classes, attack.n_queries) == (100, 9, 5000)
    assert attack.eps == pytest.approx(8 / 255) and attack.threat.norm == "linf"


def test_autoattack_breaks_exactly_the_examples_closer_than_eps_on_a_linear_model() -> None:
    case = binary_linear(DISTANCES)
    assert ((case.linf - EPS).abs() > 0.002).all()  # no example sits on the budget
    result = AutoAttack(case.model, eps=EPS, steps=10, n_queries=50).run(case.x, case.y)
    assert torch.equal(result.success, case.linf < EPS)
    assert (result.linf <= EPS + 1e-6).all() and result.x_adv.min() >= 0 and result.x_adv.max() <= 1
    assert torch.equal(result.x_adv[~result.success], case.x[~result.success])  # robust: clean input


def test_autoattack_is_stronger_than_pgd(mlp_case) -> None:
    model, x, y = mlp_case
    eps = 0.05
    pgd = robust_accuracy(model, x, y, [PGD(model, eps=eps, alpha=eps / 4, steps=10, seed=0)])
    autoattack = AutoAttack(model, eps=eps, steps=20, n_target_classes=3, n_queries=100)
    aa = robust_accuracy(model, x, y, [autoattack])
    assert pgd.clean_accuracy == aa.clean_accuracy > 0.9
    assert 0.1 < pgd.robust_accuracy < pgd.clean_accuracy  # the budget matters: a real comparison
    assert aa.robust_accuracy < pgd.robust_accuracy  # here by 4 of 64 examples
    assert aa.max_linf["autoattack"] <= eps + 1e-6


def test_autoattack_restores_the_global_random_state() -> None:
    case = multiclass_linear()
    torch.manual_seed(123)
    before = torch.get_rng_state()
    AutoAttack(case.model, eps=0.3, steps=5, n_queries=10).run(case.x, case.y)
    assert torch.equal(torch.get_rng_state(), before)


def test_autoattack_square_still_breaks_a_gradient_masked_model() -> None:
    case = binary_linear([0.03] * 6)  # L∞ distances about 0.006
    masked = nn.Sequential(Quantize(), case.model)
    assert torch.equal(masked(case.x).argmax(dim=1), case.y)
    zero_grad = PGD(masked, eps=0.05, alpha=0.01, steps=10, random_start=False).run(case.x, case.y)
    assert not zero_grad.success.any() and torch.equal(zero_grad.x_adv, case.x)
    result = AutoAttack(masked, eps=0.05, steps=5, n_queries=300).run(case.x, case.y)
    assert result.success.all()


@pytest.mark.parametrize("settings", [{"norm": "L1"}, {"version": "plus"}, {"n_queries": 0}])
def test_autoattack_impossible_settings_raise_config_error(settings: dict) -> None:
    with pytest.raises(ConfigError):
        AutoAttack(nn.Linear(D, 10), **settings)


# ------------------------------------------------------------------------ Table 4.2's columns


def test_deepfool_column_counts_perturbations_over_budget_as_robust() -> None:
    case = binary_linear(DISTANCES)
    w = (case.model.weight[1] - case.model.weight[0]).detach()
    deepfool_linf = case.l2 * w.abs().max() / w.norm()  # DeepFool steps along w (L2-optimal)
    eps = 0.047  # between the DeepFool levels 0.037 / 0.056 and the exact L∞ levels 0.042 / 0.053
    assert ((deepfool_linf - eps).abs() > 0.005).all() and ((case.linf - eps).abs() > 0.005).all()
    columns = {
        "deepfool": WithinBudget(DeepFool(case.model), eps=eps),
        "pgd": PGD(case.model, eps=eps, alpha=eps / 4, steps=10, seed=0),
    }
    row = defense_report(case.model, case.x, case.y, columns)
    assert row["clean"] == 1.0
    assert row["deepfool"] == pytest.approx(float((deepfool_linf > eps).float().mean()))  # 4 of 6
    assert row["pgd"] == pytest.approx(float((case.linf > eps).float().mean()))  # 2 of 6
    assert row["pgd"] < row["deepfool"]  # an L2 attack read at an L∞ budget: a weaker column


def test_defense_report_refuses_an_attack_without_budget() -> None:
    case = binary_linear(DISTANCES)
    with pytest.raises(ConfigError, match="WithinBudget"):
        defense_report(case.model, case.x, case.y, {"deepfool": DeepFool(case.model)})


# ------------------------------------------------------------------------ transfer (Table 4.4)


def test_examples_transfer_perfectly_to_an_identical_copy(mlp_case) -> None:
    model, x, y = mlp_case
    attack = PGD(model, eps=0.06, alpha=0.015, steps=10, seed=0)
    x_adv = craft_transfer_examples(attack, x, y, batch_size=16)
    twin = copy.deepcopy(model)
    white_box = robust_accuracy(model, x, y, [PGD(model, eps=0.06, alpha=0.015, steps=10, seed=0)])
    assert accuracy_on(twin, x, x_adv, y) == accuracy_on(model, x, x_adv, y) == white_box.robust_accuracy
    assert (x_adv - x).abs().max() <= 0.06 + 1e-6


def test_transfer_from_another_model_is_weaker_than_white_box() -> None:
    case = binary_linear(DISTANCES)
    other = copy.deepcopy(case.model)
    with torch.no_grad():
        other.weight[1] += 1.5 * torch.randn(D, generator=torch.Generator().manual_seed(1))
    transfer = transfer_accuracy(PGD(other, eps=EPS, seed=0), case.model, case.x, case.y)
    exact = float((case.linf >= EPS).float().mean())  # white-box PGD is exact on a linear model
    assert exact < transfer <= 1.0


# ----------------------------------------------------------------------- loss landscape (4.2)


def test_landscape_centre_is_the_clean_loss_and_rises_along_the_gradient_sign() -> None:
    case = multiclass_linear()
    landscape = loss_landscape(case.model, case.x, case.y, span=0.02, points=9, seed=0)
    centre = 4
    assert landscape.loss.shape == (9, 9) and landscape.a[centre] == landscape.b[centre] == 0
    clean = float(F.cross_entropy(case.model(case.x), case.y).detach())
    assert landscape.loss[centre, centre] == pytest.approx(clean, rel=1e-6)
    along_gradient = landscape.loss[centre:, centre]  # a >= 0, b = 0: convex with slope ||g||_1 > 0
    assert np.all(np.diff(along_gradient) > 0)
    single = loss_landscape(case.model, case.x[:1], case.y[:1], span=0.02, points=9, seed=0)
    with torch.no_grad():
        first = float(F.cross_entropy(case.model(case.x[:1]), case.y[:1]))
    assert single.loss[centre, centre] == pytest.approx(first, rel=1e-6)


def test_landscape_is_seeded_and_batched_identically() -> None:
    case = multiclass_linear()
    first = loss_landscape(case.model, case.x, case.y, span=0.05, points=5, seed=3, batch_size=7)
    second = loss_landscape(case.model, case.x, case.y, span=0.05, points=5, seed=3)
    other_seed = loss_landscape(case.model, case.x, case.y, span=0.05, points=5, seed=4)
    np.testing.assert_allclose(first.loss, second.loss, rtol=1e-6)
    assert not np.allclose(first.loss[:, 0], other_seed.loss[:, 0])  # b moves along r


# ------------------------------------------------------------------------- gradient masking


def test_masking_checks_pass_on_a_plain_linear_model() -> None:
    case = binary_linear(DISTANCES)
    source = copy.deepcopy(case.model)
    with torch.no_grad():
        source.weight[1] += 0.5 * torch.randn(D, generator=torch.Generator().manual_seed(1))
    report = gradient_masking_checks(
        case.model, case.x, case.y, eps=EPS, eps_values=(0.01, 0.02), source_model=source, steps=10
    )
    assert report.passed, report.checks
    assert len(report.checks) == 4
    assert list(report.curve["eps"]) == [0.01, 0.02, EPS, 0.5]


def test_masking_checks_read_a_given_pgd_curve_instead_of_recomputing_it() -> None:
    case = binary_linear(DISTANCES)
    settings = dict(eps=EPS, eps_values=(0.01, 0.02), steps=10)
    computed = gradient_masking_checks(case.model, case.x, case.y, **settings)
    given = gradient_masking_checks(case.model, case.x, case.y, **settings, pgd_curve=computed.curve[::-1])
    pd.testing.assert_frame_equal(given.checks, computed.checks)
    doctored = computed.curve.assign(robust_accuracy=[0.2, 0.9, 0.1, 0.0])  # accuracy rises with eps
    assert not gradient_masking_checks(case.model, case.x, case.y, **settings, pgd_curve=doctored).passed
    with pytest.raises(ConfigError, match="lacks the budgets"):
        gradient_masking_checks(case.model, case.x, case.y, **settings, pgd_curve=computed.curve.iloc[:2])


def test_masking_checks_flag_a_model_with_vanishing_gradients() -> None:
    case = binary_linear(DISTANCES)
    masked = nn.Sequential(Quantize(), case.model)
    assert torch.equal(masked(case.x).argmax(dim=1), case.y)
    report = gradient_masking_checks(
        masked, case.x, case.y, eps=EPS, eps_values=(0.01, 0.02), source_model=case.model, steps=10
    )
    passed = dict(zip(report.checks["check"], report.checks["passed"]))
    assert not report.passed
    assert not passed["large eps breaks everything"]  # PGD cannot move: only its random start does
    assert not passed["white-box beats transfer"]  # the undefended twin's examples break it


# -------------------------------------------------------------------------------- figures


def test_figures_draw_one_panel_per_model() -> None:
    import matplotlib

    matplotlib.use("Agg")
    from advrobust.plotting.defenses import eps_curves_figure, loss_landscape_figure

    case = multiclass_linear()
    landscape = loss_landscape(case.model, case.x, case.y, span=0.05, points=5)
    figure = loss_landscape_figure({"natural": landscape, "copy": landscape})
    assert [ax.name for ax in figure.axes] == ["3d", "3d"]
    curve = gradient_masking_checks(case.model, case.x, case.y, eps_values=(0.01,), steps=2).curve
    figure = eps_curves_figure({"natural": curve, "copy": curve})
    lines = [line for line in figure.axes[0].get_lines() if len(line.get_xdata()) == len(curve) + 1]
    assert len(lines) == 2  # one curve per model, each starting at the clean accuracy (eps 0)
