"""The language model behind Table 3.5's perplexities (thesis §3.1.4).

The thesis reports the perplexity of original and adversarial inputs but does not name its
language model; ours is a word-level LSTM LM trained on the attacked model's source-side training
text. Each sentence is scored as BOS + its words, predicting every word and the closing EOS.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..data.tensors import pad_sequences
from ..data.vocab import BOS, EOS, PAD
from ..errors import require
from ..registry import register
from .seq2seq import evaluating


class Perplexity(NamedTuple):
    """Perplexities of a set of sentences."""

    per_sentence: Tensor  # (N,) exp(mean negative log-likelihood of each sentence's tokens and EOS)
    corpus: float  # exp(total negative log-likelihood / total predicted tokens)


def next_token_pairs(ids: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
    """Inputs ``BOS w_1 .. w_L`` and targets ``w_1 .. w_L EOS`` (both (N, T + 1), PAD after) of
    the right-padded sentences ``ids`` (N, T) with ``lengths`` (N,)."""
    count, length = ids.shape
    lengths = lengths.to(ids.device)
    real = torch.arange(length, device=ids.device) < lengths.unsqueeze(1)
    words = ids.masked_fill(~real, PAD)
    bos = torch.full((count, 1), BOS, dtype=ids.dtype, device=ids.device)
    targets = torch.cat([words, torch.full_like(bos, PAD)], dim=1)
    targets[torch.arange(count, device=ids.device), lengths] = EOS
    return torch.cat([bos, words], dim=1), targets


@register("model", "lstm_lm", family="language_model")
class LanguageModel(nn.Module):
    """Word-level LSTM language model: embeddings, ``layers`` LSTM layers, a linear layer to
    next-token logits; dropout on the embeddings, between layers and before the output."""

    def __init__(
        self,
        vocab_size: int,
        embedding_dim: int = 128,
        hidden_size: int = 256,
        layers: int = 1,
        dropout: float = 0.3,
    ) -> None:
        super().__init__()
        require(vocab_size > EOS, "a vocabulary needs the 4 specials and words")
        require(layers >= 1 and embedding_dim >= 1 and hidden_size >= 1, "sizes must be positive")
        require(0 <= dropout < 1, f"dropout must be in [0, 1), got {dropout}")
        self.vocab_size = vocab_size
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=PAD)
        self.lstm = nn.LSTM(embedding_dim, hidden_size, layers, batch_first=True,
                            dropout=dropout if layers > 1 else 0.0)
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(hidden_size, vocab_size)

    def forward(self, ids: Tensor) -> Tensor:
        """Logits (B, T, V) of the token after each prefix ``ids[:, :t + 1]`` of ``ids`` (B, T)."""
        hidden, _ = self.lstm(self.dropout(self.embedding(ids)))
        return self.output(self.dropout(hidden))

    def perplexity(
        self,
        sentences: Sequence[Sequence[int]] | Tensor,
        lengths: Tensor | None = None,
        batch_size: int = 256,
    ) -> Perplexity:
        """Per-sentence and corpus perplexity of ``sentences`` (lists of ids without BOS/EOS, or a
        right-padded (N, T) tensor with ``lengths``, default its non-PAD counts), in eval mode.

        Every word and the closing EOS is predicted from BOS and the words before it; padding is
        never scored.
        """
        ids = sentences if isinstance(sentences, Tensor) else pad_sequences(sentences, PAD)
        ids = ids.to(self.output.weight.device)
        lengths = ids.ne(PAD).sum(dim=1) if lengths is None else lengths.to(ids.device)
        require(ids.ndim == 2 and len(ids) > 0 and lengths.shape == (len(ids),),
                f"need (N, T) ids with N lengths, got {tuple(ids.shape)} and {tuple(lengths.shape)}")
        losses = []
        with evaluating(self):
            for start in range(0, len(ids), batch_size):
                inputs, targets = next_token_pairs(ids[start:start + batch_size], lengths[start:start + batch_size])
                logits = self(inputs)
                nll = F.cross_entropy(logits.transpose(1, 2), targets, ignore_index=PAD, reduction="none")
                losses.append(nll.sum(dim=1))
        total = torch.cat(losses).double()
        counts = (lengths + 1).double()
        return Perplexity(torch.exp(total / counts), float(torch.exp(total.sum() / counts.sum())))
