"""Chapter 4's experiments (advrobust.experiments.ch4_defenses): the tables put our numbers under the
thesis's names beside the thesis's, the claims read the right cells, and the page's modules never
import the black-box attacks."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from _attack_fixtures import binary_linear
from advrobust.attacks import PGD, CWLinf
from advrobust.data import TensorData
from advrobust.experiments import ch4_defenses as ch4
from advrobust.profiles.defenses import defenses
from advrobust.robustness import AutoAttack, WithinBudget
from advrobust.toys import margin as toy_margin
from torch import nn

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    return defenses("smoke", data_root=tmp_path_factory.mktemp("no_cifar"))  # the MNIST fallback


def every_row(methods: list[str]) -> pd.DataFrame:
    """A Table 4.2 of ours with distinct values: row i, column j holds i / 10 + j / 100."""
    values = np.arange(len(methods))[:, None] / 10 + np.arange(len(ch4.TABLE_4_2_COLUMNS))[None] / 100
    return pd.DataFrame(values, columns=list(ch4.TABLE_4_2_COLUMNS)).assign(method=methods)[
        ["method", *ch4.TABLE_4_2_COLUMNS]]


def correct(share: float, n: int = 200) -> np.ndarray:
    """The first ``share`` of ``n`` images correct: nested masks, so a higher share dominates a lower."""
    return np.arange(n) < round(share * n)


def evaluated(rows: dict[str, tuple[float, float, float]]) -> ch4.RobustnessRuns:
    """Table 4.2's runs with per-image outcomes: method -> (clean, PGD, AutoAttack) shares."""
    examples = {m: {"clean": correct(c), "pgd": correct(p), "autoattack": correct(a)} for m, (c, p, a) in rows.items()}
    return ch4.RobustnessRuns(pd.DataFrame(), examples)


def test_claims_pair_the_four_rows_over_the_same_images_under_pgd_and_autoattack():
    rows = {"Natural train": (0.9, 0.0, 0.0), "Adv train": (0.8, 0.4, 0.35), "TRADES": (0.82, 0.45, 0.4),
            "CAT": (0.85, 0.6, 0.2)}
    claims = {(c.claim, c.attack): c for c in ch4.claims(evaluated(rows))}
    assert len(claims) == 7 and all(c.item == "Table 4.2" for c in claims.values())
    assert claims[("CAT is more robust than TRADES", "PGD")].verdict == "holds"
    trades = claims[("CAT is more robust than TRADES", "AutoAttack")]
    assert trades.verdict == "fails" and trades.effect is not None and trades.effect.count == 200
    assert trades.effect.estimate == pytest.approx(-0.2) and trades.line().startswith(
        "[fails] CAT is more robust than TRADES (AutoAttack): effect -0.200")
    far = claims[("adversarial training is far more robust than natural training", "PGD")]
    assert far.margin == ch4.FAR_MORE and far.verdict == "holds"  # 0.4 ahead, by more than 0.1
    assert claims[("CAT's clean accuracy is at least adversarial training's", None)].verdict == "holds"
    rows["CAT"] = (0.8, 0.6, 0.2)  # the same clean images: a zero-width interval at 0, and "at least" holds
    assert {(c.claim, c.attack): c for c in ch4.claims(evaluated(rows))}[
        ("CAT's clean accuracy is at least adversarial training's", None)].verdict == "holds"


def test_column_names_state_the_reduced_autoattack_budgets(settings):
    names = ch4.column_names(settings.columns)
    assert names["pgd"] == "PGD3" and names["cw_restarts"] == "2 C&W3"
    assert names["autoattack"] == "AutoAttack (steps=5, n_target_classes=1, n_queries=20)"
    assert ch4.column_names(defenses("paper").columns)["autoattack"] == "AutoAttack"


def test_column_attacks_are_the_profiles_attacks_at_its_eps(settings):
    attacks = ch4.column_attacks(nn.Sequential(nn.Flatten(), nn.Linear(784, 10)), settings.columns)
    assert list(attacks) == list(ch4.TABLE_4_2_COLUMNS[1:])
    assert isinstance(attacks["deepfool"], WithinBudget) and isinstance(attacks["autoattack"], AutoAttack)
    assert type(attacks["pgd"]) is PGD and isinstance(attacks["cw_restarts"], CWLinf)
    assert all(attack.eps == settings.eps for attack in attacks.values())
    assert attacks["pgd_restarts"].restarts == settings.columns.restarts


