"""What the text and dialogue trainers share about their on-disk runs (the image trainer has its
own in :mod:`.cache`): a configuration's key, its run directory, the resumable ``last.pt`` and the
final weights.

``<cache_root>/<model>-<data_key>-<key>/`` holds ``config.json`` (for people), ``last.pt`` (the
resumable state and the history, rewritten every epoch) and ``final.pt`` (the weights), all read
with ``weights_only=True``. A ``last.pt`` written by another configuration is refused, never
resumed.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import torch
from torch import nn

from ..errors import ConfigError, DataError
from ..runtime import cache_root, seed_everything
from .checkpoint import load_checkpoint, save_atomic

LAST_CHECKPOINT = "last.pt"
FINAL_WEIGHTS = "final.pt"

History = dict[str, list[float]]
ModelT = TypeVar("ModelT", bound=nn.Module)


def config_key(fields: Mapping[str, Any]) -> str:
    """A 12-hex-digit hash of a configuration's JSON: equal configs share it, any change alters it."""
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:12]


def run_directory(model: str, data_key: str, key: str, cache_dir: Path | str | None = None) -> Path:
    """``<cache_root>/<model>-<data_key>-<key>``: where a run's checkpoints live."""
    return cache_root(cache_dir) / f"{model}-{data_key}-{key}"


def resume_state(path: Path, key: str, device: torch.device) -> dict[str, Any]:
    """The state saved in ``last.pt`` at ``path`` by the configuration ``key`` (else a ConfigError)."""
    state: dict[str, Any] = load_checkpoint(path, device)
    if state["config_key"] != key:
        raise ConfigError(f"{path} was written by a different training config; delete it or use another directory")
    return state


def cached_model(directory: Path, fields: Mapping[str, Any], seed: int, build: Callable[[], ModelT],
                 train: Callable[[ModelT, Path], object], device: torch.device) -> ModelT:
    """The model of the run in ``directory`` in eval mode on ``device``: its ``final.pt``, trained
    first (``train(model, directory)``, which may resume from ``last.pt``) when there is none.
    The model is built after seeding with ``seed``, so a fresh run and a cache hit match."""
    final = directory / FINAL_WEIGHTS
    seed_everything(seed)
    model = build()
    if not final.exists():
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "config.json").write_text(json.dumps(dict(fields), indent=2, sort_keys=True))
        train(model, directory)
        save_atomic(model.state_dict(), final)
    model.load_state_dict(load_checkpoint(final, device))
    return model.to(device).eval()


def recorded_history(directory: Path, how: str) -> History:
    """The per-epoch history in a run's ``last.pt``; ``how`` says how to train it when absent."""
    path = directory / LAST_CHECKPOINT
    if not path.exists():
        raise DataError(f"no training record {path}; train the model first ({how})")
    history: History = load_checkpoint(path)["history"]
    return history
