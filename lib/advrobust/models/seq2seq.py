"""The attacked sequence-to-sequence model of thesis §3.1 (Seq2Sick): an LSTM encoder and an LSTM
decoder with Luong global attention and input feeding (Luong, Pham & Manning 2015), the
"word-level LSTM encoder and a word-based attention decoder" the thesis trains with OpenNMT-py.

Architecture, as OpenNMT-py's defaults that the author's code (github.com/cmhcbb/Seq2Sick) builds:

* encoder: an ``nn.LSTM`` of ``layers`` layers over the source embeddings, packed by length so
  that padding never enters it (unidirectional by default, as OpenNMT's ``rnn`` encoder; with
  ``bidirectional`` each direction has ``hidden_size / 2`` units and their final states are
  concatenated to start the decoder);
* decoder: ``layers`` stacked LSTM cells started from the encoder's final state, fed at step t the
  embedding of token t concatenated with the previous attentional output (input feeding, zeros at
  the first step); dropout between the stacked cells and on the attentional output;
* attention: the "general" score ``h_s^T W_a h_t``, softmax over the real source positions only,
  attentional output ``tanh(W_c [c_t; h_t])`` (no biases, as OpenNMT's ``general``);
* generator: a linear layer to the target-vocabulary logits z_t of eq. (3.1).

Eq. (3.1) of the thesis writes the decoder as seeing only the context ``c = h_N`` (SVL14); the
models it attacks, like this one, attend over every encoder state.

Departures from the author's OpenNMT-py models: the logits are returned raw (OpenNMT's generator
ends in a log-softmax), the quick sizes are smaller (embedding 128, hidden 256, one layer, against
OpenNMT's 500, 500, two layers; notes "Chapter 3.1"), and beam search uses no length penalty
and no coverage penalty, which are also OpenNMT's defaults.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import NamedTuple

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ..data.vocab import BOS, EOS, PAD
from ..errors import ConfigError, require
from ..registry import register


@contextmanager
def evaluating(module: nn.Module) -> Iterator[None]:
    """``module`` in eval mode (no dropout) and without autograd inside the block; its previous
    mode comes back afterwards."""
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        module.train(was_training)


class GlobalAttention(nn.Module):
    """Luong's global attention with the "general" score: ``a_t = softmax_s(h_s^T W_a h_t)`` over
    the real source positions, context ``c_t = sum_s a_ts h_s``, output ``tanh(W_c [c_t; h_t])``."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.linear_in = nn.Linear(size, size, bias=False)  # W_a
        self.linear_out = nn.Linear(2 * size, size, bias=False)  # W_c

    def forward(self, query: Tensor, memory: Tensor, mask: Tensor) -> Tensor:
        """``query`` (B, H), ``memory`` (B, S, H), ``mask`` (B, S) true at real tokens -> (B, H)."""
        scores = torch.bmm(memory, self.linear_in(query).unsqueeze(2)).squeeze(2)  # (B, S)
        weights = scores.masked_fill(~mask, float("-inf")).softmax(dim=1)
        context = torch.bmm(weights.unsqueeze(1), memory).squeeze(1)  # (B, H)
        return torch.tanh(self.linear_out(torch.cat([context, query], dim=1)))


class DecoderState(NamedTuple):
    """The decoder's recurrent state between steps."""

    h: Tensor  # (layers, B, H) hidden states of the stacked cells
    c: Tensor  # (layers, B, H) cell states
    feed: Tensor  # (B, H) the previous attentional output (input feeding)

    def select(self, rows: Tensor) -> DecoderState:
        """The state of the hypotheses ``rows`` (beam search's reordering)."""
        return DecoderState(self.h[:, rows], self.c[:, rows], self.feed[rows])


