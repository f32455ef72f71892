"""The negotiation agent of thesis §3.2 (AdvAgent): the end-to-end model of Lewis et al. (2017),
"Deal or No Deal? End-to-End Learning for Negotiation Dialogues" (LYD17), which the thesis trains
with the authors' code (github.com/facebookresearch/end-to-end-negotiator, ``DialogModel``) and
attacks in every row of Tables 3.10-3.15.

One network both speaks and decides (the thesis's speaking module θ and decision module θ'):

* **goal encoder**: the agent's input g (count and value of each of the 3 items) -> a vector
  h^g. The 2017 code's default, which its training recipe uses, multiplies an embedding of each
  count with an embedding of its value and maps the 3 products through tanh and a linear layer
  (``MlpContextEncoder``); ``rnn_context=True`` runs a GRU over the 6 numbers instead, as the
  paper describes (``RnnContextEncoder``).
* **language model** (eq. 3.5, x_t ~ p_θ(x_t | x_0..t-1, g)): a GRU over the word embeddings, each
  concatenated with h^g; its state goes through a linear layer back to the embedding size and
  the logits are the dot products with the word embeddings (tied weights). It reads both agents'
  turns: ``YOU:`` opens the agent's own turns, ``THEM:`` its partner's.
* **selection module** (eq. 3.6, o* = argmax_{o in O} prod_i p'_θ(o_i | x_0..T, g)): a
  bidirectional GRU over the dialogue (each token's embedding with the language GRU's state after
  it), attention pooling (a tanh layer and a linear score, softmax over the tokens), a tanh layer on
  the pooled vector and h^g, and one linear classifier per output position over
  :data:`~advrobust.data.negotiation.OUTPUT_TOKENS`: this agent's count of each item, then its
  partner's (6 positions). O holds every split of the pool plus ``<no_agreement>`` and
  ``<disconnect>`` (the 2017 ``generate_choices``); a choice's logit is the sum of its 6
  log-probabilities, eq. (3.6)'s product in logs (the 2017 code sums the raw logits, which
  differs by a constant per dialogue and picks the same choice).

Sizes of the 2017 recipe (README at the time of the thesis, ``train.py`` flags): word embedding
256, goal embedding and state 64, language state 128, selection GRU 256 per direction, selection
layer 256, dropout 0.5, uniform initialisation in ±0.1 (the selection GRU keeps torch's) — 1.64M
parameters with the 465-word vocabulary. ``init_range=0`` keeps torch's initialisation everywhere,
which the quick profile uses (:mod:`advrobust.profiles.dialogue`: with ±0.1 the
goal encoding starts near 1e-3 and the selection loss sits on a long plateau).

**Dialogue state.** :class:`DialogueState` holds what an agent has read of B dialogues at once (its
goal, the tokens, the language GRU's states), so the attacks of §3.2.3 can branch one dialogue
into K continuations and score them in one batched pass: :meth:`DialogueAgent.expand`,
:meth:`DialogueAgent.read` (teacher forcing; rows may read different numbers of tokens),
:meth:`DialogueAgent.score_candidates` (log-likelihood of K utterances),
:meth:`DialogueAgent.choice_logits` (Z_o of eq. 3.10 for every row), and
:meth:`DialogueAgent.next_word_logits` (Z_r of eq. 3.9).

**Writing** (:meth:`DialogueAgent.write`) follows the 2017 ``write``: read ``YOU:``, then sample
each word from the softmax of the logits divided by the temperature (0.5 in the thesis's
self-play), never sampling ``<pad> <unk> <s> </s> YOU: THEM:``, until ``<eos>`` or
``<selection>`` (at most ``max_words`` = 100 words); every sampled word is read, so the state ends
after the stop token. An utterance that is the lone ``<selection>`` ends the negotiation.

Departures from the 2017 code: padding is masked in the selection module (the 2017 code pads its
length-sorted batches and lets the selection GRU and attention run over the padding), so a
dialogue scores the same alone or in any batch; the selection module reads the whole dialogue,
final ``<selection>`` included, in training as in play (the 2017 training reads all tokens but
the last, its self-play all of them); sampling draws from a ``torch.Generator`` rather than the
global random state, so a seeded dialogue is reproducible on its own.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..data.negotiation import (
    DISAGREE,
    DISCONNECT,
    EOT_ID,
    INPUT_LENGTH,
    ITEMS,
    MAX_COUNT,
    NO_AGREEMENT,
    OUTPUT_ID,
    OUTPUT_TOKENS,
    SELECTION_ID,
    SELECTION_LENGTH,
    YOU_ID,
)
from ..data.vocab import PAD
from ..errors import require
from ..registry import register

CONTEXT_VALUES = 11  # the numbers a goal holds: counts 1-4, values 0-10
UNSPEAKABLE = 6  # ids below this are never written: <pad> <unk> <s> </s> YOU: THEM:
STOP_IDS = (EOT_ID, SELECTION_ID)  # a written turn ends with either
TEMPERATURE = 0.5  # the thesis's sampling temperature (§3.2.5, the 2017 self-play default)
MAX_WORDS = 100  # the 2017 write's limit on one utterance
UNWEIGHTED_OUTPUTS = (DISAGREE, DISCONNECT)  # selection targets that weigh 0 in training (2017 Engine)

Choice = tuple[int, ...] | None  # the counts an agent takes, or None for no agreement / disconnect


def enumerate_choices(counts: Sequence[int]) -> list[Choice]:
    """The set O of eq. (3.6) for a pool of ``counts``: every split, as the counts this agent takes
    (lexicographic), then ``None`` twice (``<no_agreement>``, ``<disconnect>``), as the 2017
    ``generate_choices``."""
    require(len(counts) == len(ITEMS) and all(0 <= c <= MAX_COUNT for c in counts), f"bad counts {counts!r}")
    splits: list[Choice] = [tuple(int(k) for k in taken) for taken in torch.cartesian_prod(
        *[torch.arange(c + 1) for c in counts]).reshape(-1, len(ITEMS)).tolist()]
    return splits + [None, None]


def choice_table(counts: Sequence[int]) -> Tensor:
    """(C, 6) output-token ids of each choice of :func:`enumerate_choices`: this agent's items,
    then the partner's (the rest); six ``<no_agreement>``, six ``<disconnect>``."""
    rows = []
    for choice in enumerate_choices(counts)[:-2]:
        assert choice is not None
        own = [OUTPUT_ID[f"item{i}={k}"] for i, k in enumerate(choice)]
        rows.append(own + [OUTPUT_ID[f"item{i}={c - k}"] for i, (c, k) in enumerate(zip(counts, choice))])
    rows += [[OUTPUT_ID[NO_AGREEMENT]] * SELECTION_LENGTH, [OUTPUT_ID[DISCONNECT]] * SELECTION_LENGTH]
    return torch.tensor(rows, dtype=torch.long)


