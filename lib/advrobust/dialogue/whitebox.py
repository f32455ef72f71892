"""The white-box attacks of thesis §3.2.3 on one adversary utterance: the reactive attack's
objective (3.9)-(3.11), the preemptive attack's (3.12), and the greedy word substitution that
minimises them.

The adversary has drafted an utterance x̂ with its regular speaking module and may change its
words. Every objective scores K candidate utterances in one batched pass of the target's model
from the target's current :class:`~advrobust.models.dialogue_agent.DialogueState` (white-box: the
attacker reads the target's weights and its state):

* **reactive** (:func:`reactive_objective`): the target reads ``THEM: x̂``; its next word must be
  ``<selection>`` (constraint (3.9), the margin of :func:`~.objectives.selection_margin` ≥ 0), and
  after ``YOU: <selection>`` its decision should favour the adversary, L of (3.10) < 0.
* **preemptive** (:func:`preemptive_objective`): the target reads ``THEM: x̂``, replies (sampled
  at its temperature, ``samples`` replies of at most ``reply_words`` words per candidate, all in one batch), then reads the
  adversary's ``THEM: <selection>``; L of (3.12), averaged over the sampled replies.

A preemptive edit whose L is below 0 on the search's samples is re-scored on ``confirm_samples``
(10) fresh replies and counts as a success only if the mean stays below 0: the author's code
re-scores such candidates on 10 samples, and with one sample per candidate (quick) a single
lucky reply would otherwise decide Algorithm 7's choice.

L is :func:`~.objectives.decision_loss` with o' the target's best unfavourable choice per
candidate (``original=None``): the thesis's o' while the original choice leads, and negative
exactly when the target's preferred choice leaves the adversary more points. κ is the profile's.

**The greedy step** (:func:`greedy_substitution`, §3.2.3.2: "At each iteration, we try to replace
each word in x̂ by the special token ⟨PAD⟩. A word that achieves minimal loss after swapping with
⟨PAD⟩ is then selected as the word to be replaced. Then we try to replace the selected word with
each word in the vocabulary. For all the trials that satisfy the constraint, we choose the one
with minimal loss"): each iteration scores the sentence with each unchanged position set to
``<pad>`` (one batch), then every speakable word at the chosen position (one batch), and keeps
the best if it improves; at most ``max_changes`` (2) positions change. Candidates are ordered by
the constraint first, then the loss: any candidate that satisfies (3.9) beats any that does not,
and those that do not are ordered by how far they miss it. Special tokens (``<pad> <unk> <s> </s>
YOU: THEM: <eos> <selection>``) are never substituted in, and the final ``<eos>`` is never changed.

Departures from the author's code (github.com/cmhcbb/Robustness-of-Dialogue-systems), which
follow the thesis instead: the code searches exhaustively (every position × every word, 100
iterations, no limit on changed words), scores 5·(Z_{o'} − max_Ō Z_o) − advantage with no κ,
and lets special tokens into the candidates.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from ..data.negotiation import EOT_ID, SELECTION_ID, THEM_ID, YOU_ID
from ..data.vocab import PAD
from ..errors import require
from ..models.dialogue_agent import MAX_WORDS, DialogueAgent, DialogueState
from .objectives import decision_loss, selection_margin

FIRST_WORD_ID = SELECTION_ID + 1  # ids below are the specials and the dialogue markers: never substituted in
INFEASIBLE = 1e4  # a candidate that misses (3.9) ranks after every candidate that satisfies it


@dataclass(frozen=True)
class WhiteBoxSettings:
    """The settings of the white-box attacks (§3.2.3)."""

    max_changes: int = 2  # "we only replace two words in x̂"
    kappa: float = 1.0  # (3.10)'s confidence margin κ ≥ 0; the thesis gives no value (ours)
    samples: int = 3  # the preemptive attack's sampled target replies per candidate
    reply_words: int = MAX_WORDS  # ... each at most this long (the 2017 limit on an utterance: 100)
    confirm_samples: int = 10  # a preemptive edit succeeds only if L over this many fresh replies stays < 0

    def __post_init__(self) -> None:
        require(self.max_changes >= 1, f"max_changes must be positive, got {self.max_changes}")
        require(self.kappa >= 0, f"kappa must be >= 0, got {self.kappa}")
        require(min(self.samples, self.reply_words, self.confirm_samples) >= 1,
                "samples, reply_words and confirm_samples must be positive")


@dataclass(frozen=True)
class Scores:
    """An objective's verdict on K candidates: the greedy key (lower is better) and its parts."""

    key: Tensor  # (K,) the order of the greedy search
    loss: Tensor  # (K,) L of (3.10)/(3.12)
    margin: Tensor  # (K,) (3.9)'s margin (+inf when the objective has no constraint)

    def succeeded(self) -> Tensor:
        """(K,) bool: the constraint holds and L < 0 (Algorithm 7's test)."""
        return (self.margin >= 0) & (self.loss < 0)


