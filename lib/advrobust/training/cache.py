"""Trained weights cached on disk, keyed by the full training configuration and defense.

``<cache_dir>/<model>-<dataset>-<key>/`` (natural training) or
``<cache_dir>/<model>-<dataset>-<defense>-<key>/`` holds ``config.json`` (the config and defense,
for people), ``last.pt`` (the resumable state with the history and per-example defense state,
rewritten every epoch) and ``final.pt`` (the weights). The cache
directory is :func:`advrobust.runtime.cache_root`.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import Tensor, nn

from ..data import load_dataset
from ..defenses import Defense, Natural, State
from ..defenses.base import class_count
from ..errors import DataError, require
from ..models import create_model
from ..runtime import cache_root, resolve_device, seed_everything
from .checkpoint import load_checkpoint, save_atomic
from .config import TrainConfig
from .loop import LAST_CHECKPOINT, History, place_model, run_key, train

FINAL_WEIGHTS = "final.pt"


def run_directory(
    config: TrainConfig, cache_dir: Path | str | None = None, defense: Defense | None = None
) -> Path:
    """The directory that holds the checkpoints of ``config`` trained with ``defense``."""
    name = f"{config.model}-{config.dataset}"
    if defense is not None and not isinstance(defense, Natural):
        name += f"-{defense.name}"
    return cache_root(cache_dir) / f"{name}-{run_key(config, defense)}"


def load_training_split(
    config: TrainConfig, data_root: Path | str | None, device: torch.device
) -> tuple[Tensor, Tensor]:
    """The training images and labels of ``config.dataset``, reduced to ``config.train_subset``."""
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
    defense: Defense | None = None,
) -> nn.Module:
    """The model trained by ``config`` with ``defense`` (default natural training), in eval mode
    on ``device``: from the cache, else trained now.

    An interrupted training run resumes from its ``last.pt``. The weights always come from
    ``final.pt``, so a fresh run and a cache hit return the same model.
    """
    device = resolve_device(device) if isinstance(device, str) else device
    directory = run_directory(config, cache_dir, defense)
    final = directory / FINAL_WEIGHTS
    seed_everything(config.seed)
    model = create_model(config.model)
    if not final.exists():
        x, y = load_training_split(config, data_root, device)
        require(
            int(y.max()) < class_count(model),
            f"dataset {config.dataset!r} has labels up to {int(y.max())}, "
            f"but model {config.model!r} has {model.num_classes} classes",
        )
        directory.mkdir(parents=True, exist_ok=True)
        described = config.to_dict()
        if defense is not None:
            described["defense"] = defense.to_dict()
        (directory / "config.json").write_text(json.dumps(described, indent=2, sort_keys=True))
        train(model, x, y, config, device, directory, defense=defense, progress=progress)
        save_atomic(model.state_dict(), final)
    model.load_state_dict(load_checkpoint(final, device))
    return place_model(model, device).eval()


def training_record(
    config: TrainConfig, defense: Defense | None = None, cache_dir: Path | str | None = None
) -> tuple[History, State]:
    """The per-epoch history and the final defense state of a cached run, on the CPU: the
    per-example state (e.g. CAT's eps_i) and the defense's learned parameters (e.g. SPROUT's β)."""
    path = run_directory(config, cache_dir, defense) / LAST_CHECKPOINT
    if not path.exists():
        raise DataError(f"no training record {path}; train the model first (trained_model)")
    checkpoint = load_checkpoint(path)
    return checkpoint["history"], {**checkpoint.get("defense_state", {}), **checkpoint.get("defense_parameters", {})}
