"""Chapter 5's evaluation tools: the invariance tests (Table 5.4), the cosine similarity of input
gradients (Table 5.9), robust accuracy against an L2 budget from one C&W-L2 run (Figure 5.3), the
five-axis score of Figure 5.1, the transcribed thesis numbers, and the SPROUT figures.

Analytic anchors: torchvision's PIL path for the transforms; on a two-class linear model the CE
input gradient is a multiple of w_1 - w_0 whose sign depends only on the label, so the cosine
between two such models is the cosine of their weight differences for every example; and the
closed-form minimal L2 distances of ``_attack_fixtures.binary_linear``.
"""
from __future__ import annotations

import copy
import math
from itertools import combinations

import matplotlib
import numpy as np
import pandas as pd
import pytest
import torch
import torchvision.transforms.functional as PIL_TF
import torchvision.transforms.v2.functional as TF
from _attack_fixtures import D, _linear, binary_linear, multiclass_linear
from advrobust.attacks import PGD, AttackResult, CarliniWagnerL2
from advrobust.errors import ConfigError
from advrobust.experiments.ch5_scores import AXES, MEASURED, radar_scores
from advrobust.robustness import (
    InvarianceTransforms,
    accuracy_at_budgets,
    budget_curve,
    channel_mean_gray,
    gradient_cosine,
    gradient_similarity_table,
    invariance_accuracy,
    minimal_distances,
    pair_name,
)
from advrobust.tables import thesis_table
from torch import Tensor, nn

matplotlib.use("Agg")

METHODS = {"Natural", "Adv Train", "TRADES", "SPROUT", "Free Adv Train"}
DISTANCES = [0.05, 0.1, 0.15, 0.2, 0.25, 0.3] * 2


def quantised_images(n: int = 4, size: int = 16, seed: int = 0) -> Tensor:
    """(n, 3, size, size) random images on the 1/255 grid, so PIL holds them exactly."""
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 3, size, size), generator=g).float() / 255


def through_pil(x: Tensor, transform_name: str, value: float) -> Tensor:
    """The transform applied one image at a time by torchvision's PIL functional path."""
    fn = getattr(PIL_TF, transform_name)
    images = [PIL_TF.pil_to_tensor(fn(PIL_TF.to_pil_image(image), value)) for image in x]
    return torch.stack(images).float() / 255


class ChannelArgmax(nn.Module):
    """Predicts the channel (of three) with the largest mean: gray images all go to class 0."""

    def forward(self, x: Tensor) -> Tensor:
        return x.mean(dim=(2, 3))


class Quantize(nn.Module):
    """8-bit input quantisation: zero input gradient everywhere."""

    def forward(self, x: Tensor) -> Tensor:
        return torch.round(x * 255) / 255


# ------------------------------------------------------------------------ invariance (Table 5.4)


def test_invariance_settings_are_the_thesis_s_and_name_table_5_4_s_columns() -> None:
    transforms = InvarianceTransforms()
    assert (transforms.rotation, transforms.brightness, transforms.contrast) == (10.0, 1.5, 2.0)
    assert list(transforms) == list(thesis_table("table_5_4").columns[1:])
    assert len(transforms) == 4 and transforms == InvarianceTransforms()


@pytest.mark.parametrize(
    ("name", "pil_name", "value"),
    [("rotation", "rotate", 10.0), ("brightness", "adjust_brightness", 1.5), ("contrast", "adjust_contrast", 2.0)],
)
def test_transforms_equal_torchvision_s_pil_path_up_to_quantisation(name: str, pil_name: str, value: float) -> None:
    x = quantised_images()
    before = x.clone()
    out = InvarianceTransforms()[name](x)
    assert torch.equal(x, before)  # input not mutated
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    assert (out - through_pil(x, pil_name, value)).abs().max() <= 1 / 255
    assert not torch.allclose(out, x)  # the transform does something


def test_gray_is_the_plain_channel_mean_not_torchvision_s_luma() -> None:
    x = quantised_images()
    before = x.clone()
    gray = InvarianceTransforms()["gray"](x)
    assert torch.equal(x, before)
    assert gray.shape == x.shape and gray.min() >= 0 and gray.max() <= 1
    for channel in range(3):
        torch.testing.assert_close(gray[:, channel], (x[:, 0] + x[:, 1] + x[:, 2]) / 3)
    luma = TF.rgb_to_grayscale(x, num_output_channels=3)
    assert (gray - luma).abs().max() > 0.05  # the departure from torchvision is real
    assert torch.equal(channel_mean_gray(x), gray)


