"""Restricted ImageNet (Table 4.5): 9 super-classes of ImageNet on a fake 1000-class copy."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from advrobust.data import RESTRICTED_IMAGENET_CLASSES, restricted_imagenet_folder
from advrobust.errors import DataError
from advrobust.experiments.paper_only import DATA_ABSENT
from PIL import Image
from torchvision import transforms

# ImageNet class index -> Restricted ImageNet label, written out by hand for the first and last
# class of every range (MadryLab robustness: dog 151-268, cat 281-285, frog 30-32, turtle 33-37,
# bird 80-100, primate 365-382, fish 389-397, crab 118-121, insect 300-319).
INSIDE = {151: 0, 268: 0, 281: 1, 285: 1, 30: 2, 32: 2, 33: 3, 37: 3, 80: 4, 100: 4,
          365: 5, 382: 5, 389: 6, 397: 6, 118: 7, 121: 7, 300: 8, 319: 8, 200: 0, 90: 4}
# classes just outside the ranges, and the first and last ImageNet classes
OUTSIDE = [0, 29, 38, 79, 101, 117, 122, 150, 269, 280, 286, 299, 320, 364, 383, 388, 398, 999]


def wnid(index: int) -> str:
    return f"n{index:08d}"


def colour(index: int) -> tuple[int, int, int]:
    """A colour that encodes the ImageNet class index, to check which file was read."""
    return index % 256, index // 256 * 60, 128


def class_of(path: str) -> int:
    return int(Path(path).parent.name[1:])


def make_imagenet(root, classes=1000, with_images=(*INSIDE, *OUTSIDE)):
    folder = root / "imagenet" / "val"
    for index in range(classes):
        (folder / wnid(index)).mkdir(parents=True)
    for index in with_images:
        for copy in range(2):
            Image.new("RGB", (6, 5), colour(index)).save(folder / wnid(index) / f"img{copy}.png")
    return folder


def test_the_nine_super_classes_in_label_order():
    assert list(RESTRICTED_IMAGENET_CLASSES) == [
        "dog", "cat", "frog", "turtle", "bird", "primate", "fish", "crab", "insect"]
    sizes = [last - first + 1 for first, last in RESTRICTED_IMAGENET_CLASSES.values()]
    assert sizes == [118, 5, 3, 5, 21, 18, 9, 4, 20]
    assert sum(sizes) == 203  # disjoint ranges: 203 ImageNet classes in all
    ranges = RESTRICTED_IMAGENET_CLASSES.values()
    members = [index for first, last in ranges for index in range(first, last + 1)]
    assert len(set(members)) == 203


def test_labels_follow_the_ranges_and_other_classes_are_left_out(tmp_path):
    folder = make_imagenet(tmp_path)
    dataset = restricted_imagenet_folder(tmp_path, "val", transform=transforms.PILToTensor())
    assert dataset.classes == tuple(RESTRICTED_IMAGENET_CLASSES)
    assert len(dataset) == 2 * len(INSIDE) == len(dataset.targets)
    seen = {}
    for (path, label), target in zip(dataset.samples, dataset.targets, strict=True):
        index = class_of(path)
        assert label == target == INSIDE[index]
        seen[index] = label
    assert seen == INSIDE
    assert len(dataset.wnid_to_label) == 203 and dataset.wnid_to_label[wnid(151)] == 0
    # indexing reads the listed file: the pixel colour encodes its ImageNet class
    for position in (0, len(dataset) - 1):
        image, label = dataset[position]
        index = class_of(dataset.samples[position][0])
        assert image.shape == (3, 5, 6) and label == INSIDE[index]
        assert image[:, 0, 0].tolist() == list(colour(index))
    assert dataset.root == folder


def test_class_index_is_the_sorted_position_of_the_folder(tmp_path):
    folder = make_imagenet(tmp_path, with_images=[])
    # renaming class 0's folder to sort last shifts every other class down by one
    (folder / wnid(0)).rename(folder / "n99999999")
    for index in (152, 282):  # now at sorted positions 151 (dog) and 281 (cat) ...
        Image.new("RGB", (4, 4), colour(index)).save(folder / wnid(index) / "a.png")
    for name in ("frog", "turtle", "bird", "primate", "fish", "crab", "insect"):
        first, _ = RESTRICTED_IMAGENET_CLASSES[name]
        Image.new("RGB", (4, 4)).save(folder / wnid(first + 1) / "a.png")
    Image.new("RGB", (4, 4)).save(folder / wnid(269) / "a.png")  # ... position 268: a dog too
    Image.new("RGB", (4, 4)).save(folder / wnid(30) / "a.png")  # position 29: no frog any more
    labels = {class_of(p): label for p, label in restricted_imagenet_folder(tmp_path).samples}
    assert labels[152] == labels[269] == 0 and labels[282] == 1 and labels[31] == 2
    assert 30 not in labels


def test_the_default_transform_is_the_224_evaluation_crop(tmp_path):
    make_imagenet(tmp_path, with_images=list(INSIDE))
    image, _ = restricted_imagenet_folder(tmp_path)[0]
    assert isinstance(image, torch.Tensor) and image.shape == (3, 224, 224)
    assert 0 <= image.min() and image.max() <= 1


def test_missing_folder_names_the_path_and_the_fix(tmp_path):
    with pytest.raises(DataError) as error:
        restricted_imagenet_folder(tmp_path, "val")
    assert str(tmp_path / "imagenet" / "val") in str(error.value)
    assert "image-net.org" in str(error.value)


def test_a_folder_without_all_1000_classes_is_refused(tmp_path):
    folder = make_imagenet(tmp_path, classes=999, with_images=list(INSIDE))
    with pytest.raises(DataError) as error:
        restricted_imagenet_folder(tmp_path, "val")
    message = str(error.value)
    assert str(folder) in message and "999 class folders" in message and "1000" in message


def test_a_super_class_without_images_is_refused(tmp_path):
    make_imagenet(tmp_path, with_images=[i for i in INSIDE if INSIDE[i] != 7])  # no crabs
    with pytest.raises(DataError, match="crab"):
        restricted_imagenet_folder(tmp_path, "val")


# ------------------------------------------------------------------------------ Table 4.5


def test_table_4_5_below_paper_is_the_thesis_table_with_its_reason():
    from advrobust.experiments import ch4_defenses as ch4
    from advrobust.profiles.defenses import defenses

    shown = ch4.table_4_5(defenses("smoke"), "cpu", "smoke")
    assert shown.status == ch4.NOT_RUN_HERE and "CAT (ours)" in shown.table.index
    assert ch4.restricted_runs(defenses("smoke")) == {}


def test_table_4_5_at_paper_without_imagenet_says_what_is_missing(tmp_path):
    from advrobust.experiments import ch4_defenses as ch4
    from advrobust.profiles.defenses import defenses

    settings = defenses("paper")
    shown = ch4.table_4_5(settings, "cpu", "paper", data_root=tmp_path)
    assert shown.status.startswith(f"{DATA_ABSENT}: missing ImageNet val folder")
    assert list(ch4.restricted_runs(settings)) == ["CAT (ours)"]


def test_the_restricted_test_images_are_a_seeded_choice_of_evaluation_crops(tmp_path):
    from advrobust.data.imagenet import restricted_val_images

    make_imagenet(tmp_path)
    first, again = (restricted_val_images(5, 3, "cpu", tmp_path) for _ in range(2))
    other = restricted_val_images(5, 4, "cpu", tmp_path)
    assert first.x.shape == (5, 3, 224, 224) and 0 <= float(first.x.min()) and float(first.x.max()) <= 1
    assert torch.equal(first.x, again.x) and torch.equal(first.y, again.y) and not torch.equal(first.x, other.x)
    assert set(first.y.tolist()) <= set(range(9))


def test_table_4_5_at_paper_trains_streams_and_attacks_the_resnet(tmp_path, monkeypatch):
    """The paper path end to end on a fake ImageNet: the streamed training of CAT's ResNet-50 (4
    images, one epoch), then clean, PGD and C&W accuracy beside the thesis's rows."""
    import shutil
    from dataclasses import replace

    from advrobust.experiments import ch4_defenses as ch4
    from advrobust.profiles.defenses import defenses

    folder = make_imagenet(tmp_path, with_images=tuple(INSIDE))
    shutil.copytree(folder, folder.parent / "train")
    monkeypatch.setenv("ADVROBUST_DATA", str(tmp_path))
    monkeypatch.setenv("ADVROBUST_CACHE", str(tmp_path / "cache"))
    paper = defenses("paper")
    assert paper.restricted_train is not None
    settings = replace(paper, restricted_train=replace(paper.restricted_train, epochs=1, batch_size=4, train_subset=4,
                                                       schedule="constant", milestones=()),
                       n_restricted=3, columns=replace(paper.columns, pgd_steps=2, restarts=2))
    shown = ch4.table_4_5(settings, "cpu", "paper", data_root=tmp_path)
    assert shown.status == "ran"
    ours = shown.table.loc["CAT (ours)"]
    for column in ("clean", "pgd", "cw"):  # shares of 3 images, rounded to four decimals
        assert min(abs(ours[(column, "ours (paper)")] - k / 3) for k in range(4)) < 1e-4
    assert ours[("pgd", "ours (paper)")] <= ours[("clean", "ours (paper)")]
    assert shown.table.loc["LAT (SSK19)", ("pgd", "thesis")] == pytest.approx(0.22)
