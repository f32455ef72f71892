"""A tiny negotiation agent and slices of the shipped dialogues, shared by the dialogue tests."""
from __future__ import annotations

import os

import pytest
import torch
from advrobust.data import Vocabulary, data_root
from advrobust.data import negotiation as neg
from advrobust.data.vocab import SPECIALS
from advrobust.dialogue import Scenario
from advrobust.models import DialogueAgent
from advrobust.training.dialogue import DialogueTrainConfig, train_dialogue_model

TINY = {"word_dim": 16, "context_dim": 8, "context_hidden": 8, "lang_hidden": 16, "attention_hidden": 16,
        "selection_hidden": 16, "dropout": 0.1}
WORDS = SPECIALS + neg.DIALOGUE_MARKERS + tuple(f"w{i}" for i in range(12))
VOCABULARY = Vocabulary(WORDS)
SCENARIO = Scenario((1, 4, 1), ((4, 1, 2), (0, 2, 2)))  # the first line of train.txt


def tiny_agent(seed: int = 0, **options: float | bool) -> DialogueAgent:
    """An untrained agent over :data:`WORDS`, in eval mode."""
    torch.manual_seed(seed)
    return DialogueAgent(len(WORDS), **{**TINY, **options}).eval()


def val_slices(train_lines: int = 128, valid_lines: int = 32,
               unk_threshold: int = 3) -> tuple[neg.NegotiationData, neg.NegotiationData]:
    """The first ``train_lines`` lines of the shipped val.txt and the next ``valid_lines``, with a
    vocabulary built on the first."""
    if not os.environ.get("ADVROBUST_DATA"):
        pytest.fail("ADVROBUST_DATA is not set: point it at the dataset directory (CI: shared/data)")
    examples = neg.load_negotiation("val", data_root()).examples
    train = neg.NegotiationCorpus(examples[:train_lines], "a")
    valid = neg.NegotiationCorpus(examples[train_lines:train_lines + valid_lines], "b")
    vocabulary = neg.negotiation_vocabulary(train.dialogues(), unk_threshold=unk_threshold)
    return neg.negotiation_data(train, vocabulary), neg.negotiation_data(valid, vocabulary)


def trained_small_agent(train: neg.NegotiationData, valid: neg.NegotiationData, epochs: int = 4,
                        lr: float = 3e-3, **sizes: int) -> DialogueAgent:
    """A small agent trained on ``train`` with Adam (seconds), in eval mode."""
    options = {**TINY, "init_range": 0.0, **sizes}
    config = DialogueTrainConfig("negotiator_gru", "val-slice", (("vocab_size", len(train.words)), *options.items()),
                                 epochs=epochs, optimizer="adam", lr=lr, min_lr=1.0, seed=3)
    torch.manual_seed(config.seed)
    model = config.build_model()
    train_dialogue_model(model, train, valid, config, "cpu", progress=False)
    return model.eval()