@dataclass(frozen=True)
class DialogueState:
    """What an agent has read of B dialogues: its goal and every token with the language GRU's
    state after it. Rows are right-padded with PAD (tokens) and zeros (states)."""

    context: Tensor  # (B, 6) the agent's inputs c0 v0 c1 v1 c2 v2
    goal: Tensor  # (B, C) h^g, the encoded goal
    hidden: Tensor  # (B, H) the language GRU's state after the last token read (zeros before any)
    tokens: Tensor  # (B, T) the ids read so far
    states: Tensor  # (B, T, H) the language GRU's state after each token
    lengths: Tensor  # (B,) tokens read by each row

    def __len__(self) -> int:
        return len(self.context)


class DialogueOutput(NamedTuple):
    """Teacher-forced outputs over whole dialogues."""

    word_logits: Tensor  # (B, T, V): logits of token t + 1 after tokens 0..t
    selection_logits: Tensor  # (B, 6, O): per output position, logits over OUTPUT_TOKENS


class Written(NamedTuple):
    """An utterance written by :meth:`DialogueAgent.write` for each of B dialogues."""

    state: DialogueState  # the writer's state after reading YOU: and the words
    words: Tensor  # (B, L) the words after YOU:, ending in <eos> or <selection>, PAD after
    lengths: Tensor  # (B,) words in each utterance
    log_probs: Tensor  # (B, L) log-probability of each word under the sampling distribution, 0 after


