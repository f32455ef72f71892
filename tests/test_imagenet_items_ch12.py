"""Figure 1.1 and Table 2.2's ImageNet rows: torchvision's ResNet-50 at paper on the reader's
ImageNet validation images, else the reason (tests on a fake 1000-class ImageNet of tiny PNGs)."""
from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from advrobust.attacks import CarliniWagnerL2
from advrobust.attacks.spec import AttackSpec
from advrobust.data.imagenet import imagenet_val_images
from advrobust.errors import DataError
from advrobust.experiments import ch1_introduction as ch1
from advrobust.experiments import ch2_hard_label as hl
from advrobust.profiles.hard_label import hard_label, imagenet_hard_label
from advrobust.profiles.whitebox import whitebox
from PIL import Image
from torch import Tensor, nn

CLASSES = 1000
TINY_CW = AttackSpec(CarliniWagnerL2, steps=5, binary_search_steps=2, initial_const=1.0, lr=0.05)


def colour(index: int) -> tuple[int, int]:
    """The red and green of class ``index``'s images (blue is 128): they encode the class."""
    return index % 256, index // 256 * 60


@pytest.fixture(scope="module")
def fake_imagenet(tmp_path_factory):
    """A data root holding imagenet/val/<wnid>/ for all 1000 classes, one uniform 6x5 PNG each."""
    root = tmp_path_factory.mktemp("data")
    for index in range(CLASSES):
        folder = root / "imagenet" / "val" / f"n{index:08d}"
        folder.mkdir(parents=True)
        Image.new("RGB", (6, 5), (*colour(index), 128)).save(folder / "img.png")
    return root


