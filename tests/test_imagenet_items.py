"""Tables 5.3, 5.8 (SPROUT) and 6.4 (RobMask) on ImageNet: the thesis's tables below paper or
without ImageNet, and the paper path end to end on a fake 1000-class ImageNet written here."""
from __future__ import annotations

import shutil
from dataclasses import replace

import pytest
import torch
from advrobust.experiments import ch5_sprout as ch5
from advrobust.experiments import ch6_masking as ch6
from advrobust.experiments.paper_only import DATA_ABSENT
from advrobust.jobs.units import image_training
from advrobust.norms import dual_bn_layers, robmask_layers
from advrobust.profiles.masking import masking
from advrobust.profiles.sprout import IMAGENET_EPS, ImageNetNetwork, sprout
from advrobust.registry import create
from advrobust.training import TrainConfig
from PIL import Image

CLASSES = 1000


def make_imagenet(root, split="val"):
    """<root>/imagenet/<split>/<wnid>/ for the 1000 classes, one tiny image in each (an ImageFolder
    needs every class folder to hold an image), coloured by its class index."""
    folder = root / "imagenet" / split
    for index in range(CLASSES):
        (folder / f"n{index:08d}").mkdir(parents=True)
        Image.new("RGB", (6, 5), (index % 256, index // 256 * 60, 128)).save(folder / f"n{index:08d}" / "a.png")
    return folder


def tiny(model: str) -> TrainConfig:
    """One epoch of 4 streamed ImageNet training images, batch 2."""
    return TrainConfig(model=model, dataset="imagenet", epochs=1, batch_size=2, lr=0.01, train_subset=4)


@pytest.fixture
def fake_imagenet(tmp_path, monkeypatch):
    """A fake ImageNet (train and val) read through ADVROBUST_DATA, and an empty cache."""
    shutil.copytree(make_imagenet(tmp_path), tmp_path / "imagenet" / "train")
    monkeypatch.setenv("ADVROBUST_DATA", str(tmp_path))
    monkeypatch.setenv("ADVROBUST_CACHE", str(tmp_path / "cache"))
    return tmp_path


def test_the_imagenet_resnets_are_1000_way_and_resnet18_takes_the_norm_layers():
    for name in ("resnet18_imagenet", "resnet50_imagenet", "resnet152_imagenet"):
        assert create("model", name).num_classes == 1000
    with torch.no_grad():
        assert create("model", "resnet18_imagenet").eval()(torch.rand(1, 3, 224, 224)).shape == (1, 1000)
    assert len(dual_bn_layers(create("model", "resnet18_imagenet", norm_layer="dual_bn"))) == 20
    assert len(robmask_layers(create("model", "resnet18_imagenet", norm_layer="robmask"))) == 20


def test_below_paper_the_thesis_tables_are_shown_with_their_reason():
    settings, chapter6 = sprout("smoke"), masking("smoke")
    for shown in (ch5.table_5_3(settings, "cpu", "smoke"), ch5.table_5_8(settings, "cpu", "smoke"),
                  ch6.table_6_4(chapter6, "cpu", "smoke")):
        assert shown.status == ch5.NOT_RUN_HERE
    assert ch5.table_5_8(settings, "cpu", "smoke").table.loc["Free Adv Train", 0.02] == pytest.approx(0.2445)
    assert ch6.table_6_4(chapter6, "cpu", "smoke").table.loc["ResNet-18", "RobMask"] == pytest.approx(0.7014)
    assert ch5.imagenet_runs(settings, settings.imagenet_152) == {} and ch6.imagenet_runs(chapter6) == {}


def test_at_paper_without_imagenet_the_status_names_the_missing_folder(tmp_path):
    settings, chapter6 = sprout("paper"), masking("paper")
    missing = f"{DATA_ABSENT}: missing ImageNet val folder {tmp_path / 'imagenet' / 'val'}"
    for shown in (ch5.table_5_3(settings, "cpu", "paper", data_root=tmp_path),
                  ch5.table_5_8(settings, "cpu", "paper", data_root=tmp_path),
                  ch6.table_6_4(chapter6, "cpu", "paper", data_root=tmp_path)):
        assert shown.status.startswith(missing)
    assert shown.table.loc["ResNet-18", "BN"] == pytest.approx(0.6976)


def test_the_paper_runs_are_the_thesis_networks_and_units_of_the_plan():
    settings, chapter6 = sprout("paper"), masking("paper")
    assert settings.imagenet_152 is not None and settings.imagenet_50 is not None
    for network, model in ((settings.imagenet_152, "resnet152_imagenet"), (settings.imagenet_50, "resnet50_imagenet")):
        runs = ch5.imagenet_runs(settings, network)
        assert list(runs) == ["Natural", "SPROUT"] and runs["Natural"].config.model == model
        assert runs["SPROUT"].start_from is not None and runs["SPROUT"].start_from.config == runs["Natural"].config
        assert runs["SPROUT"].defense == settings.sprout
    runs = ch6.imagenet_runs(chapter6)
    assert [run.config.norm_layer for run in runs.values()] == ["bn", "dual_bn", "robmask"]
    assert {run.config.epochs for run in runs.values()} == {105}
    assert [run.defense for run in runs.values()] == [None, chapter6.advprop, chapter6.robmask]
    names5 = {unit.name for unit in ch5.units("paper")}
    names6 = {unit.name for unit in ch6.units("paper")}
    for network in (settings.imagenet_152, settings.imagenet_50):
        for run in ch5.imagenet_runs(settings, network).values():
            assert image_training(*run).name in names5
    assert {image_training(*run).name for run in runs.values()} <= names6


def test_tables_5_3_and_5_8_at_paper_train_stream_and_attack_with_random_targets(fake_imagenet):
    """The paper path on the fake ImageNet with a ResNet-18 for both tables (one natural and one
    SPROUT run, shared): clean and random-target PGD accuracy of 3 images beside the thesis's."""
    paper = sprout("paper")
    network = ImageNetNetwork(tiny("resnet18_imagenet"), tiny("resnet18_imagenet"))
    settings = replace(paper, imagenet_152=network, imagenet_50=network, n_imagenet=3, steps=2)
    shown = ch5.table_5_3(settings, "cpu", "paper", data_root=fake_imagenet)
    assert shown.status == "ran"
    ours = shown.table["ours (paper)"]
    assert list(ours.columns) == [0.0, *IMAGENET_EPS] and list(ours.index) == ["Natural", "SPROUT"]
    for value in ours.to_numpy().ravel():  # shares of 3 images, rounded to four decimals
        assert min(abs(value - k / 3) for k in range(4)) < 1e-4
    assert (ours[0.02] <= ours[0.0]).all()
    assert shown.table.loc["SPROUT", ("thesis", 0.01)] == pytest.approx(0.5286)
    quoted = ch5.table_5_8(settings, "cpu", "paper", data_root=fake_imagenet).table
    assert quoted.loc["Free Adv Train", ("thesis", 0.0)] == pytest.approx(0.6049)
    assert quoted.loc["Free Adv Train", "ours (paper)"].isna().all()


def test_table_6_4_at_paper_trains_bn_advprop_and_robmask(fake_imagenet):
    paper = masking("paper")
    settings = replace(paper, imagenet_train=tiny("resnet18_imagenet"), n_imagenet=3,
                       advprop=replace(paper.advprop, steps=1), robmask=replace(paper.robmask, steps=1))
    shown = ch6.table_6_4(settings, "cpu", "paper", data_root=fake_imagenet)
    assert shown.status == "ran"
    ours = shown.table.xs("ours (paper)", axis=1, level=1).loc[("ResNet-18", "imagenet", 1)]
    for column in ("BN", "AdvProp", "RobMask"):
        assert min(abs(ours[column] - k / 3) for k in range(4)) < 1e-4
    assert shown.table.loc[("ResNet-18", "imagenet", 105), ("RobMask", "thesis")] == pytest.approx(0.7014)
