"""The training sets too large for memory, read image by image from the user's copy while training.

Restricted ImageNet (Table 4.5, ResNet-50) and ImageNet-1000 (Tables 5.3 and 5.8, ResNet-152 and
ResNet-50; Table 6.4, ResNet-18) are read from the ImageNet folders of :mod:`advrobust.data.imagenet`.
Their training images get torchvision's standard ImageNet training augmentation (the reference
recipe of ``torchvision/references/classification``, without normalisation, which is inside the
models): a random-resized crop to 224 pixels and a random horizontal flip; other splits get the
evaluation crop. The thesis does not state its augmentation.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from ..errors import require
from .imagenet import imagenet_folder, restricted_imagenet_folder

CROP = 224  # the side of the training crops


class SizedDataset(Protocol):
    """A map-style dataset: ``len`` examples, each an (input, label) pair by index."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> Any: ...


# The streamed datasets by the name a TrainConfig gives them, each (root, split, transform) -> dataset.
STREAMED_DATASETS: dict[str, Callable[..., SizedDataset]] = {"restricted_imagenet": restricted_imagenet_folder,
                                                             "imagenet": imagenet_folder}


def is_streamed(name: str) -> bool:
    """True for a dataset that is streamed from disk rather than held in memory."""
    return name in STREAMED_DATASETS


def streamed_dataset(name: str, split: str = "train", root: str | Path | None = None) -> SizedDataset:
    """The ``split`` of the streamed dataset ``name``; the training split with
    :func:`training_augmentation`, other splits with the folder's evaluation crop."""
    require(is_streamed(name), f"unknown streamed dataset {name!r}; available: {', '.join(STREAMED_DATASETS)}")
    return STREAMED_DATASETS[name](root, split, training_augmentation() if split == "train" else None)


def training_augmentation() -> Callable[[Any], Any]:
    """RandomResizedCrop(224), RandomHorizontalFlip(), ToTensor(): images in [0, 1]."""
    from torchvision import transforms  # torchvision takes over a second to import

    return transforms.Compose(
        [transforms.RandomResizedCrop(CROP), transforms.RandomHorizontalFlip(), transforms.ToTensor()]
    )
