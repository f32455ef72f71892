"""MNIST (LeCun et al. 1998, "LBB98"), the first benchmark of the hard-label experiments (Sec. 2.5).

Files follow torchvision's layout, ``<root>/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte``,
gzipped (as distributed) or uncompressed. The ``.gz`` files are checked against the md5 sums
torchvision uses; the uncompressed files against the sha256 sums of the decompressed originals.
"""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import torch

from ..errors import DataError
from ..registry import register
from .files import Checksum, check_split, data_root, fetch, missing_file, verify
from .tensors import TensorData, from_uint8

MIRROR = "https://ossci-datasets.s3.amazonaws.com/mnist/"
CHECKSUMS: dict[str, Checksum] = {
    "train-images-idx3-ubyte.gz": ("md5", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
    "train-labels-idx1-ubyte.gz": ("md5", "d53e105ee54ea40749a09fcbcd1e9432"),
    "t10k-images-idx3-ubyte.gz": ("md5", "9fb629c4189551a2d022fa330f9573f3"),
    "t10k-labels-idx1-ubyte.gz": ("md5", "ec29112dd5afa0611ce80d1b7f02629c"),
    "train-images-idx3-ubyte": ("sha256", "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
    "train-labels-idx1-ubyte": ("sha256", "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
    "t10k-images-idx3-ubyte": ("sha256", "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    "t10k-labels-idx1-ubyte": ("sha256", "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
}
CLASSES = tuple(str(digit) for digit in range(10))
_FILE_PREFIX = {"train": "train", "test": "t10k"}


@register("dataset", "mnist")
def mnist(
    split: str = "test",
    root: str | Path | None = None,
    download: bool = True,
    device: torch.device | str | None = None,
) -> TensorData:
    """MNIST ``split`` as 28x28 grey images (N, 1, 28, 28) in [0, 1] with digit labels."""
    check_split(split)
    raw = data_root(root) / "MNIST" / "raw"
    prefix = _FILE_PREFIX[split]
    images = read_idx(_verified_file(raw, f"{prefix}-images-idx3-ubyte", download))
    labels = read_idx(_verified_file(raw, f"{prefix}-labels-idx1-ubyte", download))
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DataError(f"MNIST files in {raw} disagree: images {images.shape}, labels {labels.shape}")
    return from_uint8(images[:, None], labels, CLASSES, f"mnist-{split}", device)


def read_idx(path: Path) -> np.ndarray:
    """Parse an idx file of unsigned bytes (gzipped if its name ends in ``.gz``).

    Layout: two zero bytes, type byte 0x08 (uint8), the number of dimensions d, d big-endian
    uint32 sizes, then the data in row-major order.
    """
    content = path.read_bytes()
    if path.suffix == ".gz":
        content = gzip.decompress(content)
    if content[:3] != b"\x00\x00\x08":
        raise DataError(f"{path} is not an idx file of unsigned bytes (header {content[:4].hex()})")
    ndim = content[3]
    shape = tuple(int(size) for size in np.frombuffer(content, dtype=">u4", count=ndim, offset=4))
    values = np.frombuffer(content, dtype=np.uint8, offset=4 + 4 * ndim)
    if values.size != int(np.prod(shape)):
        raise DataError(f"{path} holds {values.size} values, its header promises {shape}")
    return values.reshape(shape)


def _verified_file(raw: Path, stem: str, allow_download: bool) -> Path:
    """``<stem>.gz`` or the uncompressed ``<stem>`` in ``raw``, verified; downloaded if neither exists."""
    for name in (f"{stem}.gz", stem):
        if (raw / name).is_file():
            return verify(raw / name, CHECKSUMS[name])
    archive = f"{stem}.gz"
    if not allow_download:
        raise missing_file(archive, [raw], MIRROR + archive)
    return fetch(MIRROR + archive, raw / archive, CHECKSUMS[archive])
