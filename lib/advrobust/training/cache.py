"""Trained weights cached on disk, keyed by the full training configuration.

``<cache_dir>/<model>-<dataset>-<key>/`` holds ``config.json`` (the config, for people),
``last.pt`` (the resumable state, rewritten every epoch) and ``final.pt`` (the weights). The cache
directory is the ``cache_dir`` argument, else ``$ADVROBUST_CACHE``, else ``<repo>/data/checkpoints``.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from torch import Tensor, nn

from ..errors import require
from ..models import create_model
from ..runtime import resolve_device, seed_everything
from .checkpoint import load_checkpoint, save_atomic
from .config import TrainConfig
from .loop import place_model, train

REPO_ROOT = Path(__file__).resolve().parents[3]
FINAL_WEIGHTS = "final.pt"


def cache_root(cache_dir: Path | str | None = None) -> Path:
    """``cache_dir`` if given, else ``$ADVROBUST_CACHE``, else ``<repo>/data/checkpoints``."""
    if cache_dir is not None:
        return Path(cache_dir)
    return Path(os.environ.get("ADVROBUST_CACHE") or REPO_ROOT / "data" / "checkpoints")


def run_directory(config: TrainConfig, cache_dir: Path | str | None = None) -> Path:
    """The directory that holds the checkpoints of ``config``."""
    return cache_root(cache_dir) / f"{config.model}-{config.dataset}-{config.key()}"


def load_training_split(
    config: TrainConfig, data_root: Path | str | None, device: torch.device
) -> tuple[Tensor, Tensor]:
    """The training images and labels of ``config.dataset``, reduced to ``config.train_subset``."""
    from ..data import load_dataset  # imported here: the data package is only needed to train

    data = load_dataset(config.dataset, "train", root=data_root, device=device)
    if config.train_subset is not None:
        data = data.subset(config.train_subset, config.seed)
    return data.x, data.y


def trained_model(
    config: TrainConfig,
    device: torch.device | str = "auto",
    cache_dir: Path | str | None = None,
    data_root: Path | str | None = None,
    progress: bool | None = None,
) -> nn.Module:
    """The model trained by ``config``, in eval mode on ``device``: from the cache, else trained now.

    An interrupted training run resumes from its ``last.pt``. The weights always come from
    ``final.pt``, so a fresh run and a cache hit return the same model.
    """
    device = resolve_device(device) if isinstance(device, str) else device
    directory = run_directory(config, cache_dir)
    final = directory / FINAL_WEIGHTS
    seed_everything(config.seed)
    model = create_model(config.model)
    if not final.exists():
        x, y = load_training_split(config, data_root, device)
        require(
            int(y.max()) < model.num_classes,
            f"dataset {config.dataset!r} has labels up to {int(y.max())}, "
            f"but model {config.model!r} has {model.num_classes} classes",
        )
        directory.mkdir(parents=True, exist_ok=True)
        config_text = json.dumps(config.to_dict(), indent=2, sort_keys=True)
        (directory / "config.json").write_text(config_text)
        train(model, x, y, config, device, directory, progress=progress)
        save_atomic(model.state_dict(), final)
    model.load_state_dict(load_checkpoint(final, device))
    return place_model(model, device).eval()
