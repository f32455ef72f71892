"""Settings of Table 1.1 (Chapter 1): a character-level AG News classifier and the one-character
HotFlip attack on it.

The classifier is Zhang, Zhao & LeCun's (2015) small character-level ConvNet
(``char_cnn_small``) at the paper profile, trained with their recipe; the ``quick`` and ``smoke``
profiles train its reduction ``char_cnn_mini`` (64 features, 256 hidden units, 512 characters)
on a subset with Adam. The thesis names neither its model nor how many texts it attacked (it
shows one); the numbers of attacked texts are this book's choice. Nothing here runs without AG
News (``ag_news_csv/train.csv`` and ``test.csv`` under the data directory).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..training import TrainConfig
from .base import check_profile


@dataclass(frozen=True)
class TextClassificationSettings:
    """Table 1.1: the char-CNN's training run and the HotFlip attack on its test texts."""

    train: TrainConfig  # the classifier's run on "ag_news" (its full config keys the checkpoint cache)
    n_test: int | None  # test texts for the clean accuracy (a seeded subset; None: all 7,600)
    n_attack: int  # correctly classified test texts attacked (a seeded choice among them)
    candidates: int  # HotFlip: flips per text, of highest first-order estimate, evaluated exactly
    # (about the alphabet's 69 characters or more: the estimate's top flips often share a position)
    attack_batch: int  # texts per HotFlip pass (each evaluates attack_batch * candidates texts)


# Zhang et al.: SGD with momentum 0.9, batch 128, step size 0.01 halved every 3 epochs, 10
# times: 30 epochs, halved after epochs 3, 6, ..., 27 (the tenth halving would come after the last).
_ZHANG_HALVINGS = tuple(range(3, 30, 3))

_SETTINGS = {
    "smoke": TextClassificationSettings(
        train=TrainConfig(model="char_cnn_mini", dataset="ag_news", epochs=1, batch_size=64, optimizer="adam",
                          lr=1e-3, train_subset=1024, seed=0),
        n_test=256, n_attack=16, candidates=20, attack_batch=16,
    ),
    # about 5 minutes of training on a 2-core CPU (roughly 450 texts a second)
    "quick": TextClassificationSettings(
        train=TrainConfig(model="char_cnn_mini", dataset="ag_news", epochs=4, batch_size=128, optimizer="adam",
                          lr=1e-3, schedule="cosine", train_subset=30_000, seed=0),
        n_test=None, n_attack=200, candidates=80, attack_batch=16,
    ),
    "paper": TextClassificationSettings(
        train=TrainConfig(model="char_cnn_small", dataset="ag_news", epochs=30, batch_size=128, optimizer="sgd",
                          lr=0.01, momentum=0.9, schedule="multistep", milestones=_ZHANG_HALVINGS, gamma=0.5,
                          seed=0),
        n_test=None, n_attack=1000, candidates=200, attack_batch=32,
    ),
}


def text_classification(profile: str) -> TextClassificationSettings:
    """Settings of Table 1.1 at ``profile``."""
    return _SETTINGS[check_profile(profile)]
