"""HIGGS (Baldi, Sadowski & Whiteson 2014, "BSW14"), the binary task of the GBDT experiment (§2.5.0.5).

Each example is 28 real-valued kinematic features of a simulated collision; the label says
whether it produced a Higgs boson (1, "signal") or not (0, "background"). Two layouts are read
from the data root, the first one present wins:

- UCI: ``HIGGS.csv.gz`` (11,000,000 rows; label first, then the 28 features, comma-separated).
  As UCI's description says, the last 500,000 rows are the test set and the rest the training
  set. UCI publishes no checksum and the file is 2.6 GB, so it is never fetched automatically:
  the user downloads it from :data:`UCI_URL`. Its shape and labels are checked instead.
- LightGBM's example sample: ``higgs_lightgbm_sample/binary.train`` (7,000 rows) and
  ``binary.test`` (500 rows), tab-separated, label first, features rounded to 3 decimals
  (``microsoft/LightGBM``, ``examples/binary_classification``). Both files are verified against
  the sha256 sums in ``shared/data/PROVENANCE.md``, and fetched from GitHub when missing.

The features are a (N, 28) table in :class:`~advrobust.data.tensors.TensorData`. The data's ``name`` says which layout
was read (``higgs-train`` or ``higgs_lightgbm_sample-train``), since the two give different models.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ..errors import DataError
from ..registry import register
from ..runtime import resolve_device
from .files import DATA_ENV, Checksum, check_split, data_root, fetch, verify
from .tensors import TensorData

FEATURES = 28
CLASSES = ("background", "signal")

UCI_FILE = "HIGGS.csv.gz"
UCI_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/00280/HIGGS.csv.gz"
UCI_TEST_ROWS = 500_000  # "The last 500,000 examples are used as a test set" (UCI)

SAMPLE_FOLDER = "higgs_lightgbm_sample"
SAMPLE_FILES = {"train": "binary.train", "test": "binary.test"}
SAMPLE_URL = (  # the commit PROVENANCE.md names
    "https://raw.githubusercontent.com/microsoft/LightGBM/bae0b7ba953341a32b2a9c5c5c437a1b976f576f/"
    "examples/binary_classification/"
)
SAMPLE_CHECKSUMS: dict[str, Checksum] = {
    "binary.train": ("sha256", "41c42dc14f86960256bf872fc8ae6286c688b44f43b4057b29428787fc1e0444"),
    "binary.test": ("sha256", "d99ebec91acd99638f00c727c251c947a1d17ddfcbea27bfef6b0dc5e5fb1db3"),
}


@register("dataset", "higgs")
def higgs(
    split: str = "test",
    root: str | Path | None = None,
    download: bool = True,
    device: torch.device | str | None = None,
) -> TensorData:
    """HIGGS ``split``: features (N, 28) float32 (raw values, not scaled) and labels 0/1."""
    check_split(split)
    base = data_root(root)
    name = higgs_source(root)
    if name == "higgs":
        table = _read_uci(base / UCI_FILE, split)
    else:
        table = _read_table(_sample_file(base, split, download), sep="\t")
    return _tensor_data(table, f"{name}-{split}", device)


def higgs_source(root: str | Path | None = None) -> str:
    """Which HIGGS the loader reads under ``root``, as its data are named: ``"higgs"`` (UCI's file,
    when present) or :data:`SAMPLE_FOLDER` (LightGBM's sample)."""
    return "higgs" if (data_root(root) / UCI_FILE).is_file() else SAMPLE_FOLDER


def _read_uci(path: Path, split: str) -> np.ndarray:
    """The ``split`` rows of UCI's ``HIGGS.csv.gz``: the last 500,000 rows are the test set."""
    table = _read_table(path, sep=",")
    if len(table) <= UCI_TEST_ROWS:
        raise DataError(f"{path} has {len(table)} rows; UCI's HIGGS has 11,000,000 (the last "
                        f"{UCI_TEST_ROWS:,} are the test set): get the full file from {UCI_URL}")
    return table[-UCI_TEST_ROWS:] if split == "test" else table[:-UCI_TEST_ROWS]


def _sample_file(base: Path, split: str, allow_download: bool) -> Path:
    """LightGBM's sample file for ``split``, verified; fetched when missing and allowed."""
    folder = base / SAMPLE_FOLDER
    name = SAMPLE_FILES[split]
    path = folder / name
    if path.is_file():
        return verify(path, SAMPLE_CHECKSUMS[name])
    if any((folder / other).is_file() for other in SAMPLE_FILES.values()):
        raise DataError(f"incomplete HIGGS sample: missing {name} in {folder}; get it from "
                        f"{SAMPLE_URL}{name} or set {DATA_ENV} to a directory that holds both files")
    if not allow_download:
        raise DataError(
            f"missing HIGGS data: neither {base / UCI_FILE} nor {path} exists; download UCI's "
            f"{UCI_URL} (2.6 GB) into {base}, load with download=True to fetch LightGBM's sample "
            f"{SAMPLE_URL}{name}, or set {DATA_ENV} to a directory that holds one of them"
        )
    return fetch(SAMPLE_URL + name, path, SAMPLE_CHECKSUMS[name])


def _read_table(path: Path, sep: str) -> np.ndarray:
    """(N, 29) float32 rows of label and 28 features; anything else is a DataError."""
    try:
        table = pd.read_csv(path, sep=sep, header=None, dtype=np.float32).to_numpy()
    except (ValueError, pd.errors.ParserError) as error:
        raise DataError(f"{path} is not a table of numbers: {error}") from None
    if table.ndim != 2 or table.shape[1] != FEATURES + 1:
        raise DataError(f"{path} has {table.shape[1] if table.ndim == 2 else 0} columns; HIGGS rows "
                        f"are a label and {FEATURES} features")
    if not np.isin(table[:, 0], (0.0, 1.0)).all():
        raise DataError(f"{path} has labels other than 0 and 1 in its first column")
    return table


def _tensor_data(table: np.ndarray, name: str, device: torch.device | str | None) -> TensorData:
    target = resolve_device(device) if isinstance(device, str) else device
    x = torch.from_numpy(np.ascontiguousarray(table[:, 1:])).view(-1, FEATURES).to(target)
    y = torch.from_numpy(table[:, 0].astype(np.int64)).to(target)
    return TensorData(x=x, y=y, classes=CLASSES, name=name)
