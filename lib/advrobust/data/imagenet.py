"""ImageNet-1000 (Deng et al. 2009, "DDS09"), used with ResNet-50 in Sec. 2.5, from the user's own copy.

ImageNet cannot be downloaded automatically; the user prepares it in torchvision's ImageFolder
layout, ``<root>/imagenet/{train,val}/<wnid>/*.JPEG`` (or passes ``root`` pointing at the folder
holding ``train/`` and ``val/``). Images are too many to hold in memory, so this returns a
``torchvision.datasets.ImageFolder`` for a DataLoader rather than a :class:`TensorData`.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import DataError, require
from .files import DATA_ENV, data_root

IMAGENET_SPLITS = ("train", "val")


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
    from torchvision import datasets, transforms

    require(split in IMAGENET_SPLITS,
            f"unknown ImageNet split {split!r}; use one of: {', '.join(IMAGENET_SPLITS)}")
    base = data_root(root)
    candidates = [base / "imagenet" / split, base / split]
    folder = next((candidate for candidate in candidates if candidate.is_dir()), None)
    how = (f"ImageNet cannot be downloaded automatically: get ILSVRC2012 from https://image-net.org, "
           f"arrange it as <dir>/imagenet/{split}/<wnid>/*.JPEG and set {DATA_ENV} to <dir>")
    if folder is None:
        raise DataError(f"missing ImageNet {split} folder {' or '.join(map(str, candidates))}; {how}")
    if transform is None:
        transform = transforms.Compose(
            [transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor()]
        )
    try:
        return datasets.ImageFolder(str(folder), transform=transform)
    except FileNotFoundError as error:  # no class folders, or no images in them
        raise DataError(f"no ImageNet images in {folder} ({error}); {how}") from None