def test_invariance_accuracy_is_batched_and_matches_the_analytic_answers() -> None:
    g = torch.Generator().manual_seed(0)
    levels = 0.3 + 0.3 * torch.rand(10, 3, generator=g)  # constant channels in [0.3, 0.6]: no clipping
    x = levels[:, :, None, None].expand(10, 3, 8, 8).clone()
    y = levels.argmax(dim=1)
    y[:3] = (y[:3] + 1) % 3  # three wrong labels: clean accuracy 0.7
    model = ChannelArgmax().train()
    accuracy = invariance_accuracy(model, x, y, batch_size=3)
    assert model.training  # mode restored
    clean = float((model(x).argmax(dim=1) == y).float().mean())
    assert clean == pytest.approx(0.7)
    # rotation zeroes the same corner pixels in every channel, brightness scales them and contrast
    # moves them away from one shared mean: the brightest channel stays the brightest
    for name in ("rotation", "brightness", "contrast"):
        assert accuracy[name] == pytest.approx(clean)
    assert accuracy["gray"] == pytest.approx(float((y == 0).float().mean()))
    direct = {name: float((model(t(x)).argmax(dim=1) == y).float().mean()) for name, t in InvarianceTransforms().items()}
    assert accuracy == pytest.approx(direct)
    custom = invariance_accuracy(model, x, y, {"identity": lambda z: z})
    assert custom == pytest.approx({"identity": clean})


# ------------------------------------------------------------- gradient similarity (Table 5.9)


def test_a_model_against_itself_has_cosine_one() -> None:
    case = multiclass_linear()
    assert gradient_cosine(case.model, case.model, case.x, case.y) == pytest.approx(1.0, abs=1e-9)
    twin = copy.deepcopy(case.model)
    assert gradient_cosine(case.model, twin, case.x, case.y, batch_size=3) == pytest.approx(1.0, abs=1e-9)


def test_a_model_with_the_opposite_gradient_has_cosine_minus_one() -> None:
    case = binary_linear(DISTANCES)
    negated = _linear(-case.model.weight.detach(), -case.model.bias.detach())
    assert gradient_cosine(case.model, negated, case.x, case.y) == pytest.approx(-1.0, abs=1e-9)


def test_two_linear_models_have_the_cosine_of_their_weight_differences() -> None:
    g = torch.Generator().manual_seed(3)
    weights = [torch.randn(2, D, generator=g) for _ in range(2)]
    models = [_linear(w, torch.randn(2, generator=g)) for w in weights]
    x = torch.rand(9, D, generator=g)
    y = torch.randint(0, 2, (9,), generator=g)
    u, v = (w[1] - w[0] for w in weights)
    expected = float(u @ v / (u.norm() * v.norm()))
    assert abs(expected) > 0.05
    assert gradient_cosine(models[0], models[1], x, y, batch_size=4) == pytest.approx(expected, abs=1e-6)


def test_similarity_table_has_every_pair_once_and_leaves_inputs_and_modes_alone() -> None:
    case = multiclass_linear()
    g = torch.Generator().manual_seed(1)
    models = {name: _linear(torch.randn(10, D, generator=g), torch.zeros(10)) for name in ("Dirichlet LS", "Mixup", "GA")}
    models["GA"].train()
    x, y = case.x.clone(), case.y.clone()
    table = gradient_similarity_table(models, x, y, batch_size=3)
    assert torch.equal(x, case.x) and torch.equal(y, case.y)
    assert models["GA"].training and all(p.grad is None for m in models.values() for p in m.parameters())
    assert list(table["pair"]) == list(thesis_table("table_5_9")["pair"])
    assert list(table["pair"]) == [pair_name(a, b) for a, b in combinations(models, 2)]
    assert (table["n"] == len(y)).all() and table["cosine"].abs().le(1).all()
    for row in table.itertuples():
        a, b = row.pair.split(" / ")
        assert row.cosine == pytest.approx(gradient_cosine(models[a], models[b], x, y), abs=1e-9)


def test_examples_with_a_zero_gradient_are_left_out() -> None:
    case = multiclass_linear()
    masked = nn.Sequential(Quantize(), case.model)  # zero input gradient everywhere
    table = gradient_similarity_table({"plain": case.model, "masked": masked}, case.x, case.y)
    assert table["n"].tolist() == [0] and math.isnan(table["cosine"].iloc[0])
    with pytest.raises(ConfigError):
        gradient_similarity_table({"alone": case.model}, case.x, case.y)


# ------------------------------------------------------------------ budget curve (Figure 5.3)


def hand_made_result() -> AttackResult:
    """Six examples: correct and broken at 0.1 / 0.3, correct and failed, misclassified (the
    attack "succeeding" there or not), and correct and broken at 0.2."""
    success = torch.tensor([True, True, False, True, False, True])
    correct = torch.tensor([True, True, True, False, False, True])
    l2 = torch.tensor([0.1, 0.3, 0.0, 0.05, 0.0, 0.2])
    return AttackResult(
        x_adv=torch.zeros(6, 2), success=success, l2=l2, linf=l2 / 2,
        queries=torch.zeros(6, dtype=torch.long), original_correct=correct,
    )


