"""Units for the book's cached products, built from the same settings the chapters use.

``image_training`` is one run of the image trainer (:func:`advrobust.training.trained_model`),
named by its run directory, and needing the run it starts from, if any.
"""
from __future__ import annotations

from ..defenses import Defense
from ..training import TrainConfig, trained_model
from ..training.cache import FINAL_WEIGHTS, run_directory
from ..training.loop import StartFrom
from .unit import Unit


def image_training(config: TrainConfig, defense: Defense | None = None, start_from: StartFrom | None = None,
                   chapter: str = "") -> Unit:
    """The unit that trains ``config`` with ``defense`` from ``start_from``'s weights (see
    :func:`~advrobust.training.trained_model`); it needs the unit of the starting run."""
    name = run_directory(config, None, defense, start_from).name
    needs = () if start_from is None else (image_training(start_from.config, start_from.defense).name,)
    return Unit(name, "train", chapter, (f"{name}/{FINAL_WEIGHTS}",),
                lambda device: trained_model(config, device, defense=defense, start_from=start_from), needs)