def test_tables_put_our_rows_beside_the_thesis_under_its_names(settings):
    methods = [m.name for m in settings.methods] + list(settings.ablations)
    table = every_row(methods)
    shown = ch4.table_4_2(table, settings, "smoke")
    assert list(shown.index) == [m.name for m in settings.methods]  # no ablation row in Table 4.2
    assert shown.loc["CAT", ("PGD3", "thesis")] == 0.7554 and shown.loc["CAT", ("PGD3", "ours (smoke)")] == 0.32
    models = {name: nn.Identity() for name in methods}
    wide = ch4.wide_rows(settings, models, table, None, "cpu")  # below paper: Table 4.2's own rows
    assert list(wide.models) == [m.name for m in settings.methods] and wide.models["CAT"] is models["CAT"]
    shown = ch4.table_4_3(wide, settings, "smoke")
    ours = shown["ours (smoke)"]
    assert ours.loc["CAT (ours)", "No attack"] == 0.3 and ours.loc["Adversarial training (MMS18)", "No attack"] == 0.1
    assert ours.loc["MART (WZY19)"].isna().all()  # quoted only
    shown = ch4.table_4_6(table, settings, "smoke")
    assert list(shown.index) == ["Adv train", "Adv+LS", "Adp-Adv", "CAT"]
    assert shown.loc["Adv+LS", ("PGD3", "ours (smoke)")] == 0.42 and shown.loc["Adv+LS", ("PGD3", "thesis")] == 0.43


def test_fixed_eps_table_measures_both_splits_at_the_test_eps(settings):
    # a binary linear model: PGD at eps breaks exactly the examples within L∞ distance eps
    case = binary_linear([0.02, 0.04, 0.06, 0.08])
    data = TensorData(case.x[:, :, None, None], case.y, ("0", "1"), "linear")
    model = nn.Sequential(nn.Flatten(), case.model)
    eps = float(case.linf.sort().values[1]) * 1.05
    columns = settings.columns
    table = ch4.fixed_eps_table({0.1: model}, data, data, columns.pgd(10, eps=eps),
                                columns.autoattack.replace(eps=eps))
    assert table["split"].tolist() == ["train", "test"] and (table["test_eps"] == eps).all()
    assert table["robust_accuracy"].tolist() == [0.5, 0.5] and table["clean_accuracy"].tolist() == [1.0, 1.0]
    assert (table["autoattack"] <= table["robust_accuracy"] + 1e-9).all()


class FirstRight(nn.Module):
    """Predicts class 1 (the truth below) for the points whose first coordinate is below ``share``."""

    def __init__(self, share: float) -> None:
        super().__init__()
        self.share = share

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        right = (x[:, 0] < self.share).float()
        return torch.stack([1 - right, right], dim=1)


def test_figure_4_1_claim_compares_eps_4_with_every_other_training_point_by_point():
    names = list(toy_margin.figure_4_1_defenses())
    x_test = torch.stack([torch.arange(400) / 400, torch.zeros(400)], dim=1)
    y_test = torch.ones(400, dtype=torch.long)

    def toy(shares: list[float]) -> ch4.ToyFigure:
        accuracy = pd.DataFrame({"test accuracy": shares, "training accuracy": [1.0] * 4},
                                index=pd.Index(names, name="training"))
        models = {name: FirstRight(share) for name, share in zip(names, shares, strict=True)}
        return ch4.ToyFigure(x_test, y_test, x_test, y_test, models, accuracy)

    shares = [1.0, 0.99, 0.87, 0.98]
    shares[names.index(toy_margin.AT_BEYOND_MARGIN)] = 0.87
    claim = toy(shares).claim()
    assert claim.verdict == "holds" and claim.item == "Figure 4.1" and claim.margin == ch4.TOY_GAP
    assert claim.effect is not None and claim.effect.estimate == pytest.approx(0.98 - 0.87)  # the closest rival
    shares[names.index(toy_margin.AT_BEYOND_MARGIN)] = 0.95  # 0.98 − 0.95 < 0.05
    assert toy(shares).claim().verdict == "fails"


def test_chapter_4_pages_never_import_the_black_box_attacks():
    # the pipeline re-runs a page when a module it imports (transitively) changes
    from advrobust.pipeline.imports import imported_modules

    for chapter in ("ch04_adversarial_training", "ch04_cat"):
        files = imported_modules(REPO / "chapters" / f"{chapter}.py", REPO / "lib" / "advrobust")
        assert any(f.name == "ch4_defenses.py" for f in files), chapter
        assert not [f for f in files if "blackbox" in f.parts], chapter


def test_cat_eps_figure_draws_the_mean_per_epoch_under_eps_max_and_the_final_histogram():
    from advrobust.plotting.defenses import cat_eps_figure
    from matplotlib import pyplot as plt

    figure = cat_eps_figure([0.001, 0.002, 0.004], np.array([0.0, 0.0, 0.005, 0.01]), eps_max=8 / 255)
    left, right = figure.axes
    mean, cap = left.get_lines()
    assert list(mean.get_ydata()) == [0.001, 0.002, 0.004] and list(cap.get_ydata()) == [8 / 255] * 2
    assert sum(patch.get_height() for patch in right.patches) == 4  # every example in the histogram
    plt.close(figure)