@register("model", "seq2seq_lstm", family="seq2seq")
class Seq2Seq(nn.Module):
    """LSTM encoder-decoder with global attention and input feeding (§3.1, eq. 3.1).

    Token ids use :mod:`advrobust.data.vocab`'s specials (PAD, UNK, BOS, EOS = 0, 1, 2, 3).
    Sources are right-padded (B, S) ids without BOS/EOS and their lengths (B,) (at least 1);
    decoder inputs start with BOS. Padding never leaks: a batch gives each sentence's own result.
    """

    def __init__(
        self,
        src_vocab_size: int,
        tgt_vocab_size: int,
        embedding_dim: int = 128,
        hidden_size: int = 256,
        layers: int = 1,
        dropout: float = 0.3,  # OpenNMT's default
        bidirectional: bool = False,
        init_range: float | None = None,  # OpenNMT's param_init: every weight ~ U(−r, r); None: torch's defaults
    ) -> None:
        super().__init__()
        require(min(src_vocab_size, tgt_vocab_size) > EOS, "a vocabulary needs the 4 specials and words")
        require(init_range is None or init_range > 0, f"init_range must be positive or None, got {init_range}")
        require(layers >= 1 and embedding_dim >= 1 and hidden_size >= 1, "sizes must be positive")
        require(0 <= dropout < 1, f"dropout must be in [0, 1), got {dropout}")
        require(not bidirectional or hidden_size % 2 == 0, "a bidirectional encoder needs an even hidden_size")
        directions = 2 if bidirectional else 1
        self.src_vocab_size, self.tgt_vocab_size = src_vocab_size, tgt_vocab_size
        self.hidden_size, self.layers, self.bidirectional = hidden_size, layers, bidirectional
        self.src_embedding = nn.Embedding(src_vocab_size, embedding_dim, padding_idx=PAD)
        self.tgt_embedding = nn.Embedding(tgt_vocab_size, embedding_dim, padding_idx=PAD)
        self.encoder = nn.LSTM(embedding_dim, hidden_size // directions, layers, batch_first=True,
                               dropout=dropout if layers > 1 else 0.0, bidirectional=bidirectional)
        self.decoder = nn.ModuleList(
            nn.LSTMCell(embedding_dim + hidden_size if i == 0 else hidden_size, hidden_size)
            for i in range(layers)
        )
        self.attention = GlobalAttention(hidden_size)
        self.dropout = nn.Dropout(dropout)
        self.generator = nn.Linear(hidden_size, tgt_vocab_size)
        if init_range is not None:
            self._opennmt_init(init_range)

    def _opennmt_init(self, init_range: float) -> None:
        """OpenNMT-py's ``-param_init``: every parameter uniform in [−r, r], then the padding rows
        of the embeddings set back to 0. It sets the scale of the embedding space, and with it what
        a learning rate of Seq2Sick means (the author's rates assume it)."""
        with torch.no_grad():
            for parameter in self.parameters():
                parameter.uniform_(-init_range, init_range)
            self.src_embedding.weight[PAD].zero_()
            self.tgt_embedding.weight[PAD].zero_()

    def forward(self, src: Tensor, src_lengths: Tensor, tgt_in: Tensor) -> Tensor:
        """Teacher-forced logits (B, T, V_tgt) of the next target token after each of ``tgt_in``
        (B, T) (BOS first), for sources ``src`` (B, S) with lengths ``src_lengths`` (B,)."""
        return self.forward_embedded(self.src_embedding(src), src_lengths, tgt_in)

    def forward_embedded(self, src_emb: Tensor, src_lengths: Tensor, tgt_in: Tensor) -> Tensor:
        """:meth:`forward` from source embeddings ``src_emb`` (B, S, E), the x + δ of eq. (3.2)."""
        memory, mask, state = self._encode(src_emb, src_lengths)
        outputs = []
        for token_emb in self.tgt_embedding(tgt_in).unbind(1):
            output, state = self._step(token_emb, state, memory, mask)
            outputs.append(output)
        return self.generator(torch.stack(outputs, dim=1))

    def greedy_embedded(self, src_emb: Tensor, src_lengths: Tensor, max_len: int) -> tuple[Tensor, Tensor]:
        """Free-running greedy decoding of ``max_len`` steps from ``src_emb`` (B, S, E): (logits
        (B, max_len, V), tokens (B, max_len)), token t+1 fed the argmax of step t.

        The z_t that Seq2Sick's losses (2.8)-(2.12) see, as the author's ``Translator.getOutput``:
        differentiable with respect to ``src_emb`` (the argmax tokens are not), and it does not
        stop at EOS (the caller masks from the first EOS on).
        """
        require(max_len >= 1, f"max_len must be at least 1, got {max_len}")
        memory, mask, state = self._encode(src_emb, src_lengths)
        token = torch.full((len(src_emb),), BOS, dtype=torch.long, device=src_emb.device)
        logits, tokens = [], []
        for _ in range(max_len):
            output, state = self._step(self.tgt_embedding(token), state, memory, mask)
            step_logits = self.generator(output)
            token = step_logits.argmax(dim=1)
            logits.append(step_logits)
            tokens.append(token)
        return torch.stack(logits, dim=1), torch.stack(tokens, dim=1)

    def translate(self, src: Tensor, src_lengths: Tensor, beam_size: int = 1, max_len: int = 50) -> list[list[int]]:
        """The output token ids of each source sentence, without BOS and EOS, in eval mode.

        ``beam_size`` 1 is greedy decoding; larger is beam search (the thesis uses 5), batched
        as B x K hypotheses, with OpenNMT's rules: a hypothesis ends at EOS and has no children,
        a sentence is done once the top of its beam ends, and the result is the ended hypothesis
        of highest total log-probability (no length penalty, OpenNMT's default); a sentence
        without any ended hypothesis after ``max_len`` steps gets its best unfinished one.
        """
        require(beam_size >= 1, f"beam_size must be at least 1, got {beam_size}")
        require(max_len >= 1, f"max_len must be at least 1, got {max_len}")
        with evaluating(self):
            return self._beam_search(src, src_lengths, beam_size, max_len)

    def nearest_source_words(self, emb: Tensor, exclude: Sequence[int] = (PAD, BOS, EOS)) -> Tensor:
        """The ids (...) of the source words whose embeddings are nearest in L2 to ``emb`` (..., E):
        the projection onto the vocabulary W of eq. (3.3). UNK is allowed by default (the thesis
        does not exclude it); ``exclude`` lists the ids never chosen."""
        weight = self.src_embedding.weight.detach()
        distances = torch.cdist(emb.detach().reshape(-1, weight.size(1)).to(weight.dtype), weight)
        distances[:, list(exclude)] = float("inf")
        return distances.argmin(dim=1).view(emb.shape[:-1])

    def _encode(self, src_emb: Tensor, src_lengths: Tensor) -> tuple[Tensor, Tensor, DecoderState]:
        """Encoder states (B, S, H), the source mask (B, S) and the decoder's initial state."""
        batch, length = src_emb.shape[:2]
        lengths = src_lengths.to("cpu", torch.long)  # pack_padded_sequence wants them on the CPU
        if lengths.shape != (batch,) or not bool((lengths >= 1).all()) or int(lengths.max()) > length:
            raise ConfigError(f"need one length in [1, {length}] per sentence, got {lengths.tolist()}")
        packed = pack_padded_sequence(src_emb, lengths, batch_first=True, enforce_sorted=False)
        outputs, (h, c) = self.encoder(packed)
        memory, _ = pad_packed_sequence(outputs, batch_first=True, total_length=length)
        if self.bidirectional:  # (layers * 2, B, H / 2) -> (layers, B, H), forward then backward
            h, c = (torch.cat(s.view(self.layers, 2, batch, -1).unbind(1), dim=2) for s in (h, c))
        mask = torch.arange(length, device=src_emb.device) < src_lengths.to(src_emb.device).unsqueeze(1)
        return memory, mask, DecoderState(h, c, memory.new_zeros(batch, self.hidden_size))

    def _step(self, token_emb: Tensor, state: DecoderState, memory: Tensor, mask: Tensor) -> tuple[Tensor, DecoderState]:
        """One decoder step from the embeddings (B, E) of the input tokens: the attentional output
        (B, H), after dropout, that the generator maps to logits, and the next state."""
        x = torch.cat([token_emb, state.feed], dim=1)
        hs, cs = [], []
        for i, cell in enumerate(self.decoder):
            h, c = cell(x, (state.h[i], state.c[i]))
            hs.append(h)
            cs.append(c)
            x = self.dropout(h) if i + 1 < self.layers else h
        output = self.dropout(self.attention(x, memory, mask))
        return output, DecoderState(torch.stack(hs), torch.stack(cs), output)

    def _beam_search(self, src: Tensor, src_lengths: Tensor, beam: int, max_len: int) -> list[list[int]]:
        """:meth:`translate`'s search; hypothesis b * beam + k is the k-th of sentence b."""
        memory, mask, state = self._encode(self.src_embedding(src), src_lengths)
        batch, device = len(src), src.device
        rows = torch.arange(batch, device=device).repeat_interleave(beam)
        memory, mask, state = memory[rows], mask[rows], state.select(rows)
        scores = torch.full((batch, beam), float("-inf"), device=device)
        scores[:, 0] = 0.0  # one live hypothesis at the start
        tokens = torch.full((batch * beam,), BOS, dtype=torch.long, device=device)
        history = torch.empty(batch * beam, 0, dtype=torch.long, device=device)
        best_score = torch.full((batch,), float("-inf"), device=device)
        best_tokens = torch.full((batch, max_len), PAD, dtype=torch.long, device=device)
        best_length = torch.zeros(batch, dtype=torch.long, device=device)
        done = torch.zeros(batch, dtype=torch.bool, device=device)
        offsets = torch.arange(batch, device=device).unsqueeze(1) * beam
        for step in range(max_len):
            output, state = self._step(self.tgt_embedding(tokens), state, memory, mask)
            log_probs = self.generator(output).log_softmax(dim=1).view(batch, beam, -1)
            ended = (tokens == EOS).view(batch, beam, 1)  # ended hypotheses have no children
            candidates = (scores.unsqueeze(2) + log_probs).masked_fill(ended, float("-inf"))
            scores, flat = candidates.view(batch, -1).topk(beam, dim=1)
            origin = (flat // log_probs.size(2) + offsets).view(-1)
            tokens = (flat % log_probs.size(2)).view(-1)
            history = torch.cat([history[origin], tokens.unsqueeze(1)], dim=1)
            state = state.select(origin)
            finished = (tokens.view(batch, beam) == EOS) & ~done.unsqueeze(1)
            top, which = scores.masked_fill(~finished, float("-inf")).max(dim=1)
            better = top > best_score
            best_score = torch.where(better, top, best_score)
            best_tokens[better, : step + 1] = history.view(batch, beam, -1)[better, which[better]]
            best_length[better] = step  # the ended hypothesis without its EOS
            done |= tokens.view(batch, beam)[:, 0] == EOS
            if bool(done.all()):
                break
        unfinished = torch.isinf(best_score)
        best_tokens[unfinished, : history.size(1)] = history.view(batch, beam, -1)[unfinished, 0]
        best_length[unfinished] = history.size(1)
        return [row[:length].tolist() for row, length in zip(best_tokens, best_length.tolist(), strict=True)]