def test_minimal_distances_and_the_curve_of_a_hand_made_result() -> None:
    result = hand_made_result()
    distances = minimal_distances(result)
    assert distances.dtype == torch.float64
    assert distances.tolist() == pytest.approx([0.1, 0.3, math.inf, 0.0, 0.0, 0.2])
    assert minimal_distances(result, "linf").tolist() == pytest.approx([0.05, 0.15, math.inf, 0.0, 0.0, 0.1])
    curve = accuracy_at_budgets(distances, [0.25, 0.0, 0.15, 0.5, 0.05, math.inf])
    assert list(curve.columns) == ["budget", "robust_accuracy"]
    assert curve["budget"].tolist() == [0.0, 0.05, 0.15, 0.25, 0.5, math.inf]
    assert curve["robust_accuracy"].tolist() == pytest.approx([4 / 6, 4 / 6, 3 / 6, 2 / 6, 1 / 6, 1 / 6])
    with pytest.raises(ConfigError):
        accuracy_at_budgets(distances, [-0.1])


def test_budget_curve_of_cw_l2_on_a_linear_model_reads_the_closed_form_distances() -> None:
    case = binary_linear(DISTANCES)
    y = case.y.clone()
    y[:2] = 1 - y[:2]  # two clean errors: distance 0
    attack = CarliniWagnerL2(case.model, steps=300, binary_search_steps=6, initial_const=1.0, lr=0.01)
    budgets = [0.0, 0.075, 0.125, 0.175, 0.225, 0.275, 0.4, math.inf]
    result = budget_curve(attack, case.x, y, budgets, batch_size=5)
    found = result.distances[2:]
    assert torch.equal(result.distances[:2], torch.zeros(2, dtype=torch.float64))
    assert (found >= case.l2[2:].double() * (1 - 1e-4)).all()  # nothing below the true minimum
    assert (found <= case.l2[2:].double() * 1.02).all()  # and C&W gets within 2% of it
    accuracy = result.curve["robust_accuracy"]
    assert accuracy.is_monotonic_decreasing
    assert accuracy.iloc[0] == pytest.approx(10 / 12)  # r = 0: the clean accuracy
    assert accuracy.iloc[-1] == 0.0  # r = inf: the share the attack failed on
    exact = [float((case.l2[2:] > r).sum()) / 12 for r in budgets]
    assert accuracy.tolist() == pytest.approx(exact)


def test_budget_curve_counts_attack_failures_as_robust_at_every_budget() -> None:
    case = binary_linear(DISTANCES)
    weak = CarliniWagnerL2(case.model, steps=20, binary_search_steps=1, initial_const=1e-3)
    result = budget_curve(weak, case.x, case.y, [0.0, 1.0, math.inf])
    failed = float(result.distances.isinf().double().mean())
    assert failed > 0.5  # a tiny c barely moves: most examples survive
    assert result.curve["robust_accuracy"].tolist()[-1] == pytest.approx(failed)
    assert result.curve["robust_accuracy"].tolist()[0] == 1.0
    with pytest.raises(ConfigError, match="minimum-norm"):
        budget_curve(PGD(case.model, eps=0.1), case.x, case.y, [0.1])


# ------------------------------------------------------------------- Figure 5.1's scores


def test_radar_scores_reproduce_figure_5_1_from_table_5_6() -> None:
    scores = radar_scores(thesis_table("table_5_6")).set_index("method")
    assert list(scores.columns) == [*AXES, "score"]
    assert scores["score"].round(4).to_dict() == {"Natural": 0.6718, "Adv Train": 0.6941, "TRADES": 0.7107, "SPROUT": 0.8798}
    assert round(scores.loc["Adv Train", "score"], 3) == 0.694
    printed = thesis_table("figure_5_1").set_index("method")["score"]
    assert printed["Adv Train"] == 0.69  # the thesis's figure prints 0.6900: kept as printed
    assert (printed.drop("Adv Train") == scores["score"].round(4).drop("Adv Train")).all()
    assert (scores[list(AXES)].max() == 1).all() and (scores[list(AXES)] >= 0).all().all()
    assert scores.loc["Natural", "scalability"] == 1 and scores.loc["SPROUT", "linf"] == 1


def test_radar_scores_keep_the_row_order_and_refuse_incomplete_tables() -> None:
    table = thesis_table("table_5_6").iloc[::-1]
    assert list(radar_scores(table)["method"]) == list(table["method"])
    with pytest.raises(ConfigError, match="seconds"):
        radar_scores(table.drop(columns="seconds"))