@register("model", "negotiator_gru", family="dialogue_agent")
class DialogueAgent(nn.Module):
    """LYD17's negotiation model (module docstring); ``forward`` is its teacher-forced training pass."""

    unspeakable: Tensor  # (V,) bool: the ids write never samples

    def __init__(
        self,
        vocab_size: int,
        word_dim: int = 256,  # nembed_word
        context_dim: int = 64,  # nembed_ctx
        context_hidden: int = 64,  # nhid_ctx
        lang_hidden: int = 128,  # nhid_lang
        attention_hidden: int = 256,  # nhid_attn: the selection GRU, each direction
        selection_hidden: int = 256,  # nhid_sel
        dropout: float = 0.5,
        init_range: float = 0.1,  # 0: torch's default initialisation instead
        rnn_context: bool = False,  # the paper's GRU goal encoder instead of the code's default MLP
    ) -> None:
        super().__init__()
        require(vocab_size > SELECTION_ID, "a negotiation vocabulary holds the 8 specials and words")
        require(min(word_dim, context_dim, context_hidden, lang_hidden, attention_hidden, selection_hidden) >= 1,
                "sizes must be positive")
        require(0 <= dropout < 1, f"dropout must be in [0, 1), got {dropout}")
        require(init_range >= 0, f"init_range must be >= 0, got {init_range}")
        self.vocab_size = vocab_size
        self.rnn_context = rnn_context
        self.word_embedding = nn.Embedding(vocab_size, word_dim)
        if rnn_context:
            self.context_embedding = nn.Embedding(CONTEXT_VALUES, context_dim)
            self.context_rnn = nn.GRU(context_dim, context_hidden, batch_first=True)
        else:
            self.count_embedding = nn.Embedding(CONTEXT_VALUES, context_dim)
            self.value_embedding = nn.Embedding(CONTEXT_VALUES, context_dim)
            self.context_linear = nn.Linear(len(ITEMS) * context_dim, context_hidden)
        self.reader = nn.GRU(word_dim + context_hidden, lang_hidden, batch_first=True)
        self.decoder = nn.Linear(lang_hidden, word_dim)
        self.dropout = nn.Dropout(dropout)
        # the 2017 bidirectional selection GRU, one module per direction so that padding is skipped
        # without packing (packed sequences make the backward pass ~1.7x slower on the CPU)
        self.selection_forward = nn.GRU(lang_hidden + word_dim, attention_hidden, batch_first=True)
        self.selection_backward = nn.GRU(lang_hidden + word_dim, attention_hidden, batch_first=True)
        self.attention = nn.Sequential(nn.Linear(2 * attention_hidden, attention_hidden), nn.Tanh(),
                                       nn.Linear(attention_hidden, 1))
        self.selection_encoder = nn.Sequential(nn.Linear(2 * attention_hidden + context_hidden, selection_hidden),
                                               nn.Tanh())
        self.selection_decoders = nn.Linear(selection_hidden, SELECTION_LENGTH * len(OUTPUT_TOKENS))
        self.register_buffer("unspeakable", torch.arange(vocab_size) < UNSPEAKABLE, persistent=False)
        if init_range > 0:
            self._initialise(init_range)

    def _initialise(self, init_range: float) -> None:
        """The 2017 ``init_weights``: weights uniform in ±init_range, biases zero; the selection GRU
        keeps torch's initialisation."""
        for name, parameter in self.named_parameters():
            if name.startswith(("selection_forward.", "selection_backward.")):
                continue
            if "bias" in name:
                nn.init.zeros_(parameter)
            else:
                nn.init.uniform_(parameter, -init_range, init_range)

    # ----------------------------------------------------------------------------- reading
    def encode_goal(self, context: Tensor) -> Tensor:
        """h^g (B, C) of the inputs ``context`` (B, 6) = c0 v0 c1 v1 c2 v2."""
        require(context.ndim == 2 and context.size(1) == INPUT_LENGTH, f"need (B, 6) inputs, got {tuple(context.shape)}")
        if self.rnn_context:
            _, hidden = self.context_rnn(self.context_embedding(context))
            return hidden[0]
        products = self.count_embedding(context[:, 0::2]) * self.value_embedding(context[:, 1::2])  # (B, 3, E)
        return self.context_linear(torch.tanh(products.flatten(1)))

    def start(self, context: Tensor) -> DialogueState:
        """The state of B new dialogues for the inputs ``context`` (B, 6): nothing read yet."""
        goal = self.encode_goal(context)
        count = len(context)
        hidden_size = self.reader.hidden_size
        return DialogueState(context, goal, goal.new_zeros(count, hidden_size),
                             context.new_full((count, 0), PAD), goal.new_zeros(count, 0, hidden_size),
                             context.new_zeros(count))

    def read(self, state: DialogueState, tokens: Tensor, lengths: Tensor | None = None) -> tuple[DialogueState, Tensor]:
        """Read ``tokens`` (B, L), the first ``lengths[b]`` of row b (default all), after ``state``
        (teacher forcing). Returns the new state and the language GRU's states (B, L, H) after
        each token; :meth:`word_logits` of them predicts the token after each."""
        count, width = tokens.shape
        require(count == len(state), f"{count} rows of tokens for a state of {len(state)} dialogues")
        lengths = tokens.new_full((count,), width) if lengths is None else lengths.to(tokens.device)
        inputs = torch.cat([self.word_embedding(tokens), state.goal.unsqueeze(1).expand(-1, width, -1)], dim=2)
        outputs, _ = self.reader(self.dropout(inputs), state.hidden.unsqueeze(0).contiguous())
        rows = torch.arange(count, device=tokens.device)
        last = outputs[rows, (lengths - 1).clamp(min=0)]
        hidden = torch.where((lengths > 0).unsqueeze(1), last, state.hidden)
        total = state.lengths + lengths
        size = int(total.max()) if count else 0
        new_tokens = tokens.new_full((count, size), PAD)
        new_states = outputs.new_zeros(count, size, outputs.size(2))
        old = min(state.tokens.size(1), size)
        new_tokens[:, :old] = state.tokens[:, :old]
        new_states[:, :old] = state.states[:, :old]
        valid = torch.arange(width, device=tokens.device) < lengths.unsqueeze(1)  # (B, L)
        where = (rows.unsqueeze(1).expand(-1, width)[valid], (state.lengths.unsqueeze(1) + torch.arange(
            width, device=tokens.device))[valid])
        new_tokens[where] = tokens[valid]
        new_states = new_states.index_put(where, outputs[valid])
        return dataclasses.replace(state, hidden=hidden, tokens=new_tokens, states=new_states, lengths=total), outputs

    def word_logits(self, states: Tensor) -> Tensor:
        """Next-word logits (..., V) of language GRU states (..., H): the tied output layer."""
        return F.linear(self.decoder(states), self.word_embedding.weight)

    def next_word_logits(self, state: DialogueState) -> Tensor:
        """(B, V) logits of the next token after everything ``state`` has read (Z_r of eq. 3.9)."""
        return self.word_logits(state.hidden)

    @staticmethod
    def expand(state: DialogueState, copies: int) -> DialogueState:
        """``copies`` copies of each row of ``state`` (rows of one dialogue stay together): branch
        one dialogue into K continuations."""
        require(copies >= 1, f"copies must be positive, got {copies}")
        return DialogueState(*(getattr(state, field.name).repeat_interleave(copies, dim=0)
                               for field in dataclasses.fields(state)))

    # ----------------------------------------------------------------------------- training pass
    def forward(self, context: Tensor, dialogue: Tensor, lengths: Tensor | None = None) -> DialogueOutput:
        """Teacher-forced pass over whole dialogues ``dialogue`` (B, T), right-padded with PAD,
        of agents with inputs ``context`` (B, 6): next-word logits and selection logits."""
        lengths = dialogue.ne(PAD).sum(dim=1) if lengths is None else lengths
        state, outputs = self.read(self.start(context), dialogue, lengths)
        return DialogueOutput(self.word_logits(outputs), self.selection_logits(state))

    # ----------------------------------------------------------------------------- deciding
    def selection_logits(self, state: DialogueState) -> Tensor:
        """(B, 6, O) logits over :data:`OUTPUT_TOKENS` at each output position, after the dialogue
        ``state`` has read; padding is masked."""
        require(bool(state.lengths.gt(0).all()), "the selection module needs at least one token per dialogue")
        width = state.tokens.size(1)
        features = self.dropout(torch.cat([state.states, self.word_embedding(state.tokens)], dim=2))
        positions = torch.arange(width, device=features.device)
        real = positions < state.lengths.unsqueeze(1)
        # each dialogue reversed within its length (padding stays at the end): the backward direction
        flip = torch.where(real, state.lengths.unsqueeze(1) - 1 - positions, positions).unsqueeze(2)
        forward, _ = self.selection_forward(features)
        backward, _ = self.selection_backward(features.gather(1, flip.expand(-1, -1, features.size(2))))
        backward = backward.gather(1, flip.expand(-1, -1, backward.size(2)))
        encoded = torch.cat([forward, backward], dim=2)
        scores = self.attention(encoded).squeeze(2)
        weights = torch.softmax(scores.masked_fill(~real, float("-inf")), dim=1)
        pooled = torch.bmm(weights.unsqueeze(1), encoded).squeeze(1)
        hidden = self.selection_encoder(self.dropout(torch.cat([pooled, state.goal], dim=1)))
        return self.selection_decoders(hidden).view(len(state), SELECTION_LENGTH, len(OUTPUT_TOKENS))

    def choice_logits(self, state: DialogueState) -> Tensor:
        """(B, C) the log of eq. (3.6)'s prod_i p'(o_i | x, g) for every choice o of
        :func:`enumerate_choices` (Z_o of eq. 3.10); all rows must share their item counts."""
        counts = state.context[:, 0::2]
        require(bool(counts.eq(counts[:1]).all()), "choice_logits needs dialogues over the same item counts")
        table = choice_table(counts[0].tolist()).to(counts.device)  # (C, 6)
        log_probs = torch.log_softmax(self.selection_logits(state), dim=2)  # (B, 6, O)
        picked = log_probs.gather(2, table.t().unsqueeze(0).expand(len(state), -1, -1))  # (B, 6, C)
        return picked.sum(dim=1)

    def choose(self, state: DialogueState, sample: bool = False,
               generator: torch.Generator | None = None) -> tuple[list[Choice], Tensor]:
        """Each row's choice (eq. 3.6's argmax, or a sample from the softmax over O as the 2017 RL
        agent may) and its log-probability (B,) under that softmax."""
        logits = self.choice_logits(state)
        log_probs = torch.log_softmax(logits, dim=1)
        if sample:
            index = torch.multinomial(log_probs.exp().detach().cpu(), 1, generator=generator).squeeze(1)
        else:
            index = logits.detach().argmax(dim=1).cpu()
        options = enumerate_choices(state.context[0, 0::2].tolist())
        chosen = log_probs.gather(1, index.to(log_probs.device).unsqueeze(1)).squeeze(1)
        return [options[i] for i in index.tolist()], chosen

    # ----------------------------------------------------------------------------- writing
    def write(
        self,
        state: DialogueState,
        generator: torch.Generator,
        temperature: float = TEMPERATURE,
        max_words: int = MAX_WORDS,
    ) -> Written:
        """Read ``YOU:`` and sample an utterance for each row until ``<eos>`` or ``<selection>``
        (module docstring). ``generator`` (a CPU generator) makes it reproducible."""
        require(temperature > 0, f"temperature must be positive, got {temperature}")
        require(max_words >= 1, f"max_words must be positive, got {max_words}")
        count = len(state)
        device = state.context.device
        state, _ = self.read(state, torch.full((count, 1), YOU_ID, dtype=torch.long, device=device))
        done = torch.zeros(count, dtype=torch.bool, device=device)
        words, log_probs = [], []
        stops = torch.tensor(STOP_IDS, device=device)
        for _ in range(max_words):
            scores = (self.next_word_logits(state) / temperature).masked_fill(self.unspeakable, float("-inf"))
            log_p = torch.log_softmax(scores, dim=1)
            word = torch.multinomial(log_p.detach().exp().cpu(), 1, generator=generator).squeeze(1).to(device)
            word = word.masked_fill(done, PAD)
            words.append(word)
            log_probs.append(log_p.gather(1, word.unsqueeze(1)).squeeze(1).masked_fill(done, 0.0))
            state, _ = self.read(state, word.unsqueeze(1), (~done).long())
            done = done | torch.isin(word, stops)
            if bool(done.all()):
                break
        written = torch.stack(words, dim=1)
        return Written(state, written, written.ne(PAD).sum(dim=1), torch.stack(log_probs, dim=1))

    # ----------------------------------------------------------------------------- scoring
    def score_candidates(
        self,
        state: DialogueState,
        candidates: Tensor,
        lengths: Tensor | None = None,
        temperature: float = 1.0,
        mask_unspeakable: bool = False,
    ) -> Tensor:
        """(K,) log-likelihood of each of K candidate continuations ``candidates`` (K, L) (the first
        ``lengths[k]`` tokens of row k) after the one dialogue ``state`` has read, in one batched
        pass: sum_t log p(c_t | dialogue, c_<t). ``temperature`` and ``mask_unspeakable`` score
        under the sampling distribution of :meth:`write` instead of the plain model."""
        require(len(state) == 1, f"score_candidates continues one dialogue, got a state of {len(state)}")
        count, width = candidates.shape
        lengths = candidates.new_full((count,), width) if lengths is None else lengths.to(candidates.device)
        branched, outputs = self.read(self.expand(state, count), candidates, lengths)
        del branched
        before = torch.cat([state.hidden.expand(count, 1, -1), outputs[:, :-1]], dim=1)  # state before token t
        scores = self.word_logits(before) / temperature
        if mask_unspeakable:
            scores = scores.masked_fill(self.unspeakable, float("-inf"))
        token_log_probs = torch.log_softmax(scores, dim=2).gather(2, candidates.unsqueeze(2)).squeeze(2)
        real = torch.arange(width, device=candidates.device) < lengths.unsqueeze(1)
        return token_log_probs.masked_fill(~real, 0.0).sum(dim=1)

    def continue_batch(self, state: DialogueState, candidates: Tensor, lengths: Tensor | None = None,
                       suffix: Sequence[int] = ()) -> DialogueState:
        """The one dialogue ``state`` continued by each of K ``candidates`` (K, L) (the first
        ``lengths[k]`` tokens of row k), then the tokens ``suffix`` (e.g. ``YOU: <selection>``):
        K states, for :meth:`choice_logits` or :meth:`next_word_logits` of all K at once."""
        require(len(state) == 1, f"continue_batch branches one dialogue, got a state of {len(state)}")
        count = len(candidates)
        branched, _ = self.read(self.expand(state, count), candidates, lengths)
        if suffix:
            tail = torch.tensor(list(suffix), dtype=torch.long, device=candidates.device).expand(count, -1)
            branched, _ = self.read(branched, tail)
        return branched


