"""Chapter 6's settings and experiments (advrobust.profiles.masking, advrobust.experiments.ch6_masking):
quick reuses the shared natural and AT runs, the claims read the right cells, differences within
the seed spread are "inconclusive", AutoAttack is never weaker than PGD on a RobMask model, and
both pages run at smoke."""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from advrobust.data import load_dataset
from advrobust.defenses.robmask import RobMask
from advrobust.errors import ConfigError
from advrobust.experiments import ch6_masking as ch6
from advrobust.experiments.ch5_sprout import WhiteBox
from advrobust.models import create_model
from advrobust.profiles.defenses import QUICK_NATURAL, QUICK_ROBUST, defenses
from advrobust.profiles.masking import EPS, masking
from advrobust.training import TrainConfig, run_directory, train

CPU = torch.device("cpu")
ROOT = Path(__file__).resolve().parents[1]


def test_quick_reuses_the_shared_natural_and_at_runs():
    quick, chapter4 = masking("quick"), defenses("quick")
    assert quick.natural == QUICK_NATURAL and quick.robust == QUICK_ROBUST == chapter4.robust_train
    assert run_directory(quick.natural) == run_directory(chapter4.train)
    at = chapter4.defenses["Adv train"]
    assert run_directory(quick.robust, defense=quick.at_defense) == run_directory(chapter4.robust_train, defense=at)
    assert quick.finetune.trainable == "norm" and quick.finetune.epochs == 2
    assert quick.seeds == (0, 1) and quick.datasets == ("cifar10",) and 100 <= quick.n_eval <= 200
    assert quick.advprop.steps == 3 and quick.robmask.steps == 3 and quick.robmask.eps_max == EPS
    assert quick.run("RobMask", QUICK_NATURAL.model, "cifar10", 2, 1).norm_layer == "robmask"
    assert quick.run("AdvProp", QUICK_NATURAL.model, "cifar10", 2, 0).norm_layer == "dual_bn"
    start = run_directory(quick.finetune, defense=quick.at_defense, start_from=quick.natural_start())
    assert "-from-natural-" in start.name


def test_table_6_5_compares_three_methods_trained_alike():
    quick = masking("quick")
    at_run = quick.baseline_at_run()
    for column in ("AdvProp", "RobMask"):  # the same run but for the norm layer
        assert replace(quick.run(column, at_run.model, "cifar10", at_run.epochs, at_run.seed), norm_layer="bn") == at_run
    assert at_run.train_subset == 10_000 and at_run.epochs == 2
    at, advprop = quick.baseline_at, quick.advprop  # the same attack: PGD-3, step ε/5, random start
    assert (at.eps, at.steps) == (advprop.eps, advprop.steps) and at.random_start and advprop.random_start
    assert at.alpha == pytest.approx(advprop.eps * advprop.step_fraction, rel=1e-12)
    paper = masking("paper")  # at paper Table 6.5's AT is §6.2's AT model
    assert run_directory(paper.baseline_at_run(), defense=paper.baseline_at) == \
        run_directory(paper.robust, defense=paper.at_defense)


def test_autoattack_levels_of_table_6_5():
    paper, quick = masking("paper"), masking("quick")
    assert [paper.runs_autoattack(e) for e in paper.eps_levels] == [False, True, True, True, True]
    assert [quick.runs_autoattack(e) for e in quick.eps_levels] == [False, False, False, False, True]
    with pytest.raises(ConfigError, match="autoattack_levels"):
        replace(quick, autoattack_levels=(3 / 255,))


def test_paper_is_section_6_4():
    paper = masking("paper")
    assert paper.natural.model == "resnet18_cifar" and paper.natural.schedule == "cosine"
    assert (paper.natural.lr, paper.natural.momentum, paper.natural.weight_decay) == (0.1, 0.9, 5e-4)
    assert paper.epochs == (20, 100) and paper.datasets == ("cifar10", "cifar100")
    assert [a for a, _ in paper.architectures] == ["ResNet-18", "DenseNet-121", "Preact-18", "ResNeXt-29"]
    assert paper.advprop.steps == 7 and abs(paper.advprop.step_fraction - 0.2) < 1e-12
    assert paper.finetune.epochs == 100 and paper.pgd_steps == 100 and paper.n_eval == 10_000


