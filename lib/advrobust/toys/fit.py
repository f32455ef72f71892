"""Training the 2-D toy network with the one trainer, on the CPU and one thread."""
from __future__ import annotations

import torch
from torch import Tensor

from ..defenses import Defense
from ..errors import ConfigError
from ..models import ToyMLP, create_model
from ..runtime import cpu_threads
from ..training import TrainConfig, train


def fit_toy(config: TrainConfig, x: Tensor, y: Tensor, defense: Defense | None = None, hidden: int = 32) -> ToyMLP:
    """The ``config.model`` toy network (width ``hidden``) trained on points ``x`` (N, 2) with labels
    ``y`` (N,) by :func:`advrobust.training.train` with ``defense``; eval mode.

    Deterministic given ``config.seed`` (which also seeds the initial weights). Runs on one thread:
    for a network this small, more threads only add synchronisation, which costs tenfold on a busy
    machine.
    """
    with cpu_threads(1):
        torch.manual_seed(config.seed)
        model = create_model(config.model, hidden=hidden)
        if not isinstance(model, ToyMLP):
            raise ConfigError(f"{config.model!r} is not a toy network")
        train(model, x, y, config, "cpu", defense=defense, progress=False)
    model.eval()
    return model
