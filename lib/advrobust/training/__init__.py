"""The trainer of every defense (natural training by default), the on-disk cache of trained
weights, and the LightGBM trainer of §2.5.0.5 (:mod:`.gbdt`)."""
from __future__ import annotations

from .augment import random_crop_flip
from .cache import load_training_split, run_directory, trained_model, training_record
from .checkpoint import load_checkpoint, save_atomic
from .config import OPTIMIZERS, SCHEDULES, TrainConfig
from .gbdt import GBDTConfig, fit_booster, train_gbdt
from .loop import History, StartFrom, place_model, run_key, train

__all__ = [
    "OPTIMIZERS",
    "SCHEDULES",
    "GBDTConfig",
    "History",
    "StartFrom",
    "TrainConfig",
    "load_checkpoint",
    "load_training_split",
    "place_model",
    "random_crop_flip",
    "run_directory",
    "run_key",
    "save_atomic",
    "fit_booster",
    "train",
    "train_gbdt",
    "trained_model",
    "training_record",
]
