"""The trainer of every defense (natural training by default), the on-disk cache of trained
weights, the LightGBM trainer of §2.5.0.5 (:mod:`.gbdt`), the text trainer of §3.1 (:mod:`.text`)
and the supervised trainer of §3.2's negotiation agent (:mod:`.dialogue`)."""
from __future__ import annotations

from .augment import random_crop_flip
from .cache import (
    ModelRun,
    load_training_split,
    run_directory,
    trained_model,
    trained_models,
    training_record,
)
from .checkpoint import load_checkpoint, save_atomic
from .config import OPTIMIZERS, SCHEDULES, TrainConfig
from .dialogue import (
    DialogueTrainConfig,
    SupervisedAgentSettings,
    dialogue_run_directory,
    dialogue_training_history,
    evaluate_dialogue_model,
    train_dialogue_model,
    trained_dialogue_model,
)
from .gbdt import GBDTConfig, fit_booster, train_gbdt
from .loop import History, StartFrom, place_model, run_key, train
from .text import (
    TextTrainConfig,
    text_run_directory,
    text_training_history,
    train_text_model,
    trained_text_model,
)

__all__ = [
    "OPTIMIZERS",
    "SCHEDULES",
    "DialogueTrainConfig",
    "GBDTConfig",
    "History",
    "ModelRun",
    "StartFrom",
    "SupervisedAgentSettings",
    "TextTrainConfig",
    "TrainConfig",
    "dialogue_run_directory",
    "dialogue_training_history",
    "evaluate_dialogue_model",
    "fit_booster",
    "load_checkpoint",
    "load_training_split",
    "place_model",
    "random_crop_flip",
    "run_directory",
    "run_key",
    "save_atomic",
    "text_run_directory",
    "text_training_history",
    "train",
    "train_dialogue_model",
    "train_gbdt",
    "train_text_model",
    "trained_dialogue_model",
    "trained_model",
    "trained_models",
    "trained_text_model",
    "training_record",
]
