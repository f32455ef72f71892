"""Self-play of thesis §3.2: two agents negotiate over a scenario, then both choose and are scored.

The loop is the 2017 ``Dialog.run``: a coin toss decides who speaks first; the agents take turns,
each writing one utterance that the other reads, until one writes the lone ``<selection>``; then
each agent outputs its selection (eq. 3.6) and :func:`~.game.score` scores the pair. Agents
exchange words (strings), so agents with different vocabularies can meet.

The thesis lets agents "negotiate up to a maximum of 10 turns" (§3.2.1); the 2017 code has no
limit. Here a game ends without a deal (0 to both, :attr:`GameRecord.expired`) when ``max_turns``
utterances pass without ``<selection>``; the ``<selection>`` turn counts as one.

With ``complement`` set to an agent, that agent (the thesis's adversary, §3.2.2: "we let
adversarial agent chooses the complementary of target agent's choice") takes whatever its partner
leaves instead of choosing, so every game in which the partner selects ends in a deal.

Reproducibility: game ``i`` of :func:`self_play` draws the coin toss and every sampled word from
its own ``torch.Generator`` seeded with ``(seed, i)``, so a seeded run is identical run to run and
a game does not depend on the games before it.
"""
from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
from torch import Tensor
from tqdm import tqdm

from ..data.negotiation import ITEMS, SELECTION, THEM_ID, YOU_ID, Input
from ..data.vocab import Vocabulary
from ..errors import require
from ..models.dialogue_agent import MAX_WORDS, TEMPERATURE, DialogueAgent, DialogueState
from .game import GameMetrics, Outcome, Scenario, Selection, game_metrics, score

MAX_TURNS = 10  # §3.2.1: "Agents are allowed to negotiate up to a maximum of 10 turns"

Utterance = tuple[str, ...]


class Negotiator(Protocol):
    """An agent of the game: reads its goal, writes and reads utterances, chooses at the end."""

    def start(self, goal: Input) -> None:
        """Begin a new dialogue with the input ``c0 v0 c1 v1 c2 v2``."""

    def write(self, generator: torch.Generator) -> Utterance:
        """The next utterance (ending in ``<eos>``, or the lone ``<selection>``), also read by the writer."""

    def read(self, words: Sequence[str]) -> None:
        """Read the partner's utterance."""

    def choose(self) -> Selection:
        """The counts this agent takes, or None for no agreement."""


class ModelNegotiator:
    """A :class:`~advrobust.models.DialogueAgent` (the SV or RL agent) as a :class:`Negotiator`:
    samples at ``temperature`` (0.5, the thesis's) and chooses eq. (3.6)'s argmax. It reads and
    writes without gradients unless ``track_gradients`` (for REINFORCE, :mod:`.reinforce`). Put the
    model in eval mode first."""

    def __init__(self, model: DialogueAgent, vocabulary: Vocabulary, temperature: float = TEMPERATURE,
                 max_words: int = MAX_WORDS, track_gradients: bool = False) -> None:
        require(len(vocabulary) == model.vocab_size,
                f"the vocabulary has {len(vocabulary)} words, the model {model.vocab_size}")
        self.model, self.vocabulary = model, vocabulary
        self.temperature, self.max_words = temperature, max_words
        self.track_gradients = track_gradients
        self.written_log_probs: list[Tensor] = []  # this game's words' log-probabilities, per utterance
        self._state: DialogueState | None = None

    @property
    def state(self) -> DialogueState:
        """What the agent has read of the current dialogue."""
        require(self._state is not None, "start a dialogue first")
        assert self._state is not None
        return self._state

    def _device(self) -> torch.device:
        return next(self.model.parameters()).device

    def _gradients(self) -> AbstractContextManager[None]:
        return nullcontext() if self.track_gradients else torch.no_grad()

    def start(self, goal: Input) -> None:
        self.written_log_probs = []
        with self._gradients():
            self._state = self.model.start(torch.tensor([goal], dtype=torch.long, device=self._device()))

    def write(self, generator: torch.Generator) -> Utterance:
        with self._gradients():
            written = self.model.write(self.state, generator, self.temperature, self.max_words)
        self._state = written.state
        length = int(written.lengths[0])
        self.written_log_probs.append(written.log_probs[0, :length])
        return tuple(self.vocabulary.words[i] for i in written.words[0, :length].tolist())

    def draft(self, generator: torch.Generator) -> Utterance:
        """The utterance :meth:`write` would sample, without saying it (the state is unchanged):
        the attacks of §3.2.3 edit the draft of the adversary's regular speaking module first."""
        with torch.no_grad():
            written = self.model.write(self.state, generator, self.temperature, self.max_words)
        return tuple(self.vocabulary.words[i] for i in written.words[0, :int(written.lengths[0])].tolist())

    def say(self, words: Sequence[str]) -> None:
        """Read ``YOU:`` and ``words`` as this agent's own utterance (one it did not sample)."""
        self._extend([YOU_ID, *self.vocabulary.encode(words)])

    def read(self, words: Sequence[str]) -> None:
        self._extend([THEM_ID, *self.vocabulary.encode(words)])

    def _extend(self, ids: Sequence[int]) -> None:
        tokens = torch.tensor([list(ids)], dtype=torch.long, device=self._device())
        with self._gradients():
            self._state, _ = self.model.read(self.state, tokens)

    def choose(self) -> Selection:
        with torch.no_grad():
            choices, _ = self.model.choose(self.state)
        return choices[0]