class ColourClassifier(nn.Module):
    """Reads the class off an image's mean red and green: right on every fake image, and
    differentiable, so that every attack has something to break."""

    def __init__(self) -> None:
        super().__init__()
        index = torch.arange(CLASSES)
        self.register_buffer("centres", torch.stack([index % 256, index // 256 * 60], dim=1).float())

    def forward(self, x: Tensor) -> Tensor:
        mean = x[:, :2].mean(dim=(2, 3)) * 255
        return -(mean[:, None, :] - self.centres).pow(2).sum(dim=2)


@pytest.fixture
def no_weights(tmp_path, monkeypatch):
    """An empty torch hub cache: no pretrained weights."""
    hub = tmp_path / "hub"
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(hub))
    return hub


def test_below_paper_neither_item_runs_and_the_thesis_rows_are_shown():
    rows = hl.imagenet_rows(whitebox("quick"), "cpu", "quick")
    assert rows.status == hl.NOT_RUN_HERE and rows.attacked is None and rows.curves == {}
    assert len(rows.table) == 13 and {index[0] for index in rows.table.index} == {"ImageNet (ResNet-50)"}
    assert rows.table.loc[("ImageNet (ResNet-50)", "Sign-OPT attack", 30_000), "avg_l2"] == pytest.approx(2.99)
    assert ch1.figure_1_1_imagenet(whitebox("smoke"), "cpu").status == ch1.NOT_RUN_HERE
    assert imagenet_hard_label("quick") is None


def test_at_paper_without_imagenet_the_status_names_the_missing_folder(tmp_path):
    rows = hl.imagenet_rows(whitebox("paper"), "cpu", "paper", data_root=tmp_path)
    missing = f"{hl.DATA_ABSENT}: missing ImageNet val folder {tmp_path / 'imagenet' / 'val'}"
    assert rows.status.startswith(missing) and len(rows.table) == 13
    assert ch1.figure_1_1_imagenet(whitebox("paper"), "cpu", data_root=tmp_path).status.startswith(missing)


def test_with_imagenet_but_no_weights_the_status_names_the_missing_weights_file(fake_imagenet, no_weights):
    expected = f"{hl.DATA_ABSENT}: no pretrained resnet50 IMAGENET1K_V1 weights at {no_weights / 'checkpoints'}"
    assert hl.imagenet_rows(whitebox("paper"), "cpu", "paper", data_root=fake_imagenet).status.startswith(expected)
    figure = ch1.figure_1_1_imagenet(whitebox("paper"), "cpu", data_root=fake_imagenet)
    assert figure.status.startswith(expected) and figure.figure is None


def test_the_imagenet_stage_is_a_paper_unit_that_needs_nothing_and_fails_without_its_data(
        tmp_path, monkeypatch, no_weights):
    assert not any("imagenet" in unit.name for unit in hl.units("quick"))
    [stage] = [unit for unit in hl.units("paper") if "imagenet" in unit.name]
    assert stage.kind == "attack" and stage.needs == () and stage.chapter == hl.PAGE
    settings = hard_label("paper", "imagenet")
    assert settings.budgets == (4000, 30_000, 160_000) and settings.sr_threshold == 3.0
    assert stage.work is not None and stage.work.amount == 100 * 160_000 * 4
    monkeypatch.setenv("ADVROBUST_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("ADVROBUST_CACHE", str(tmp_path / "cache"))
    with pytest.raises(DataError, match="missing ImageNet val folder"):
        stage.run(torch.device("cpu"))
    assert not list((tmp_path / "cache").rglob("*.done"))  # no marker for a stage that did nothing


def test_the_val_images_are_a_seeded_choice_of_evaluation_crops_labelled_0_to_999(fake_imagenet):
    first, again = (imagenet_val_images(5, 3, "cpu", fake_imagenet) for _ in range(2))
    other = imagenet_val_images(5, 4, "cpu", fake_imagenet)
    assert first.x.shape == (5, 3, 224, 224) and 0 <= float(first.x.min()) and float(first.x.max()) <= 1
    assert torch.equal(first.x, again.x) and torch.equal(first.y, again.y) and not torch.equal(first.y, other.y)
    for image, label in zip(first.x, first.y.tolist(), strict=True):  # the pixels encode the label
        assert (image[:2, 0, 0] * 255).round().tolist() == list(map(float, colour(label)))
    assert len(first.classes) == CLASSES and first.classes[0] == "tench"


def test_a_val_folder_without_the_1000_classes_is_refused(tmp_path):
    folder = tmp_path / "imagenet" / "val" / "n00000000"
    folder.mkdir(parents=True)
    Image.new("RGB", (6, 5)).save(folder / "img.png")
    with pytest.raises(DataError, match="1 class folders"):
        imagenet_val_images(1, 0, "cpu", tmp_path)


def test_at_paper_both_items_run_on_the_pretrained_network(fake_imagenet, tmp_path, monkeypatch):
    """The paper path end to end, on a network that is right on every fake image, with tiny budgets."""
    monkeypatch.setenv("ADVROBUST_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(hl, "pretrained_imagenet_model", lambda name: ColourClassifier().eval())
    paper = imagenet_hard_label("paper")
    assert paper is not None
    tiny = replace(paper, n_test=4, n_examples=2, budgets=(100, 200), max_budget=200)
    monkeypatch.setattr(hl, "imagenet_hard_label", lambda profile: tiny)
    settings = replace(whitebox("paper"), n_imagenet=4, n_examples_shown=2, imagenet_cw=TINY_CW)

    rows = hl.imagenet_rows(settings, "cpu", "paper", data_root=fake_imagenet)
    assert rows.status == "ran" and rows.attacked is not None and rows.attacked.clean_accuracy == 1.0
    ours = rows.table[("avg_l2", "ours (paper)")].dropna()
    assert len(ours) == 4 * 2 + 1  # four attacks at two budgets, and C&W
    assert rows.table.loc[("ImageNet (ResNet-50)", "Sign-OPT attack", 30_000), ("avg_l2", "thesis")] == 2.99
    assert list(rows.curves) == ["ImageNet (ResNet-50)"]

    figure = ch1.figure_1_1_imagenet(settings, "cpu", data_root=fake_imagenet)
    assert figure.status == "ran" and figure.figure is not None and figure.model is not None
    assert len(figure.figure.examples.y) == 2 and bool((figure.figure.target != figure.figure.examples.y).all())
    titles = ch1.prediction_titles(figure.model, figure.figure.examples.x, figure.figure.examples.classes)
    assert titles[0].startswith(f"predicted {figure.figure.examples.classes[int(figure.figure.examples.y[0])]}")