def kept(share: float, n: int = 200) -> np.ndarray:
    """The first ``share`` of ``n`` test images: nested masks, so a higher share dominates a lower."""
    return np.arange(n) < round(share * n)


def table_6_1_examples(standard=(0.9, 0.0), standard_ft=(0.6, 0.2), adv=(0.7, 0.4), adv_ft=(0.85, 0.1)):
    rows = {ch6.STANDARD: standard, ch6.STANDARD_FT: standard_ft, ch6.ADV: adv, ch6.ADV_FT: adv_ft}
    return {name: {"clean": kept(clean), "robust": kept(robust)} for name, (clean, robust) in rows.items()}


def interpolation_rows(clean_at=(0.7, 0.75, 0.8), robust_at=(0.4, 0.3, 0.1)) -> ch6.Interpolation:
    block_at, block_st = ch6.BLOCKS[0][0], ch6.BLOCKS[1][0]
    rows = [(block_at, p, c, r) for p, c, r in zip((1.0, 0.5, 0.0), clean_at, robust_at, strict=True)]
    rows += [(block_st, p, c, r) for p, c, r in zip((1.0, 0.5, 0.0), (0.9, 0.7, 0.6), (0.0, 0.1, 0.2), strict=True)]
    table = pd.DataFrame(rows, columns=["block", "p", "clean", "robust"])
    return ch6.Interpolation(table, {(b, p): {"clean": kept(c), "robust": kept(r)} for b, p, c, r in rows})


def test_masking_claims_pair_the_test_images():
    claims = [*ch6.finetune_claims(table_6_1_examples()), *ch6.monotone_claims(interpolation_rows())]
    assert all(c.verdict == "holds" for c in claims), [c.line() for c in claims]
    assert [c.item for c in claims] == ["Table 6.1"] * 2 + ["Table 6.2"] * 4
    bad = ch6.finetune_claims(table_6_1_examples(adv_ft=(0.65, 0.1)))
    assert bad[1].verdict == "fails" and "clean: after − before" in bad[1].measured  # clean fell: 0.70 → 0.65
    status = {c.claim: c.verdict for c in ch6.monotone_claims(interpolation_rows(clean_at=(0.7, 0.8, 0.75)))}
    assert status[f"Table 6.2 ({ch6.BLOCKS[0][0]}): clean accuracy is monotone in p"] == "fails"  # 0.8 → 0.75
    assert status[f"Table 6.2 ({ch6.BLOCKS[0][0]}): robust accuracy is monotone in p"] == "holds"
    # one image against the trend: no reversal beyond the tolerance shown, nor none shown either
    tolerant = ch6.monotone_claims(interpolation_rows(clean_at=(0.7, 0.8, 0.795)), tolerance=0.01)
    assert [c.verdict for c in tolerant] == ["inconclusive", "holds", "holds", "holds"], [c.line() for c in tolerant]
    assert tolerant[0].effect is not None and tolerant[0].effect.estimate == pytest.approx(-0.005)


def test_gamma_claims_resample_the_channels():
    first, second = two_norms()  # μ changes the output most, not γ
    claim = ch6.output_change_claim(first, second)
    assert claim.verdict == "fails" and claim.effect is not None and claim.effect.over == "channels"
    assert claim.item == "Figure 6.1" and "BN output" in claim.claim
    statistics = ch6.first_norm_statistics({"a": nn_with(first), "b": nn_with(second)})
    relative = ch6.relative_change_claim(statistics, "a", "b")
    assert "relative" in relative.claim and relative.effect is not None and relative.effect.count == 2
    assert relative.effect.estimate == pytest.approx(
        ch6.relative_changes(statistics, "a", "b")["rescaling γ"]
        - ch6.relative_changes(statistics, "a", "b").drop("rescaling γ").max())