# ------------------------------------------------------------------- transcribed numbers


@pytest.mark.parametrize(
    ("name", "columns"),
    [
        ("table_5_2", ["method", "vgg16", "wrn"]),
        ("table_5_3", ["method", "eps", "accuracy"]),
        ("table_5_4", ["method", "rotation", "brightness", "contrast", "gray"]),
        ("table_5_5", ["method", "vgg16", "wrn", "note"]),
        ("table_5_6", ["method", *MEASURED]),
        ("table_5_7", ["method", "restarts", "accuracy"]),
        ("table_5_8", ["method", "eps", "accuracy"]),
        ("table_5_9", ["pair", "cosine"]),
        ("figure_5_1", ["method", "score"]),
    ],
)
def test_chapter_5_tables_load_with_their_columns(name: str, columns: list[str]) -> None:
    table = thesis_table(name)
    assert list(table.columns) == columns
    if "method" in table:
        assert set(table["method"]) <= METHODS
    fractions = table.drop(columns=[c for c in ("method", "pair", "eps", "restarts", "note", "seconds") if c in table])
    if name != "table_5_5":  # seconds
        assert ((fractions >= 0) & (fractions <= 1)).all().all()


def test_chapter_5_tables_agree_where_the_thesis_repeats_a_number() -> None:
    t56 = thesis_table("table_5_6").set_index("method")
    t55 = thesis_table("table_5_5").set_index("method")
    t54 = thesis_table("table_5_4").set_index("method")
    assert (t56["seconds"] == t55.loc[t56.index, "vgg16"]).all()
    # Table 5.6 is labelled VGG-16 but its contrast column is Table 5.4's (Wide ResNet) column
    assert (t56["contrast"] == t54.loc[t56.index, "contrast"]).all()
    restarts = thesis_table("table_5_7").groupby("method", sort=False)["restarts"].apply(list)
    assert restarts.to_dict() == {method: [1, 3, 5, 8, 10] for method in ("Adv Train", "TRADES", "SPROUT")}
    for name in ("table_5_3", "table_5_8"):
        assert sorted(thesis_table(name)["eps"].unique()) == [0.0, 0.005, 0.01, 0.015, 0.02]


# ---------------------------------------------------------------------------- figures


def test_radar_figure_draws_one_panel_per_method_with_ours_and_the_thesis_s() -> None:
    from advrobust.plotting.sprout import radar_figure

    thesis = radar_scores(thesis_table("table_5_6")).assign(
        score=thesis_table("figure_5_1")["score"].to_numpy()
    )
    ours = radar_scores(thesis_table("table_5_6").assign(linf=[0.01, 0.4, 0.45, 0.5]))
    figure = radar_figure(ours, thesis)
    assert [ax.name for ax in figure.axes] == ["polar"] * 4
    assert [len(ax.get_lines()) for ax in figure.axes] == [2, 2, 2, 2]
    assert "thesis 0.6900" in figure.axes[1].get_title() and "Adv Train" in figure.axes[1].get_title()
    alone = radar_figure(ours.iloc[:2])
    assert [len(ax.get_lines()) for ax in alone.axes] == [1, 1]
    assert "thesis" not in alone.axes[0].get_title()


def test_beta_matrix_ablation_and_curve_figures() -> None:
    from advrobust.plotting.sprout import (
        ablation_figure,
        accuracy_curves_figure,
        beta_matrix_figure,
    )

    names = ["airplane", "auto", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    figure = beta_matrix_figure(np.linspace(0.5, 1.5, 10), names)
    assert len(figure.axes) == 2  # the matrix and its colour bar
    assert [t.get_text() for t in figure.axes[0].get_xticklabels()] == names
    variants = ["LS", "GA", "Mixup", "Dirichlet", "SPROUT"]
    table = pd.DataFrame(
        [{"variant": v, "eps": e, "robust_accuracy": 0.1 * i + e} for i, v in enumerate(variants) for e in (0.01, 0.03)]
    )
    figure = ablation_figure(table)
    assert len(figure.axes[0].containers) == 2  # one bar group per eps
    assert sum(len(c) for c in figure.axes[0].containers) == 10
    assert [t.get_text() for t in figure.axes[0].get_xticklabels()] == variants
    curve = pd.DataFrame({"steps": [10, 100, 500], "robust_accuracy": [0.5, 0.45, 0.44]})
    figure = accuracy_curves_figure({"Adv Train": curve, "TRADES": curve, "SPROUT": curve}, "steps", "PGD steps", "Fig 5.6a")
    assert len(figure.axes) == 1 and len(figure.axes[0].get_lines()) == 3
    assert figure.axes[0].get_xlabel() == "PGD steps" and figure.axes[0].get_title() == "Fig 5.6a"
