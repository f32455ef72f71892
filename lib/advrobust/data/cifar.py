"""CIFAR-10 and CIFAR-100 (Krizhevsky 2009, "KH09") in their official binary and python layouts.

CIFAR-10 is the second benchmark of the hard-label attacks (Sec. 2.5) and the main one of the
defenses (Sec. 4.2.4, 5.3.4); CIFAR-100 joins it for RobMask (Sec. 6.4).

Layouts searched under the data root, in this order (the first complete one wins):

- CIFAR-10 binary: ``cifar10/`` or ``cifar-10-batches-bin/`` with ``data_batch_1..5.bin`` and
  ``test_batch.bin``; records of 1 label byte + 3072 pixel bytes (R, G, B planes, 32x32 row-major).
- CIFAR-10 python: ``cifar-10-batches-py/`` with ``data_batch_1..5`` and ``test_batch``, pickled
  dicts with ``b"data"`` (N, 3072) and ``b"labels"``.
- CIFAR-100 binary: ``cifar-100-binary/`` with ``train.bin`` and ``test.bin``; records of a coarse
  and a fine label byte + 3072 pixel bytes. The fine label (100 classes) is used.
- CIFAR-100 python: ``cifar-100-python/`` with ``train`` and ``test``, pickled dicts with
  ``b"data"`` and ``b"fine_labels"``.

Checksums: every data file read is verified first, so only official bytes are parsed (and only
official pickles are unpickled). Python-layout files and the archives use torchvision's md5 sums;
the binary files use the sha256 sums of the official archive members (CIFAR-10: as listed in
``shared/data/cifar10/SHA256SUMS``; CIFAR-100: as published by torchvision-ruby). The meta files
(``batches.meta``, ``meta``, ``*.txt``) are not read: the class names are fixed below.
"""
from __future__ import annotations

import functools
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..errors import DataError
from ..registry import register
from .files import DATA_ENV, Checksum, check_split, data_root, extract, fetch, missing_file, verify
from .tensors import TensorData, from_uint8

_PIXELS = 3 * 32 * 32

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")
CIFAR100_CLASSES = (  # the fine labels, in label order (alphabetical)
    "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle",
    "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle",
    "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch", "crab", "crocodile", "cup",
    "dinosaur", "dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house",
    "kangaroo", "keyboard", "lamp", "lawn_mower", "leopard", "lion", "lizard", "lobster", "man",
    "maple_tree", "motorcycle", "mountain", "mouse", "mushroom", "oak_tree", "orange", "orchid",
    "otter", "palm_tree", "pear", "pickup_truck", "pine_tree", "plain", "plate", "poppy",
    "porcupine", "possum", "rabbit", "raccoon", "ray", "road", "rocket", "rose", "sea", "seal",
    "shark", "shrew", "skunk", "skyscraper", "snail", "snake", "spider", "squirrel", "streetcar",
    "sunflower", "sweet_pepper", "table", "tank", "telephone", "television", "tiger", "tractor",
    "train", "trout", "tulip", "turtle", "wardrobe", "whale", "willow_tree", "wolf", "woman", "worm",
)

# The official archive of each dataset (the binary one is fetched) and its md5.
ARCHIVES: dict[str, tuple[str, Checksum]] = {
    "cifar10": ("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
                ("md5", "c32a1d4ab5d03f1284b67883e8d87530")),
    "cifar100": ("https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz",
                 ("md5", "03b5dce01913d631647c71ecec9e9cb8")),
}
# md5 of the python archives, for reference: cifar-10-python.tar.gz c58f30108f718f92721af3b95e74349a,
# cifar-100-python.tar.gz eb9058c3a382ffc7106e4002c42a8d85 (neither is fetched).
CIFAR10_BINARY: dict[str, Checksum] = {
    "data_batch_1.bin": ("sha256", "cee916563c9f80d84e3cc88e17fdc0941787f1244f00a67874d45b261883ada5"),
    "data_batch_2.bin": ("sha256", "a591ca11fa1708a91ee40f54b3da4784ccd871ecf2137de63f51ada8b3fa57ed"),
    "data_batch_3.bin": ("sha256", "bbe8596564c0f86427f876058170b84dac6670ddf06d79402899d93ceea26f67"),
    "data_batch_4.bin": ("sha256", "014e562d6e23c72197cc727519169a60359f5eccd8945ad5a09d710285ff4e48"),
    "data_batch_5.bin": ("sha256", "755304fc0b379caeae8c14f0dac912fbc7d6cd469eb67a1029a08a39453a9add"),
    "test_batch.bin": ("sha256", "8e2eb146ae340b09e24670f29cabc6326dba54da8789dab6768acf480273f65b"),
}
CIFAR10_PYTHON: dict[str, Checksum] = {
    "data_batch_1": ("md5", "c99cafc152244af753f735de768cd75f"),
    "data_batch_2": ("md5", "d4bba439e000b95fd0a9bffe97cbabec"),
    "data_batch_3": ("md5", "54ebc095f3ab1f0389bbae665268c751"),
    "data_batch_4": ("md5", "634d18415352ddfa80567beed471001a"),
    "data_batch_5": ("md5", "482c414d41f54cd18b22e5b47cb7c3cb"),
    "test_batch": ("md5", "40351d587109b95175f43aff81a1287e"),
}
CIFAR100_BINARY: dict[str, Checksum] = {
    "train.bin": ("sha256", "f31298fc616915fa142368359df1c4ca2ae984d6915ca468b998a5ec6aeebf29"),
    "test.bin": ("sha256", "d8b1e6b7b3bee4020055f0699b111f60b1af1e262aeb93a0b659061746f8224a"),
}
CIFAR100_PYTHON: dict[str, Checksum] = {
    "train": ("md5", "16019d7e3df5f24257cddd939b257f8d"),
    "test": ("md5", "f0ef6b0ae62326f3e7ffdfab6717acfc"),
}

