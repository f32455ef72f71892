"""Chapter 5's settings and experiments (advrobust.profiles.sprout, advrobust.experiments.ch5_*):
the baselines are Chapter 4's runs, SPROUT starts from the natural model, the verdict reads the
right cells, restarts are cumulative, the timing table shows ratios, and AutoAttack is never
weaker than PGD on a SPROUT model."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from advrobust.data import load_dataset
from advrobust.defenses import Natural
from advrobust.defenses.sprout import ABLATIONS, SPROUT
from advrobust.experiments import ch5_sprout as ch5
from advrobust.experiments.ch5_timing import table_5_5
from advrobust.models import create_model
from advrobust.profiles.defenses import QUICK_NATURAL, defenses
from advrobust.profiles.sprout import EPS, EVAL_STEP, sprout
from advrobust.training import StartFrom, TrainConfig, run_directory, train
from torch import nn

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def quick():
    return sprout("quick")


def test_paper_is_section_5_3_4_1_on_chapter_4s_runs():
    paper = sprout("paper")
    assert (paper.sprout.gaussian_std, paper.sprout.mixup_a, paper.sprout.alpha) == (0.1, 0.2, 0.01)
    assert paper.sprout.label_rule == "eq_5_6" and paper.sprout.gaussian and paper.sprout.mixup
    vgg = paper.network.train
    assert (vgg.model, vgg.epochs, vgg.lr, vgg.milestones) == ("vgg16_cifar", 200, 0.01, (80, 140, 180))
    assert [network.name for network in paper.networks] == ["VGG-16", "WRN-34-10"]
    assert paper.n_eval == 10_000 and paper.restarts == (1, 3, 5, 8, 10) and max(paper.step_sweep) == 500
    assert paper.eps_grid[-1] == 0.07 and len(paper.eps_grid) == 15  # the code's 0:0.005:0.07
    assert paper.cw_l2.settings["binary_search_steps"] == 10 and paper.cw_l2.settings["steps"] == 1000
    assert paper.autoattack.settings == {"eps": EPS, "version": "standard"}
    assert paper.free_at.replays == 8


def test_quick_baselines_are_chapter_4s_runs_and_sprout_starts_from_its_natural_model(quick):
    chapter4 = defenses("quick")
    network = quick.network
    assert network.train == chapter4.train == QUICK_NATURAL and network.robust_train == chapter4.robust_train
    for name, chapter4_name in (("Adv Train", "Adv train"), ("TRADES", "TRADES")):
        ours = run_directory(network.robust_train, defense=quick.baseline(name))
        theirs = run_directory(chapter4.robust_train, defense=chapter4.defenses[chapter4_name])
        assert ours == theirs  # one checkpoint for both chapters
    assert quick.natural_start(network) == StartFrom(network.train)
    assert quick.start_from(network, "TRADES") == StartFrom(network.robust_train, chapter4.defenses["TRADES"])
    sprout_dir = run_directory(network.sprout_train, defense=quick.sprout, start_from=quick.natural_start(network))
    assert sprout_dir.name.startswith("small_vgg_cifar-cifar10-sprout-from-natural-")


def test_the_shared_quick_network_is_a_batchnorm_net_trained_with_augmentation_and_one_cycle():
    model = create_model(QUICK_NATURAL.model)
    assert any(isinstance(module, nn.BatchNorm2d) for module in model.modules())
    assert QUICK_NATURAL.augment and QUICK_NATURAL.schedule == "onecycle"
    assert QUICK_NATURAL.train_subset is not None and QUICK_NATURAL.train_subset >= 20_000


def test_quick_items_cover_every_ablation_and_the_thesis_grids(quick):
    assert set(quick.ablations) <= set(ABLATIONS) and set(sprout("paper").ablations) == set(ABLATIONS)
    assert {"GA", "Mixup", "Dirichlet", "LS", "SPROUT"} <= set(quick.ablations)
    assert quick.ablations["SPROUT"] == quick.sprout  # Figure 5.5's SPROUT is the chapter's model
    assert EPS in quick.eps_grid and quick.eps_grid[0] == 0
    assert set(quick.label_rules) == {"algorithm_9", "official_code"}
    pgd = quick.pgd(0.03, 20).build(nn.Linear(2, 2))
    assert (pgd.eps, pgd.alpha, pgd.steps) == (0.03, EVAL_STEP, 20)


class Outcomes:
    """A WhiteBox stand-in: per model, the images kept under PGD and under AutoAttack."""

    def __init__(self, pgd: dict[str, float], autoattack: dict[str, float], n: int = 200) -> None:
        self.kept = {(name, "pgd"): np.arange(n) < round(share * n) for name, share in pgd.items()}
        self.kept |= {(name, "autoattack"): np.arange(n) < round(share * n) for name, share in autoattack.items()}

    def robust_examples(self, name: str, spec) -> np.ndarray:
        return self.kept[(name, spec.name)]


def test_verdict_reads_autoattack_not_pgd(quick):
    box = Outcomes({"Adv Train": 0.40, "TRADES": 0.42, "SPROUT": 0.60}, {"Adv Train": 0.38, "TRADES": 0.40, "SPROUT": 0.10})
    answer = ch5.verdict(box, quick)
    assert answer.answer == "fails"
    lines = [c.line() for c in answer.claims]
    assert lines[0].startswith("[holds] SPROUT is more robust than Adv Train (PGD): effect +0.200")
    assert lines[1].startswith("[fails] SPROUT is more robust than Adv Train (AutoAttack): effect -0.280")
    assert lines[-1].startswith("[fails] SPROUT's PGD − AutoAttack gap")
    assert all(c.item == "Figure 5.2" for c in answer.claims)
    assert ch5.verdict(Outcomes({"Adv Train": 0.40, "TRADES": 0.42, "SPROUT": 0.60},
                                {"Adv Train": 0.38, "TRADES": 0.40, "SPROUT": 0.55}), quick).answer == "holds"


class Scale(nn.Module):
    """Logits times ``factor``: at 1e4 the softmax of a confident example is exactly one-hot in
    float32, so its cross-entropy gradient is exactly 0 (the textbook masked gradient)."""

    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor


def test_autoattack_is_never_weaker_than_pgd_on_a_trained_sprout_model(quick):
    data = load_dataset("cifar10", "train").subset(512, seed=0)
    test = load_dataset("cifar10", "test").subset(64, seed=1)
    torch.manual_seed(0)
    model = create_model("small_vgg_cifar")
    config = TrainConfig(model="small_vgg_cifar", dataset="cifar10", epochs=2, batch_size=64, optimizer="sgd",
                         lr=0.05, momentum=0.9, schedule="onecycle")
    train(model, data.x, data.y, config, CPU, defense=SPROUT(), progress=False)
    smoke = sprout("smoke")
    box = ch5.WhiteBox({"SPROUT": model.eval()}, test)
    assert box.robust("SPROUT", smoke.autoattack) <= box.robust("SPROUT", smoke.pgd(EPS, 20))
    # and strictly stronger where the cross-entropy is flat: PGD barely moves, AutoAttack does not care
    masked = ch5.WhiteBox({"flat": nn.Sequential(model, Scale(1e4)).eval()}, test)
    correct = masked.clean("flat")
    pgd = masked.robust("flat", smoke.pgd(EPS, 20))
    assert correct > 0.2 and pgd >= 0.8 * correct
    assert masked.robust("flat", smoke.autoattack) < pgd


def test_restarts_are_cumulative_per_example_worst_cases():
    test = load_dataset("cifar10", "test").subset(32, seed=2)
    torch.manual_seed(0)
    box = ch5.WhiteBox({"net": create_model("small_vgg_cifar").eval()}, test)
    smoke = sprout("smoke")
    attacks = tuple(smoke.pgd(0.002, 3, seed=seed) for seed in range(4))
    accuracy = list(box.accuracy("net", *attacks).values())
    assert accuracy == sorted(accuracy, reverse=True) and accuracy[0] == box.clean("net")
    assert accuracy[1] == box.robust("net", attacks[0])  # restart 1 is the single attack
    assert box.accuracy("net", *attacks) is box.accuracy("net", *attacks)  # run once, remembered


def test_timing_table_shows_ratios_to_natural_and_the_device():
    table = table_5_5({"Natural": 2.0, "Adv Train": 8.0, "SPROUT": 3.0}, CPU, "quick", images=256, epochs=10)
    ours = ("ratio to Natural", "ours (quick)")
    assert table.loc["Natural", ours] == 1.0 and table.loc["Adv Train", ours] == 4.0
    assert table.loc["SPROUT", ("ratio to Natural", "thesis")] == round(271.7 / 146.7, 2)
    assert any("10 epochs of 256" in column[1] and "CPU" in column[1] for column in table.columns)
    assert pd.isna(table.loc["Free Adv Train", ours])  # not timed: blank, not dropped


def test_a_run_started_from_another_is_keyed_by_it_and_starts_from_its_weights(tmp_path, monkeypatch):
    from advrobust.training import cache as cache_module

    x = torch.rand(64, 3, 32, 32)
    y = torch.randint(0, 10, (64,))
    monkeypatch.setattr(cache_module, "load_training_split", lambda *args: (x, y))
    base = TrainConfig(model="small_vgg_cifar", dataset="synthetic", epochs=1, batch_size=32, optimizer="sgd",
                       lr=0.05)
    start = StartFrom(base)
    tiny_step = TrainConfig(model="small_vgg_cifar", dataset="synthetic", epochs=1, batch_size=32, optimizer="sgd",
                            lr=1e-9, momentum=0.0)
    natural = cache_module.trained_model(base, CPU, cache_dir=tmp_path, progress=False)
    warm = cache_module.trained_model(tiny_step, CPU, cache_dir=tmp_path, progress=False, start_from=start)
    cold = cache_module.trained_model(tiny_step, CPU, cache_dir=tmp_path, progress=False)
    assert run_directory(tiny_step, tmp_path, start_from=start) != run_directory(tiny_step, tmp_path)
    linear = [name for name, _ in natural.named_parameters() if "classifier" in name][0]
    weights = {name: dict(model.named_parameters())[linear] for name, model in
               (("natural", natural), ("warm", warm), ("cold", cold))}
    torch.testing.assert_close(weights["warm"], weights["natural"], atol=1e-6, rtol=0)
    assert not torch.allclose(weights["cold"], weights["natural"])
    assert run_directory(tiny_step, tmp_path, defense=Natural(), start_from=start).name.startswith(
        "small_vgg_cifar-synthetic-natural-from-natural-")
