"""Profiles map to settings; thesis tables are transcribed data; ours sit beside the thesis's."""
import math

import pandas as pd
import pytest
import torch
from advrobust.attacks import CarliniWagnerL2, DeepFool
from advrobust.errors import ConfigError
from advrobust.profiles import PROFILES
from advrobust.profiles.whitebox import whitebox
from advrobust.registry import available
from advrobust.robustness.accuracy import correctly_classified, one_per_class, top1
from advrobust.tables import available_tables, beside_thesis, thesis_table


@pytest.mark.parametrize("profile", PROFILES)
def test_every_profile_builds_valid_attacks(profile):
    settings = whitebox(profile)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10))
    for norm, eps_values in (("Linf", settings.eps_linf), ("L2", settings.eps_l2)):
        for spec_at in settings.curve_attacks(norm).values():
            for eps in eps_values:
                spec = spec_at(eps)
                assert spec.name in available("attack")
                attack = spec.build(model)
                assert attack.eps == eps and attack.threat.norm == norm.lower()
    assert isinstance(settings.cw.build(model), CarliniWagnerL2)
    assert isinstance(settings.deepfool.build(model), DeepFool)
    for spec in settings.example_attacks().values():
        assert spec.build(model).eps == 0.3
    assert settings.train.model in available("model") and settings.train.dataset in available("dataset")


def test_pgd_follows_madrys_step_rule_and_cw_linf_runs_the_same_iterations():
    settings = whitebox("quick")
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10))
    pgd = settings.pgd(0.3).build(model)
    assert (pgd.steps, pgd.alpha, pgd.restarts, pgd.loss) == (40, 2.5 * 0.3 / 40, 1, "ce")
    cw = settings.cw_linf(0.3).build(model)
    assert (cw.steps, cw.alpha, cw.loss) == (40, pgd.alpha, "cw")
    assert settings.fgsm(0.1).build(model).steps == 1


def test_paper_runs_cw_with_carlini_and_wagners_own_defaults():
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10))
    ours, defaults = whitebox("paper").cw.build(model), CarliniWagnerL2(model)
    for setting in ("kappa", "initial_const", "binary_search_steps", "steps", "lr", "abort_early"):
        assert getattr(ours, setting) == getattr(defaults, setting), setting


def test_profiles_grow_in_scale():
    smoke, quick, paper = (whitebox(p) for p in ("smoke", "quick", "paper"))
    assert smoke.n_attack < quick.n_attack <= paper.n_attack == 100  # the thesis attacks 100 examples
    assert smoke.train.epochs <= quick.train.epochs < paper.train.epochs
    assert 0.3 in quick.eps_linf and 1.5 in quick.eps_l2  # MNIST's budget and Table 2.2's threshold


def test_unknown_profile_is_one_line_config_error():
    with pytest.raises(ConfigError, match="unknown profile 'huge'; available: smoke, quick, paper"):
        whitebox("huge")
    with pytest.raises(ConfigError, match="unknown norm"):
        whitebox("smoke").curve_attacks("L1")


def test_thesis_table_2_2_transcription():
    table = thesis_table("table_2_2")
    assert len(table) == 39  # 3 datasets x (4 attacks x 3 budgets + C&W)
    cw = table.query("dataset == 'MNIST' and attack == 'C&W (white-box)'").iloc[0]
    assert (cw.avg_l2, cw.success_rate, cw.sr_threshold) == (0.88, 0.99, 1.5)
    sign_opt = table.query("dataset == 'CIFAR-10' and attack == 'Sign-OPT attack' and queries == 12000").iloc[0]
    assert (sign_opt.avg_l2, sign_opt.success_rate) == (0.13, 0.95)
    assert "table_2_1" in available_tables()
    with pytest.raises(ConfigError, match="unknown thesis table"):
        thesis_table("table_9_9")


def test_beside_thesis_keeps_every_row_and_labels_the_profile():
    thesis = pd.DataFrame({"attack": ["A", "B"], "l2": [1.0, 2.0]})
    ours = pd.DataFrame({"attack": ["B", "C"], "l2": [2.5, 3.0]})
    table = beside_thesis(ours, thesis, on=["attack"], profile="quick")
    assert list(table.columns) == [("l2", "thesis"), ("l2", "ours (quick)")]
    assert table.loc["B", ("l2", "thesis")] == 2.0 and table.loc["B", ("l2", "ours (quick)")] == 2.5
    assert math.isnan(table.loc["A", ("l2", "ours (quick)")]) and math.isnan(table.loc["C", ("l2", "thesis")])
    with pytest.raises(ConfigError, match="columns missing"):
        beside_thesis(ours, thesis, on=["attack"], profile="quick", values=["linf"])


def test_selection_helpers():
    model = torch.nn.Linear(3, 3, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.eye(3))
    x = torch.tensor([[1.0, 0, 0], [0, 2.0, 0], [0, 0, 1.0], [3.0, 0, 0], [0, 1.0, 0]])
    y = torch.tensor([0, 1, 0, 0, 1])  # example 2 is misclassified
    correct = correctly_classified(model, x, y)
    assert correct.tolist() == [0, 1, 3, 4]
    assert one_per_class(y, correct, 5).tolist() == [0, 1]
    labels, confidence = top1(model, x)
    assert labels.tolist() == [0, 1, 2, 0, 1]
    assert torch.allclose(confidence[1], torch.softmax(torch.tensor([0.0, 2.0, 0.0]), 0)[1])
