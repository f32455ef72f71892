"""Natural training of the thesis models and the on-disk cache of trained weights."""
from __future__ import annotations

from .augment import random_crop_flip
from .cache import cache_root, load_training_split, run_directory, trained_model
from .checkpoint import load_checkpoint, save_atomic
from .config import OPTIMIZERS, SCHEDULES, TrainConfig
from .loop import BatchObjective, History, cross_entropy_objective, place_model, train

__all__ = [
    "OPTIMIZERS",
    "SCHEDULES",
    "BatchObjective",
    "History",
    "TrainConfig",
    "cache_root",
    "cross_entropy_objective",
    "load_checkpoint",
    "load_training_split",
    "place_model",
    "random_crop_flip",
    "run_directory",
    "save_atomic",
    "train",
    "trained_model",
]
