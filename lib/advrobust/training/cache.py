"""Trained weights cached on disk, keyed by the full training configuration and defense.

``<cache_dir>/<model>-<dataset>-<key>/`` (natural training) or
``<cache_dir>/<model>-<dataset>-<defense>-<key>/`` (``...-<defense>-from-<start's defense>-<key>`` for a
run that starts from another run's weights) holds ``config.json`` (the config and defense,
for people), ``last.pt`` (the resumable state with the history and per-example defense state,
rewritten every epoch) and ``final.pt`` (the weights). The cache
directory is :func:`advrobust.runtime.cache_root`.

The training data are held in memory (:func:`load_training_split`), or, for a streamed dataset
(Restricted ImageNet, :mod:`advrobust.data.streamed`), read from disk while training. Under
``torchrun`` (:mod:`advrobust.training.distributed`) every process trains its share and rank 0
writes the files.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple, TypeVar

import torch
from torch import Tensor, nn

from ..data import load_dataset
from ..data.streamed import is_streamed
from ..defenses import Defense, Natural, State
from ..defenses.base import class_count
from ..errors import DataError, require
from ..runtime import cache_root, resolve_device, seed_everything
from .checkpoint import load_checkpoint
from .config import TrainConfig
from .loop import (
    LAST_CHECKPOINT,
    History,
    StartFrom,
    place_model,
    run_key,
    train,
    train_on,
)
from .run_file import describe_run
from .shard import save_from_main
from .sources import streamed_training_split

FINAL_WEIGHTS = "final.pt"
Label = TypeVar("Label")


def run_directory(
    config: TrainConfig,
    cache_dir: Path | str | None = None,
    defense: Defense | None = None,
    start_from: StartFrom | None = None,
) -> Path:
    """The directory that holds the checkpoints of ``config`` trained with ``defense`` from
    ``start_from``'s weights (default: a random initialisation)."""
    name = f"{config.model}-{config.dataset}"
    if (defense is not None and not isinstance(defense, Natural)) or start_from is not None:
        name += f"-{(defense or Natural()).name}"
    if start_from is not None:
        name += f"-from-{(start_from.defense or Natural()).name}"
    return cache_root(cache_dir) / f"{name}-{run_key(config, defense, start_from)}"


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
    start_from: StartFrom | None = None,
) -> nn.Module:
    """The model trained by ``config`` with ``defense`` (default natural training), in eval mode
    on ``device``: from the cache, else trained now. With ``start_from``, training begins from that
    run's final weights (trained first if it is not cached) instead of ``config.seed``'s random
    initialisation.

    An interrupted training run resumes from its ``last.pt``. The weights always come from
    ``final.pt``, so a fresh run and a cache hit return the same model.
    """
    device = resolve_device(device) if isinstance(device, str) else device
    directory = run_directory(config, cache_dir, defense, start_from)
    final = directory / FINAL_WEIGHTS
    require(start_from is None or start_from.config.model == config.model,
            f"cannot start a {config.model!r} run from another model's weights")
    initial = (trained_model(start_from.config, device, cache_dir, data_root, progress, start_from.defense)
               if start_from is not None and not final.exists() else None)
    seed_everything(config.seed)
    model = config.build_model()
    if not final.exists():
        if initial is not None:
            model.load_state_dict(initial.state_dict())
        if is_streamed(config.dataset):
            _describe(directory, config, defense, start_from)
            train_on(model, streamed_training_split(config, data_root), config, device, directory,
                     defense=defense, progress=progress, start_from=start_from)
        else:
            x, y = load_training_split(config, data_root, device)
            require(
                int(y.max()) < class_count(model),
                f"dataset {config.dataset!r} has labels up to {int(y.max())}, "
                f"but model {config.model!r} has {model.num_classes} classes",
            )
            _describe(directory, config, defense, start_from)
            train(model, x, y, config, device, directory, defense=defense, progress=progress, start_from=start_from)
        save_from_main(model.state_dict(), final)
    model.load_state_dict(load_checkpoint(final, device))
    return place_model(model, device).eval()


class ModelRun(NamedTuple):
    """One run of the image trainer as a value: what :func:`trained_model` trains. A chapter lists
    its runs once, then trains them (:meth:`trained`, :func:`trained_models`) or hands them to the
    job plan (:func:`advrobust.jobs.units.image_trainings`)."""

    config: TrainConfig
    defense: Defense | None = None  # None: natural training
    start_from: StartFrom | None = None  # None: a random initialisation

    def trained(self, device: torch.device | str = "auto", progress: bool | None = None) -> nn.Module:
        """The run's model, from the cache or trained now (:func:`trained_model`)."""
        return trained_model(self.config, device, progress=progress, defense=self.defense, start_from=self.start_from)


def trained_models(runs: Mapping[Label, ModelRun], device: torch.device | str) -> dict[Label, nn.Module]:
    """label -> the model of that run (:meth:`ModelRun.trained`)."""
    return {label: run.trained(device) for label, run in runs.items()}


def _describe(directory: Path, config: TrainConfig, defense: Defense | None, start_from: StartFrom | None) -> None:
    """Create the run ``directory`` with its ``config.json`` (:func:`describe_run`, for people)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(describe_run(config, defense, start_from), indent=2, sort_keys=True))


def training_record(
    config: TrainConfig,
    defense: Defense | None = None,
    cache_dir: Path | str | None = None,
    start_from: StartFrom | None = None,
) -> tuple[History, State]:
    """The per-epoch history and the final defense state of a cached run, on the CPU: the
    per-example state (e.g. CAT's eps_i) and the defense's learned parameters (e.g. SPROUT's β)."""
    path = run_directory(config, cache_dir, defense, start_from) / LAST_CHECKPOINT
    if not path.exists():
        raise DataError(f"no training record {path}; train the model first (trained_model)")
    checkpoint = load_checkpoint(path)
    return checkpoint["history"], {**checkpoint.get("defense_state", {}), **checkpoint.get("defense_parameters", {})}