def nn_with(norm: torch.nn.BatchNorm2d) -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Conv2d(3, 2, 1), norm)


def two_norms() -> tuple[torch.nn.BatchNorm2d, torch.nn.BatchNorm2d]:
    first, second = torch.nn.BatchNorm2d(2, eps=0.0).eval(), torch.nn.BatchNorm2d(2, eps=0.0).eval()
    with torch.no_grad():
        first.weight.copy_(torch.tensor([2.0, 1.0]))
        first.running_var.copy_(torch.tensor([1.0, 4.0]))
        second.weight.copy_(torch.tensor([3.0, 1.0]))  # Δγ = (1, 0)
        second.bias.copy_(torch.tensor([0.5, 0.5]))  # Δβ = (0.5, 0.5)
        second.running_mean.copy_(torch.tensor([1.0, 2.0]))  # γΔμ/σ = (2, 1)
        second.running_var.copy_(torch.tensor([4.0, 4.0]))  # γ(σ/σ' − 1) = (−1, 0)
    return first, second


def test_output_effects_are_the_rms_output_change_of_each_quantity():
    first, second = two_norms()
    effects = ch6.output_effects(first, second)
    expected = {"running mean μ": 2.5 ** 0.5, "rescaling γ": 0.5 ** 0.5, "running variance σ²": 0.5 ** 0.5,
                "rescaling β": 0.5}
    assert effects.to_dict() == pytest.approx(expected)
    assert effects.index[0] == "running mean μ"
    # the same numbers measured: swap one quantity at a time on inputs with the first layer's statistics
    x = torch.randn(20_000, 2, 1, 1, generator=torch.Generator().manual_seed(0)) * first.running_var.sqrt()[:, None, None]
    names = {"running mean μ": "running_mean", "running variance σ²": "running_var", "rescaling γ": "weight",
             "rescaling β": "bias"}
    for label, attribute in names.items():
        swapped = torch.nn.BatchNorm2d(2, eps=0.0).eval()
        swapped.load_state_dict(first.state_dict())
        with torch.no_grad():
            getattr(swapped, attribute).copy_(getattr(second, attribute))
            change = swapped(x) - first(x)
        assert float(change.pow(2).mean(dim=0).mean().sqrt()) == pytest.approx(expected[label], rel=0.03), label


def seed_rows(bn, advprop, robmask):
    return pd.DataFrame([{"architecture": "A", "dataset": "cifar10", "epochs": 2, "method": m, "seed": s, "accuracy": v,
                          "note": ""} for m, values in (("BN", bn), ("AdvProp", advprop), ("RobMask", robmask))
                         for s, v in enumerate(values)])


def test_table_6_3_claims_resample_the_seeds():
    runs = seed_rows(bn=(0.60, 0.64), advprop=(0.61, 0.62), robmask=(0.70, 0.71))
    assert ch6.seed_summary(runs).set_index("method").loc["BN", "spread"] == pytest.approx(0.04)
    advprop = ch6.compare(runs, "AdvProp", "BN", "A", "cifar10", 2)
    assert advprop.verdict == "inconclusive" and advprop.effect is not None  # +0.01 and −0.02
    assert advprop.effect.over == "seeds" and advprop.effect.count == 2
    assert ch6.compare(runs, "RobMask", "BN", "A", "cifar10", 2).verdict == "holds"  # +0.10 and +0.07
    assert ch6.compare(runs, "BN", "RobMask", "A", "cifar10", 2).verdict == "fails"
    single = seed_rows(bn=(0.5,), advprop=(0.6,), robmask=(0.9,))
    assert ch6.compare(single, "RobMask", "BN", "A", "cifar10", 2).verdict == "inconclusive"  # one seed: no interval
    absent = seed_rows(bn=(np.nan,), advprop=(np.nan,), robmask=(np.nan,))
    assert ch6.compare(absent, "RobMask", "BN", "A", "cifar10", 2).measured == "not run (data absent)"


