"""ImageNet-1000 (Deng et al. 2009, "DDS09") and 9-class Restricted ImageNet, from the user's copy.

ImageNet is used with ResNet-50 in Sec. 2.5; Restricted ImageNet, the 9 super-classes of Tsipras
et al. and Santurkar et al. ("SSK19"), with ResNet-50 in Table 4.5 (Sec. 4.2.4). ImageNet cannot be
downloaded automatically; the user prepares it in torchvision's ImageFolder layout,
``<root>/imagenet/{train,val}/<wnid>/*.JPEG`` (or passes ``root`` pointing at the folder holding
``train/`` and ``val/``). Images are too many to hold in memory, so these return datasets that read
each image from disk when indexed (for a DataLoader) rather than a :class:`TensorData`.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset

from ..errors import DataError, require
from .files import DATA_ENV, data_root
from .tensors import TensorData

IMAGENET_SPLITS = ("train", "val")
IMAGENET_CLASS_COUNT = 1000

# Restricted ImageNet's super-classes in label order (0..8), each an inclusive range of ImageNet
# class indices, as in MadryLab's robustness library (``RESTRICTED_IMAGNET_RANGES``).
RESTRICTED_IMAGENET_CLASSES: dict[str, tuple[int, int]] = {
    "dog": (151, 268),
    "cat": (281, 285),
    "frog": (30, 32),
    "turtle": (33, 37),
    "bird": (80, 100),
    "primate": (365, 382),
    "fish": (389, 397),
    "crab": (118, 121),
    "insect": (300, 319),
}


def imagenet_folder(
    root: str | Path | None = None,
    split: str = "val",
    transform: Callable[[Any], Any] | None = None,
) -> Any:
    """The ImageNet ``split`` as an ImageFolder; images in [0, 1], normalisation is in the models.

    The default transform is Resize(256), CenterCrop(224), ToTensor(), the standard evaluation
    crop of torchvision's ResNet-50.
    """
    # Imported here, not at module level: torchvision takes over a second to import.
    from torchvision import datasets

    folder, how = _split_folder(root, split)
    try:
        return datasets.ImageFolder(str(folder), transform=_or_evaluation_crop(transform))
    except FileNotFoundError as error:  # no class folders, or no images in them
        raise DataError(f"no ImageNet images in {folder} ({error}); {how}") from None


class RestrictedImageNet(Dataset):
    """The images of ``samples`` (``(path, label)`` pairs), read and transformed when indexed.

    ``targets`` lists the labels, ``classes`` the super-class names of labels 0..8 and
    ``wnid_to_label`` the label of every ImageNet class folder inside a super-class.
    """

    classes = tuple(RESTRICTED_IMAGENET_CLASSES)

    def __init__(
        self,
        root: Path,
        samples: list[tuple[str, int]],
        wnid_to_label: dict[str, int],
        transform: Callable[[Any], Any] | None = None,
    ) -> None:
        from torchvision.datasets.folder import default_loader

        self.root = root
        self.samples = samples
        self.targets = [label for _, label in samples]
        self.wnid_to_label = wnid_to_label
        self.transform = transform
        self.loader = default_loader

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        path, label = self.samples[index]
        image = self.loader(path)
        return (image if self.transform is None else self.transform(image)), label


def restricted_imagenet_folder(
    root: str | Path | None = None,
    split: str = "val",
    transform: Callable[[Any], Any] | None = None,
) -> RestrictedImageNet:
    """Restricted ImageNet (Table 4.5): the ImageNet ``split`` limited to the 9 super-classes.

    ImageNet class ``i`` is the ``i``-th of the 1000 wnid folders in sorted order (ImageFolder's
    order); images of class ``i`` get the label of the :data:`RESTRICTED_IMAGENET_CLASSES` range
    holding ``i``, and images of classes in no range are left out. Only the super-classes' folders
    are listed and no image is loaded until indexed. The default transform is the evaluation crop
    of :func:`imagenet_folder`; images are in [0, 1], normalisation is in the models.
    """
    from torchvision.datasets.folder import IMG_EXTENSIONS, make_dataset

    folder, how = _split_folder(root, split)
    wnids = _imagenet_class_folders(folder, how)
    wnid_to_label = {
        wnids[index]: label
        for label, (first, last) in enumerate(RESTRICTED_IMAGENET_CLASSES.values())
        for index in range(first, last + 1)
    }
    samples = make_dataset(str(folder), wnid_to_label, extensions=IMG_EXTENSIONS, allow_empty=True)
    found = {label for _, label in samples}
    empty = [name for label, name in enumerate(RESTRICTED_IMAGENET_CLASSES) if label not in found]
    if empty:
        raise DataError(f"no images of the Restricted ImageNet classes {', '.join(empty)} "
                        f"in {folder}; {how}")
    return RestrictedImageNet(folder, samples, wnid_to_label, _or_evaluation_crop(transform))


def _split_folder(root: str | Path | None, split: str) -> tuple[Path, str]:
    """The existing ImageNet ``split`` folder, and how to prepare it (for error messages)."""
    require(split in IMAGENET_SPLITS,
            f"unknown ImageNet split {split!r}; use one of: {', '.join(IMAGENET_SPLITS)}")
    base = data_root(root)
    candidates = [base / "imagenet" / split, base / split]
    folder = next((candidate for candidate in candidates if candidate.is_dir()), None)
    how = (f"ImageNet cannot be downloaded automatically: get ILSVRC2012 from https://image-net.org, "
           f"arrange it as <dir>/imagenet/{split}/<wnid>/*.JPEG and set {DATA_ENV} to <dir>")
    if folder is None:
        raise DataError(f"missing ImageNet {split} folder {' or '.join(map(str, candidates))}; {how}")
    return folder, how


def _imagenet_class_folders(folder: Path, how: str) -> list[str]:
    """The sorted class folder names under ``folder``; exactly the 1000 ImageNet wnids expected."""
    wnids = sorted(entry.name for entry in folder.iterdir() if entry.is_dir())
    if len(wnids) != IMAGENET_CLASS_COUNT:
        raise DataError(
            f"{folder} has {len(wnids)} class folders, but Restricted ImageNet needs all "
            f"{IMAGENET_CLASS_COUNT} ImageNet wnid folders (a class's index is its position in "
            f"sorted order); {how}"
        )
    return wnids


def _or_evaluation_crop(transform: Callable[[Any], Any] | None) -> Callable[[Any], Any]:
    """``transform``, or by default Resize(256), CenterCrop(224), ToTensor() (torchvision's
    ResNet-50 evaluation crop)."""
    if transform is not None:
        return transform
    from torchvision import transforms

    return transforms.Compose(
        [transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor()]
    )


def imagenet_class_names() -> tuple[str, ...]:
    """ImageNet's 1000 class names in label order (torchvision's; label ``i`` is the ``i``-th wnid
    folder in sorted order, ImageFolder's order)."""
    from torchvision import models  # torchvision takes over a second to import

    return tuple(models.ResNet50_Weights.IMAGENET1K_V1.meta["categories"])


