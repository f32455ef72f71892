"""Runtime concerns shared by every layer: the device, seeds, CPU threads and the cache root.

This module is the bottom of the package: it imports nothing of ``advrobust`` but
:mod:`advrobust.errors`, and everything else may import it.
"""
from __future__ import annotations

import functools
import hashlib
import os
import random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from .errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[2]


def resolve_device(name: str | torch.device = "auto") -> torch.device:
    """``"auto"`` picks CUDA when present, else the CPU; ``"cpu"``/``"cuda"``/``"cuda:1"`` as given."""
    if isinstance(name, torch.device):
        return name
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"unknown device {name!r}; use 'auto', 'cpu' or 'cuda[:N]'") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} asked for, but CUDA is not available on this machine")
    return device


def device_name(device: torch.device) -> str:
    """Human-readable name of ``device`` (the GPU model, or the CPU)."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({os.cpu_count()} cores)"


def seed_everything(seed: int, deterministic: bool = True) -> torch.Generator:
    """Seed Python, NumPy and torch; with ``deterministic`` ask cuDNN for deterministic kernels.

    Returns a CPU ``torch.Generator`` seeded with ``seed`` for code that wants its own stream.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
    return torch.Generator().manual_seed(seed)


@contextmanager
def cpu_threads(count: int | None) -> Iterator[None]:
    """torch's intra-op thread count set to ``count`` inside the block, restored after.

    Small models and the lock-step rounds of black-box attacks send small batches, for which one
    thread is as fast as two and, unlike two, does not collapse when another process competes for
    the cores (measured 10x slower with 2 threads under load). ``None`` keeps torch's setting.
    """
    if count is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def cache_root(cache_dir: Path | str | None = None) -> Path:
    """Where trained models and finished attack runs are kept: ``cache_dir`` if given, else
    ``$ADVROBUST_CACHE``, else ``<repo>/data/checkpoints``."""
    if cache_dir is not None:
        return Path(cache_dir)
    return Path(os.environ.get("ADVROBUST_CACHE") or REPO_ROOT / "data" / "checkpoints")


@functools.cache
def source_hash(package: Path) -> str:
    """SHA-256 of every ``.py`` file in the folder ``package`` (names and contents): what a cache
    key holds so that changed code is run again rather than read back."""
    digest = hashlib.sha256()
    for path in sorted(package.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()
