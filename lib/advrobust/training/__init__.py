"""The trainer of every defense (natural training by default) and the on-disk cache of trained weights."""
from __future__ import annotations

from .augment import random_crop_flip
from .cache import cache_root, load_training_split, run_directory, trained_model, training_record
from .checkpoint import load_checkpoint, save_atomic
from .config import OPTIMIZERS, SCHEDULES, TrainConfig
from .loop import History, place_model, run_key, train

__all__ = [
    "OPTIMIZERS",
    "SCHEDULES",
    "History",
    "TrainConfig",
    "cache_root",
    "load_checkpoint",
    "load_training_split",
    "place_model",
    "random_crop_flip",
    "run_directory",
    "run_key",
    "save_atomic",
    "train",
    "trained_model",
    "training_record",
]