def imagenet_validation(root: str | Path | None = None) -> Any:
    """The ImageNet validation ImageFolder (:func:`imagenet_folder`), refused unless it holds the
    1000 class folders (a label is its folder's position in sorted order)."""
    folder = imagenet_folder(root, "val")
    if len(folder.classes) != IMAGENET_CLASS_COUNT:
        raise DataError(f"{folder.root} has {len(folder.classes)} class folders, but ImageNet's labels "
                        f"0..999 need all {IMAGENET_CLASS_COUNT} wnid folders")
    return folder


def seeded_images(dataset: Any, n: int, seed: int, device: torch.device | str, classes: tuple[str, ...],
                  name: str) -> TensorData:
    """``n`` images of the folder ``dataset`` drawn by ``seed`` (in index order), stacked on
    ``device``: the evaluation images of the ImageNet items, whose splits do not fit in memory."""
    chosen = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))[:n].sort().values
    images, labels = zip(*(dataset[int(index)] for index in chosen), strict=True)
    return TensorData(torch.stack(images).to(device), torch.tensor(labels, device=device), classes, name)


def imagenet_val_images(n: int, seed: int, device: torch.device | str, root: str | Path | None = None) -> TensorData:
    """``n`` ImageNet validation images (labels 0..999, torchvision's class names) drawn by
    ``seed``, the evaluation crop in [0, 1]; the loader's DataError when the folder is missing."""
    return seeded_images(imagenet_validation(root), n, seed, device, imagenet_class_names(), "imagenet-val")


def restricted_val_images(n: int, seed: int, device: torch.device | str,
                          root: str | Path | None = None) -> TensorData:
    """``n`` Restricted ImageNet validation images (Table 4.5) drawn by ``seed``, the evaluation crop."""
    return seeded_images(restricted_imagenet_folder(root, "val"), n, seed, device,
                         tuple(RESTRICTED_IMAGENET_CLASSES), "restricted_imagenet-val")
