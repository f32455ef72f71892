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


def test_claims_read_pgd_and_autoattack_of_the_four_rows():
    table = every_row(["Natural train", "Adv train", "TRADES", "CAT", "Adv+LS"])
    claims = ch4.claims_table(table).set_index(["claim", "attack"])["holds"]
    # CAT (row 3) > TRADES (2) > Adv train (1) > Natural (0), 0.1 apart: every robustness claim holds
    assert claims.loc[("CAT is more robust than adversarial training", "PGD")]
    assert claims.loc[("adversarial training is far more robust than natural training", "AutoAttack")]
    table.loc[table["method"] == "CAT", "autoattack"] = 0.0
    claims = ch4.claims_table(table).set_index(["claim", "attack"])["holds"]
    assert not claims.loc[("CAT is more robust than TRADES", "AutoAttack")]
    assert claims.loc[("CAT is more robust than TRADES", "PGD")]
    lines = ch4.claim_lines(ch4.claims_table(table)).splitlines()
    assert len(lines) == 7 and lines[5].startswith("[does NOT hold] CAT is more robust than TRADES (AutoAttack)")


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


def test_figure_4_1_claim_compares_eps_4_with_every_other_training():
    accuracy = pd.DataFrame({"test accuracy": [1.0, 0.99, 0.87, 0.98], "training accuracy": [1.0] * 4},
                            index=pd.Index(list(toy_margin.figure_4_1_defenses()), name="training"))
    toy = ch4.ToyFigure(torch.zeros(1, 2), torch.zeros(1), torch.zeros(1, 2), torch.zeros(1), {}, accuracy)
    assert toy.holds and toy.claim().startswith("[holds]")
    close = accuracy.assign(**{"test accuracy": [1.0, 0.99, 0.95, 0.98]})
    assert not ch4.ToyFigure(toy.x, toy.y, toy.x_test, toy.y_test, {}, close).holds  # 0.95 > 0.98 - 0.05


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
