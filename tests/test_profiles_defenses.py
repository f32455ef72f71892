"""Chapter 4's settings: the thesis's at `paper` (§4.2.4.1), CIFAR-10 or the MNIST fallback below."""
from __future__ import annotations

import pytest
import torch
from advrobust.attacks import PGD, AttackSpec, CWLinf, DeepFool
from advrobust.defenses import CAT, PGDAT, TRADES
from advrobust.profiles.defenses import defenses
from advrobust.robustness import AutoAttack
from advrobust.tables import thesis_table


def test_paper_uses_the_settings_of_section_4_2_4_1(tmp_path):
    settings = defenses("paper", data_root=tmp_path)
    cat = settings.defenses["CAT"]
    assert isinstance(cat, CAT)
    assert (cat.eta, cat.eps_max, cat.c, cat.beta, cat.kappa, cat.steps) == (0.005, 8 / 255, 10.0, 1.0, 10.0, 10)
    adv = settings.defenses["Adv train"]
    assert isinstance(adv, PGDAT) and (adv.eps, adv.steps) == (8 / 255, 10)
    assert isinstance(settings.defenses["TRADES"], TRADES) and settings.defenses["TRADES"].steps == 10
    for config, lr in ((settings.train, 0.01), (settings.wide_train, 0.1)):
        assert (config.optimizer, config.lr, config.momentum, config.weight_decay) == ("sgd", lr, 0.9, 5e-4)
        assert (config.schedule, config.milestones, config.gamma) == ("multistep", (80, 140, 180), 0.1)
    assert (settings.train.model, settings.wide_train.model) == ("vgg16_cifar", "wrn34_10")
    columns = settings.columns
    assert (columns.pgd_steps, columns.restarts, columns.restart_steps) == (100, 20, 1000)
    assert columns.pgd(100).settings["alpha"] == pytest.approx(columns.eps / 5)  # "step size eps/5"
    assert columns.autoattack == AttackSpec(AutoAttack, eps=8 / 255, version="standard")  # standard AutoAttack
    assert settings.fixed_eps_train == (0.01, 0.02, 0.03) and settings.fixed_eps_test == 0.01


@pytest.mark.parametrize("profile", ["smoke", "quick"])
def test_without_cifar10_the_small_profiles_fall_back_to_mnist_at_eps_0_3(profile, tmp_path):
    settings = defenses(profile, data_root=tmp_path)  # an empty directory: no CIFAR-10
    assert settings.dataset == "mnist" and settings.eps == 0.3 and settings.train.model == "cw_mnist"
    assert settings.defenses["Adv train"].eps == 0.3 and settings.defenses["CAT"].eps_max == 0.3
    assert "MNIST" in settings.note


def test_table_4_1_runs_plain_adversarial_training_at_each_fixed_eps(tmp_path):
    settings = defenses("paper", data_root=tmp_path)
    rows = settings.fixed_eps_defenses()
    assert list(rows) == [0.01, 0.02, 0.03]
    assert all(isinstance(d, PGDAT) and d.eps == eps and d.steps == 10 for eps, d in rows.items())


@pytest.mark.parametrize("profile", ["smoke", "quick", "paper"])
def test_every_column_is_an_attack_at_the_threat_models_eps(profile, tmp_path):
    settings = defenses(profile, data_root=tmp_path)
    columns = settings.columns
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10))
    pgd, cw = columns.pgd(columns.pgd_steps).build(model), columns.cw(columns.restart_steps, columns.restarts).build(model)
    assert isinstance(pgd, PGD) and not isinstance(pgd, CWLinf) and isinstance(cw, CWLinf)
    assert pgd.eps == cw.eps == settings.eps and cw.restarts == columns.restarts and cw.alpha == settings.eps / 5
    deepfool = columns.deepfool.build(model)
    assert isinstance(deepfool, DeepFool) and deepfool.norm == "linf"
    autoattack = columns.autoattack.build(model)
    assert isinstance(autoattack, AutoAttack) and autoattack.eps == settings.eps
    assert columns.pgd(5, eps=0.01).settings["alpha"] == pytest.approx(0.01 / 5)


def test_rows_carry_the_names_the_thesis_gives_them(tmp_path):
    settings = defenses("paper", data_root=tmp_path)
    assert [m.name for m in settings.methods] == list(thesis_table("table_4_2")["method"])
    assert {m.wide_name for m in settings.methods} <= set(thesis_table("table_4_3")["method"])
    assert set(settings.ablations) <= set(thesis_table("table_4_6")["method"])
    assert settings.defenses["CAT"] is settings.methods[-1].defense
    assert (settings.network, settings.wide_network) == ("VGG-16", "WRN-34-10")
    assert defenses("smoke", data_root=tmp_path).network == "C&W MNIST CNN"