Objective = Callable[[Tensor], Scores]  # (K, L) candidate words -> their scores


def _utterances(words: Tensor) -> Tensor:
    """(K, L + 2) the partner's turn ``THEM: words <eos>`` for words (K, L)."""
    count = len(words)
    return torch.cat([words.new_full((count, 1), THEM_ID), words, words.new_full((count, 1), EOT_ID)], dim=1)


def reactive_objective(target: DialogueAgent, state: DialogueState, favourable: Tensor,
                       settings: WhiteBoxSettings) -> Objective:
    """Eqs. (3.9)-(3.11) for the target ``target`` in ``state``, Ō the mask ``favourable``."""
    def objective(words: Tensor) -> Scores:
        with torch.no_grad():
            replying = target.continue_batch(state, _utterances(words), suffix=(YOU_ID,))
            margin = selection_margin(target.next_word_logits(replying))
            selected, _ = target.read(replying, words.new_full((len(words), 1), SELECTION_ID))
            loss = decision_loss(target.choice_logits(selected), None, favourable, settings.kappa)
        key = torch.where(margin >= 0, loss, INFEASIBLE - margin)
        return Scores(key, loss, margin)
    return objective


def preemptive_objective(target: DialogueAgent, state: DialogueState, favourable: Tensor,
                         settings: WhiteBoxSettings, generator: torch.Generator, temperature: float) -> Objective:
    """Eq. (3.12) for the target ``target`` in ``state``: its replies sampled from ``generator``
    at ``temperature``, then the adversary's ``<selection>``; L averaged over the replies."""
    def objective(words: Tensor) -> Scores:
        count = len(words)
        with torch.no_grad():
            heard = target.continue_batch(state, _utterances(words))
            replied = target.write(target.expand(heard, settings.samples), generator, temperature,
                                   settings.reply_words).state
            ended, _ = target.read(replied, words.new_tensor([[THEM_ID, SELECTION_ID]]).expand(len(replied), -1))
            loss = decision_loss(target.choice_logits(ended), None, favourable, settings.kappa)
        loss = loss.view(count, settings.samples).mean(dim=1)
        return Scores(loss, loss, torch.full_like(loss, float("inf")))
    return objective


@dataclass(frozen=True)
class Substitution:
    """The outcome of :func:`greedy_substitution`."""

    words: Tensor  # (L,) the final words
    changed: tuple[int, ...]  # the positions changed, in the order they were
    scores: Scores  # of the final words (one row)


def greedy_substitution(words: Tensor, objective: Objective, vocab_size: int, max_changes: int) -> Substitution:
    """The thesis's greedy ⟨PAD⟩ heuristic (module docstring) on the words ``words`` (L,), ids of
    the target's vocabulary without the final ``<eos>``."""
    require(words.ndim == 1 and len(words) >= 1, f"need a non-empty (L,) sentence, got {tuple(words.shape)}")
    require(max_changes >= 1, f"max_changes must be positive, got {max_changes}")
    current = words.clone()
    scores = objective(current.unsqueeze(0))
    changed: list[int] = []
    vocabulary = torch.arange(FIRST_WORD_ID, vocab_size, device=words.device)
    while len(changed) < max_changes:
        open_positions = torch.tensor([p for p in range(len(current)) if p not in changed], device=words.device)
        if len(open_positions) == 0:
            break
        padded = current.repeat(len(open_positions), 1)
        padded[torch.arange(len(open_positions)), open_positions] = PAD
        position = int(open_positions[int(objective(padded).key.argmin())])
        trials = current.repeat(len(vocabulary), 1)
        trials[:, position] = vocabulary
        trial_scores = objective(trials)
        best = int(trial_scores.key.argmin())
        if not bool(trial_scores.key[best] < scores.key[0]):
            break
        current = trials[best]
        scores = Scores(*(getattr(trial_scores, name)[best:best + 1] for name in ("key", "loss", "margin")))
        changed.append(position)
    return Substitution(current, tuple(changed), scores)