Reader = Callable[[Path], tuple[np.ndarray, np.ndarray]]


def read_binary(path: Path, label_bytes: int) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 3, 32, 32) uint8 and labels of a binary batch; the label is the last label byte."""
    record = label_bytes + _PIXELS
    content = np.fromfile(path, dtype=np.uint8)
    if content.size % record:
        raise DataError(f"{path} has {content.size} bytes, not a whole number of {record}-byte records")
    rows = content.reshape(-1, record)
    return rows[:, label_bytes:].reshape(-1, 3, 32, 32), rows[:, label_bytes - 1]


def read_pickle(path: Path, label_key: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 3, 32, 32) uint8 and labels of a python batch (call only on verified files)."""
    with open(path, "rb") as stream:
        batch = pickle.load(stream, encoding="bytes")
    images = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
    return images, np.asarray(batch[label_key], dtype=np.int64)


@dataclass(frozen=True)
class _Layout:
    """One on-disk format: the folders it may sit in, its files per split, their sums, a reader."""

    folders: tuple[str, ...]
    files: dict[str, tuple[str, ...]]
    checksums: dict[str, Checksum]
    read: Reader


_TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
_LAYOUTS: dict[str, tuple[_Layout, ...]] = {  # the first layout is the one the archive holds
    "cifar10": (
        _Layout(("cifar10", "cifar-10-batches-bin"),
                {"train": tuple(f"{name}.bin" for name in _TRAIN_BATCHES), "test": ("test_batch.bin",)},
                CIFAR10_BINARY, functools.partial(read_binary, label_bytes=1)),
        _Layout(("cifar-10-batches-py",), {"train": _TRAIN_BATCHES, "test": ("test_batch",)},
                CIFAR10_PYTHON, functools.partial(read_pickle, label_key=b"labels")),
    ),
    "cifar100": (
        _Layout(("cifar-100-binary",), {"train": ("train.bin",), "test": ("test.bin",)},
                CIFAR100_BINARY, functools.partial(read_binary, label_bytes=2)),
        _Layout(("cifar-100-python",), {"train": ("train",), "test": ("test",)},
                CIFAR100_PYTHON, functools.partial(read_pickle, label_key=b"fine_labels")),
    ),
}
_CLASSES = {"cifar10": CIFAR10_CLASSES, "cifar100": CIFAR100_CLASSES}


@register("dataset", "cifar10")
def cifar10(
    split: str = "test",
    root: str | Path | None = None,
    download: bool = True,
    device: torch.device | str | None = None,
) -> TensorData:
    """CIFAR-10 ``split`` as (N, 3, 32, 32) images in [0, 1] with labels 0-9."""
    return _load("cifar10", split, root, download, device)


@register("dataset", "cifar100")
def cifar100(
    split: str = "test",
    root: str | Path | None = None,
    download: bool = True,
    device: torch.device | str | None = None,
) -> TensorData:
    """CIFAR-100 ``split`` as (N, 3, 32, 32) images in [0, 1] with fine labels 0-99."""
    return _load("cifar100", split, root, download, device)


def _load(name: str, split: str, root: str | Path | None, allow_download: bool,
          device: torch.device | str | None) -> TensorData:
    check_split(split)
    layout, paths = _verified_files(name, split, data_root(root), allow_download)
    parts = [layout.read(path) for path in paths]
    images = np.concatenate([images for images, _ in parts])
    labels = np.concatenate([labels for _, labels in parts])
    classes = _CLASSES[name]
    if labels.size and int(labels.max()) >= len(classes):
        raise DataError(f"{name} files {paths[0].parent} hold label {int(labels.max())}, "
                        f"beyond the {len(classes)} classes")
    return from_uint8(images, labels, classes, f"{name}-{split}", device)


def _verified_files(
    name: str, split: str, root: Path, allow_download: bool
) -> tuple[_Layout, list[Path]]:
    """The first complete layout's files for ``split``, verified; fetched if no layout is present.

    A folder holding only some of the split's files is an error: a partial dataset is never
    returned, mixed with another layout or silently re-fetched.
    """
    url, archive_checksum = ARCHIVES[name]
    for layout in _LAYOUTS[name]:
        names = layout.files[split]
        for folder in (root / folder_name for folder_name in layout.folders):
            present = [(folder / file_name).is_file() for file_name in names]
            if all(present):
                return layout, [verify(folder / n, layout.checksums[n]) for n in names]
            if any(present):
                raise DataError(
                    f"incomplete {name} {split} data: missing {names[present.index(False)]} in {folder} "
                    f"({sum(present)} of {len(names)} files present); get the full set from {url} "
                    f"or set {DATA_ENV} to a directory that holds it"
                )
    if not allow_download:
        searched = [root / folder for layout in _LAYOUTS[name] for folder in layout.folders]
        raise missing_file(_LAYOUTS[name][0].files[split][0], searched, url)
    archive = fetch(url, root / url.rsplit("/", 1)[1], archive_checksum)
    extract(archive, root)
    return _verified_files(name, split, root, allow_download=False)