def selection_weights(device: torch.device | str = "cpu") -> Tensor:
    """Class weights of :data:`OUTPUT_TOKENS` in the selection loss: 0 for ``<disagree>`` and
    ``<disconnect>``, else 1 (the 2017 ``Engine``'s ``sel_crit``)."""
    weights = torch.ones(len(OUTPUT_TOKENS), device=device)
    weights[[OUTPUT_ID[token] for token in UNWEIGHTED_OUTPUTS]] = 0.0
    return weights


def dialogue_losses(
    model: DialogueAgent, context: Tensor, dialogue: Tensor, selection: Tensor, weights: Tensor | None = None
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """The supervised losses of LYD17 over a batch of whole dialogues ``dialogue`` (B, T) with
    inputs ``context`` (B, 6) and selection targets ``selection`` (B, 6): the summed token negative
    log-likelihood (every token after the first, padding ignored), the number of those tokens,
    the summed weighted selection cross-entropy (:func:`selection_weights`) and its total weight."""
    lengths = dialogue.ne(PAD).sum(dim=1)
    dialogue = dialogue[:, : int(lengths.max())]
    output = model(context, dialogue, lengths)
    targets = dialogue[:, 1:]
    token_nll = F.cross_entropy(output.word_logits[:, :-1].flatten(0, 1), targets.flatten(),
                                ignore_index=PAD, reduction="sum")
    weights = selection_weights(dialogue.device) if weights is None else weights
    select = F.cross_entropy(output.selection_logits.flatten(0, 1), selection.flatten(), weight=weights,
                             reduction="sum")
    return token_nll, targets.ne(PAD).sum(), select, weights[selection].sum()