def table_6_5_examples(at_clean=0.7, at_auto=0.4, advprop=(0.8, 0.35), robmask=(0.85, 0.3)):
    rows = {ch6.AT_ROW: (at_clean, at_auto), "AdvProp | main BN": advprop, "AdvProp | auxiliary BN": (0.6, 0.38),
            "RobMask | u_0 (p = 0)": robmask, "RobMask | u_1 (p = 1)": (0.6, 0.25)}
    return {name: {"clean": kept(clean), "PGD": kept(auto + 0.02), "AutoAttack": kept(auto)}
            for name, (clean, auto) in rows.items()}


def test_table_6_5_claims_pair_our_rows_and_both_branches():
    claims = ch6.rank_claims(table_6_5_examples(at_auto=0.5))
    assert [(c.verdict, c.attack) for c in claims] == [("holds", None), ("holds", None), ("holds", "PGD"),
                                                       ("holds", "AutoAttack")]
    assert "RobMask (u_1 (p = 1)) 0.250" in claims[-1].measured and claims[-1].item == "Table 6.5"
    claims = ch6.rank_claims(table_6_5_examples(at_clean=0.82, at_auto=0.385))
    assert [c.verdict for c in claims] == ["fails", "holds", "inconclusive", "inconclusive"]  # AT 0.385 vs 0.38


def test_autoattack_is_never_weaker_than_pgd_on_a_trained_robmask_model():
    data = load_dataset("cifar10", "train").subset(256, seed=0)
    test = load_dataset("cifar10", "test").subset(32, seed=1)
    torch.manual_seed(0)
    model = create_model("small_vgg_cifar", norm_layer="robmask")
    config = TrainConfig(model="small_vgg_cifar", dataset="cifar10", epochs=1, batch_size=64, optimizer="sgd",
                         lr=0.05, momentum=0.9, schedule="onecycle", norm_layer="robmask")
    train(model, data.x, data.y, config, CPU, defense=RobMask(steps=1), progress=False)
    smoke = masking("smoke")
    for strength in (0.0, 1.0):
        box = WhiteBox({"m": ch6.Branch(model.eval(), strength=strength).eval()}, test)
        assert box.robust("m", smoke.autoattack) <= box.robust("m", smoke.pgd(EPS, 10))


def test_branch_routes_every_forward_and_channel_changes_flags_blocked_maps():
    torch.manual_seed(0)
    model = create_model("small_vgg_cifar", norm_layer="robmask").eval()
    with torch.no_grad():
        for layer in model.modules():
            if hasattr(layer, "w_gamma"):
                layer.w_gamma[:, 1] = 0.0  # u_1 blocks every channel
    x = torch.rand(2, 3, 32, 32)
    assert not torch.equal(ch6.Branch(model, strength=1.0)(x), ch6.Branch(model, strength=0.0)(x))
    before = torch.ones(3, 4, 4)
    after = torch.stack([torch.ones(4, 4), torch.zeros(4, 4), 3 * torch.ones(4, 4)])
    changes = ch6.channel_changes(before, after)
    assert list(changes["dramatic"]) == [False, True, True]
    assert list(changes["kind"]) == ["reshaped", "blocked", "magnified"]
    assert np.isclose(changes["relative_change"][2], 2 / 3)


@pytest.mark.parametrize("page", ["ch06_adversarial_masking", "ch06_robmask"])
def test_page_runs_at_smoke(page, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    bin_dir = Path(sys.executable).parent
    notebook = tmp_path / "x.ipynb"
    subprocess.run([str(bin_dir / "jupytext"), "--to", "ipynb", "-o", str(notebook), str(ROOT / "chapters" / f"{page}.py")],
                   check=True, env=env, cwd=tmp_path, capture_output=True)
    subprocess.run([str(bin_dir / "papermill"), str(notebook), str(tmp_path / "out.ipynb"), "-p", "profile", "smoke",
                    "-p", "device", "cpu", "-p", "results_dir", str(tmp_path / "results")],
                   check=True, env=env, cwd=tmp_path, capture_output=True)
    assert any((tmp_path / "results").iterdir())