@dataclass(frozen=True)
class GameRecord:
    """One negotiation: who said what, the selections and the outcome."""

    scenario: Scenario
    first: int  # the agent who spoke first
    turns: tuple[tuple[int, Utterance], ...]  # (speaker, words) in order
    selections: tuple[Selection, Selection]
    outcome: Outcome
    expired: bool  # the turn limit ended the game before <selection>

    def transcript(self, names: tuple[str, str] = ("Alice", "Bob")) -> str:
        """The dialogue as text, one turn a line, then the selections and the points."""
        lines = [f"{names[speaker]}: {' '.join(words)}" for speaker, words in self.turns]
        for agent in (0, 1):
            chosen = self.selections[agent]
            taken = "no agreement" if chosen is None else " ".join(f"{k}x{item}" for k, item in zip(chosen, ITEMS))
            lines.append(f"{names[agent]} takes {taken}: {self.outcome.scores[agent]}/10")
        return "\n".join(lines)


def play(
    agents: tuple[Negotiator, Negotiator],
    scenario: Scenario,
    generator: torch.Generator,
    max_turns: int = MAX_TURNS,
    first: int | None = None,
    complement: int | None = None,
) -> GameRecord:
    """One game between ``agents[0]`` and ``agents[1]`` over ``scenario`` (module docstring);
    ``first`` fixes who speaks first (default: a coin toss from ``generator``)."""
    require(max_turns >= 1, f"max_turns must be positive, got {max_turns}")
    require(first in (None, 0, 1) and complement in (None, 0, 1), f"agents are 0 and 1, got {first}, {complement}")
    opener = int(torch.rand(1, generator=generator).item() >= 0.5) if first is None else first
    for agent, negotiator in enumerate(agents):
        negotiator.start(scenario.input(agent))
    turns: list[tuple[int, Utterance]] = []
    writer = opener
    ended = False
    while len(turns) < max_turns:
        words = agents[writer].write(generator)
        agents[1 - writer].read(words)
        turns.append((writer, words))
        if words == (SELECTION,):
            ended = True
            break
        writer = 1 - writer
    if not ended:
        return GameRecord(scenario, opener, tuple(turns), (None, None), Outcome(False, (0, 0)), True)
    choices: list[Selection] = [None, None]
    for agent in (0, 1):
        if agent != complement:
            choices[agent] = agents[agent].choose()
    if complement is not None:
        choices[complement] = scenario.complement(choices[1 - complement])
    selections = (choices[0], choices[1])
    return GameRecord(scenario, opener, tuple(turns), selections, score(scenario, selections), False)


def self_play(
    agents: tuple[Negotiator, Negotiator],
    scenarios: Sequence[Scenario],
    seed: int,
    max_turns: int = MAX_TURNS,
    complement: int | None = None,
    progress: bool | None = False,
) -> list[GameRecord]:
    """One :func:`play` per scenario, game ``i`` seeded with ``(seed, i)``; ``progress`` shows a
    tqdm bar (None: only in a terminal)."""
    records = []
    for index, scenario in enumerate(tqdm(scenarios, desc="games", unit="game", disable=None if progress is None
                                          else not progress)):
        generator = torch.Generator().manual_seed(int(np.random.SeedSequence([seed, index]).generate_state(1)[0]))
        records.append(play(agents, scenario, generator, max_turns, complement=complement))
    return records


def selfplay_metrics(records: Sequence[GameRecord], adversary: int = 0) -> GameMetrics:
    """Table 3.10's metrics of the games ``records``, agent ``adversary`` against the other."""
    return game_metrics([record.outcome for record in records], adversary)


def scenarios(pairs: Sequence[tuple[Input, Input]], count: int | None = None, seed: int = 0) -> list[Scenario]:
    """The scenarios of ``selfplay.txt``'s input pairs (``load_selfplay_contexts``): all in file
    order, or ``count`` of them drawn without replacement by ``seed``, in the order drawn (the
    thesis samples 2,000; ``count=len(pairs)`` shuffles them all)."""
    chosen: Sequence[int] = range(len(pairs))
    if count is not None:
        require(1 <= count <= len(pairs), f"count must be in 1..{len(pairs)}, got {count}")
        chosen = torch.randperm(len(pairs), generator=torch.Generator().manual_seed(seed))[:count].tolist()
    return [Scenario.from_inputs(*pairs[i]) for i in chosen]
