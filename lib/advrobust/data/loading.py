"""One entry point for the in-memory datasets: ``load_dataset("mnist", "test", device="cuda")``."""
from __future__ import annotations

from pathlib import Path

import torch

from ..registry import create, lookup
from .files import check_split, data_root
from .tensors import TensorData


def load_dataset(
    name: str,
    split: str = "test",
    root: str | Path | None = None,
    device: torch.device | str | None = None,
    download: bool = True,
) -> TensorData:
    """Dataset ``name`` (see ``registry.available("dataset")``), ``split`` "train" or "test".

    Files are read from ``root`` (default: :func:`data_root`), verified, fetched when missing and
    ``download`` is true, and the tensors are moved to ``device`` once.
    """
    lookup("dataset", name)  # an unknown name is reported before anything else
    check_split(split)
    return create("dataset", name, split=split, root=data_root(root), download=download, device=device)


def load_if_present(
    name: str, split: str = "test", root: str | Path | None = None, device: torch.device | str | None = None
) -> TensorData | None:
    """Dataset ``name`` if its files are already under ``root``, else None (nothing is downloaded).

    For chapters that add an optional dataset (e.g. CIFAR-10 at the ``quick`` profile) when a
    reader has it.
    """
    from ..errors import DataError

    try:
        return load_dataset(name, split, root, device, download=False)
    except DataError:
        return None
