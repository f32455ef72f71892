"""Writers of small synthetic dataset files in the exact official formats, for tests/test_data.py."""
from __future__ import annotations

import gzip
import hashlib
import pickle
import struct
import tarfile
from pathlib import Path

import numpy as np
import pytest
from advrobust.data.files import Checksum


def random_images(n: int, shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """``n`` uint8 images of ``shape`` that include the extreme values 0 and 255."""
    images = np.random.default_rng(seed).integers(0, 256, (n, *shape), dtype=np.uint8)
    images.reshape(n, -1)[0, :2] = (0, 255)
    return images


def write_idx(path: Path, array: np.ndarray) -> Path:
    """An idx file of unsigned bytes (magic 0x00000800 + ndim, big-endian sizes), gzipped if ``.gz``."""
    header = b"\x00\x00\x08" + bytes([array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    content = header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(content) if path.suffix == ".gz" else content)
    return path


def write_cifar_binary(path: Path, images: np.ndarray, *label_columns: np.ndarray) -> Path:
    """Binary CIFAR records: the label bytes (CIFAR-100: coarse, fine), then R, G, B planes of 32x32."""
    labels = np.stack(label_columns, axis=1).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.concatenate([labels, images.reshape(len(images), -1)], axis=1).tofile(path)
    return path


def write_cifar_pickle(path: Path, images: np.ndarray, **labels: list[int]) -> Path:
    """A python-layout batch: a pickled dict with bytes keys ``b"data"`` (N, 3072) and label lists."""
    batch = {b"batch_label": b"synthetic", b"data": images.reshape(len(images), -1)}
    batch.update({key.encode(): value for key, value in labels.items()})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(batch, protocol=2))
    return path


def write_tar_gz(archive: Path, root: Path, members: list[Path]) -> Path:
    """A ``.tar.gz`` holding ``members`` under their paths relative to ``root``."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "w:gz") as tar:
        for member in members:
            tar.add(member, arcname=str(member.relative_to(root)))
    return archive


def digest(path: Path, algorithm: str) -> str:
    return hashlib.new(algorithm, path.read_bytes()).hexdigest()


def trust(monkeypatch: pytest.MonkeyPatch, table: dict[str, Checksum], *paths: Path) -> None:
    """Make ``table`` (a loader's checksum table) expect the synthetic ``paths`` for this test."""
    for path in paths:
        algorithm = table[path.name][0]
        monkeypatch.setitem(table, path.name, (algorithm, digest(path, algorithm)))
