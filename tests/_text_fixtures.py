"""Tiny sequence-to-sequence tasks shared by the model and the attack tests: random sentences over
a vocabulary of :data:`WORDS` words and their copy or reversal, in the trainer's format."""
from __future__ import annotations

import torch
from advrobust.data import TensorData, pad_sequences
from advrobust.data.vocab import BOS, EOS, PAD
from advrobust.models import Seq2Seq
from advrobust.runtime import seed_everything
from advrobust.training import TextTrainConfig, train_text_model

WORDS = 8  # the task vocabulary: ids 4 .. 11 after the four specials
VOCAB = 4 + WORDS


def pairs(count: int, seed: int, task: str = "reverse", lo: int = 1, hi: int = 6) -> TensorData:
    """``count`` random sentences of ``lo``..``hi`` words and their copy or reversal, in the
    trainer's format (targets ``BOS .. EOS``)."""
    generator = torch.Generator().manual_seed(seed)
    sources, targets = [], []
    for _ in range(count):
        length = int(torch.randint(lo, hi + 1, (1,), generator=generator))
        words = torch.randint(4, VOCAB, (length,), generator=generator).tolist()
        sources.append(words)
        targets.append([BOS, *(words[::-1] if task == "reverse" else words), EOS])
    return TensorData(pad_sequences(sources, PAD), pad_sequences(targets, PAD),
                      tuple(str(i) for i in range(VOCAB)), f"{task}-{seed}", PAD)


def options(**overrides: float | bool) -> tuple[tuple[str, int | float | bool], ...]:
    sizes = {"src_vocab_size": VOCAB, "tgt_vocab_size": VOCAB, "embedding_dim": 16, "hidden_size": 32}
    return tuple({**sizes, **overrides}.items())


def copy_model(seed: int) -> tuple[Seq2Seq, dict[str, list[float]]]:
    """A one-layer model trained for a few seconds to copy sentences of 3-6 words, and its history."""
    config = TextTrainConfig("seq2seq_lstm", "copy", options(embedding_dim=32, hidden_size=64, dropout=0.0),
                             epochs=3, batch_size=32, lr=0.01, seed=seed)
    seed_everything(seed)
    model = config.build_model()
    assert isinstance(model, Seq2Seq)
    history = train_text_model(model, pairs(1500, seed, "copy", lo=3), config, "cpu", progress=False)
    return model.eval(), history
