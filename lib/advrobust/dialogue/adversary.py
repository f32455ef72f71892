"""The adversarial agents of thesis §3.2.2-3.2.3 as :class:`~.selfplay.Negotiator` s: an adversary
that speaks with a regular speaking module and, by its strategy, replaces some of its utterances.

Strategies (the rows of Tables 3.10 and 3.14):

* ``"none"``: the regular module only (with an RL attacker's module, the RL attack of §3.2.2.1);
* ``"transfer"`` (§3.2.2.2): the regular module for the first ``transfer_turn`` (3) utterances,
  then one sentence drawn from the list L of high-reward sentences (:func:`transfer_sentences`);
* ``"reactive"`` (§3.2.3.2): at the adversary's first turn once ``turn`` (n = 2) utterances have
  been spoken, its draft edited by the greedy search on (3.11) (:mod:`.whitebox`);
* ``"preemptive"`` (§3.2.3.3): the same turn, the draft edited on (3.12); the adversary's next
  utterance is ``<selection>``;
* ``"ra_pa_da"`` / ``"ra_pa_ta"`` (§3.2.3.4, Algorithm 7): at every adversary turn, the reactive
  edit if it succeeds ((3.9) holds and L < 0), else the preemptive edit if its L < 0 (then
  ``<selection>`` next), else the draft (delayed attack) or a sentence of L (transfer attack).

The fixed-turn attacks speak their edited sentence whether or not the search succeeded, as the
thesis's fixed-turn rows do; the game then goes on with the regular module. The adversary never
decides: :func:`~.selfplay.play` with ``complement`` gives it what the target leaves (§3.2.2), so
every game in which the target selects ends in a deal.

White-box access is the target's :class:`~.selfplay.ModelNegotiator`: its model and its current
state (which holds the target's goal). The turn counts utterances of both agents; "after n turns"
is read as the adversary's first turn once n utterances have passed (the thesis's examples
attack at the third utterance with n = 2, the adversary opening). A draft that is the lone
``<selection>`` is redrawn up to ``redraws`` times before an attack turn gives up and ends the
game.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import torch

from ..data.negotiation import END_OF_TURN, SELECTION, Input
from ..errors import ConfigError, require
from .game import Scenario, Selection
from .objectives import favourable_choices
from .selfplay import GameRecord, ModelNegotiator, Utterance
from .whitebox import (
    Objective,
    Substitution,
    WhiteBoxSettings,
    greedy_substitution,
    preemptive_objective,
    reactive_objective,
)

STRATEGIES = ("none", "transfer", "reactive", "preemptive", "ra_pa_da", "ra_pa_ta")
WHITE_BOX = ("reactive", "preemptive", "ra_pa_da", "ra_pa_ta")
TRANSFER = ("transfer", "ra_pa_ta")
DEFAULT_SETTINGS = WhiteBoxSettings()


@dataclass(frozen=True)
class AttackEvent:
    """What the adversary did at one of its turns (for the example tables and the page)."""

    utterance: int  # index of the utterance in the dialogue
    kind: str  # "reactive" | "preemptive" | "transfer" | "draft"
    draft: Utterance  # what the regular module would have said
    said: Utterance
    succeeded: bool  # the search met Algorithm 7's test (always True for a transfer)


class Adversary:
    """An adversary of ``strategy`` (module docstring) against ``target``."""

    def __init__(self, speaker: ModelNegotiator, strategy: str, target: ModelNegotiator | None = None,
                 settings: WhiteBoxSettings = DEFAULT_SETTINGS, turn: int = 2, transfer_turn: int = 3,
                 sentences: Sequence[Utterance] = (), redraws: int = 5) -> None:
        require(strategy in STRATEGIES, f"unknown strategy {strategy!r}; use one of: {', '.join(STRATEGIES)}")
        require(strategy not in WHITE_BOX or target is not None, f"the {strategy} attack needs the target (white-box)")
        require(strategy not in TRANSFER or len(sentences) > 0, f"the {strategy} attack needs transfer sentences")
        require(turn >= 0 and transfer_turn >= 0 and redraws >= 0, "turns and redraws must be >= 0")
        self.speaker, self.strategy, self.target, self.settings = speaker, strategy, target, settings
        self.turn, self.transfer_turn, self.redraws = turn, transfer_turn, redraws
        self.sentences = tuple(tuple(s) for s in sentences)
        self.games: list[list[AttackEvent]] = []  # each game's events, in the order played
        self._spoken = 0  # utterances so far, both agents
        self._attacked = False
        self._end_next = False
        self._goal: Input = ()

    def start(self, goal: Input) -> None:
        self.speaker.start(goal)
        self._goal, self._spoken, self._attacked, self._end_next = goal, 0, False, False
        self.games.append([])

    @property
    def events(self) -> list[AttackEvent]:
        """The current (or last) game's events."""
        require(bool(self.games), "start a dialogue first")
        return self.games[-1]

    def read(self, words: Sequence[str]) -> None:
        self.speaker.read(words)
        self._spoken += 1

    def choose(self) -> Selection:
        """The adversary never decides (it takes the complement); asking is a usage error."""
        raise ConfigError("the adversary takes what the target leaves: play it with complement set")

    def write(self, generator: torch.Generator) -> Utterance:
        if self._end_next:
            words: Utterance = (SELECTION,)
        else:
            event = self._turn(generator)
            if event.kind != "draft" or self.strategy in ("ra_pa_da", "ra_pa_ta"):
                self.events.append(event)
            words = event.said
        self.speaker.say(words)
        self._spoken += 1
        return words

    # ----------------------------------------------------------------------------- the turn
    def _turn(self, generator: torch.Generator) -> AttackEvent:
        """This turn's utterance and how it came about."""
        strategy = self.strategy
        waiting = self._spoken < (self.transfer_turn if strategy == "transfer" else self.turn)
        if strategy == "none" or (strategy in ("transfer", "reactive", "preemptive") and (self._attacked or waiting)):
            return self._regular(self.speaker.draft(generator))
        draft = self._sentence_draft(generator)
        if draft == (SELECTION,):
            return self._regular(draft)
        self._attacked = True
        if strategy == "transfer":
            return self._transfer(draft, generator)
        if strategy in ("reactive", "preemptive"):
            self._end_next = strategy == "preemptive"
            return self._edit(draft, strategy, generator)
        reactive = self._edit(draft, "reactive", generator)
        if reactive.succeeded:
            return reactive
        preemptive = self._edit(draft, "preemptive", generator)
        if preemptive.succeeded:
            self._end_next = True
            return preemptive
        return self._transfer(draft, generator) if strategy == "ra_pa_ta" else self._regular(draft)

    def _regular(self, draft: Utterance) -> AttackEvent:
        return AttackEvent(self._spoken, "draft", draft, draft, False)

    def _sentence_draft(self, generator: torch.Generator) -> Utterance:
        """A draft that is a sentence, not the lone ``<selection>`` (module docstring)."""
        draft = self.speaker.draft(generator)
        for _ in range(self.redraws):
            if draft != (SELECTION,):
                break
            draft = self.speaker.draft(generator)
        return draft

    def _transfer(self, draft: Utterance, generator: torch.Generator) -> AttackEvent:
        said = self.sentences[int(torch.randint(len(self.sentences), (1,), generator=generator))]
        return AttackEvent(self._spoken, "transfer", draft, said, True)

    def _edit(self, draft: Utterance, kind: str, generator: torch.Generator) -> AttackEvent:
        """The draft's words edited by the greedy search on the ``kind`` objective."""
        assert self.target is not None
        target = self.target
        model, vocabulary = target.model, target.vocabulary
        body = draft[:-1] if draft[-1] in (END_OF_TURN, SELECTION) else draft
        if not body:
            return AttackEvent(self._spoken, kind, draft, draft, False)
        device = next(model.parameters()).device
        words = torch.tensor(vocabulary.encode(body), dtype=torch.long, device=device)
        scenario = Scenario.from_inputs(self._goal, tuple(target.state.context[0].tolist()))
        favourable = favourable_choices(scenario, target=1)
        objective: Objective
        if kind == "reactive":
            objective = reactive_objective(model, target.state, favourable, self.settings)
        else:
            objective = preemptive_objective(model, target.state, favourable, self.settings, generator,
                                             target.temperature)
        found: Substitution = greedy_substitution(words, objective, model.vocab_size, self.settings.max_changes)
        succeeded = bool(found.scores.succeeded()[0])
        if succeeded and kind == "preemptive":
            confirm = preemptive_objective(model, target.state, favourable,
                                           replace(self.settings, samples=self.settings.confirm_samples), generator,
                                           target.temperature)
            succeeded = bool(confirm(found.words.unsqueeze(0)).succeeded()[0])
        said = (*(vocabulary.words[i] for i in found.words.tolist()), END_OF_TURN)
        return AttackEvent(self._spoken, kind, draft, said, succeeded)


def transfer_sentences(records: Sequence[GameRecord], adversary: int = 0, min_advantage: int = 5) -> list[Utterance]:
    """The list L of §3.2.2.2: the adversary's last sentence (before any ``<selection>``) in each
    game that gave it an advantage S_adv − S_ori of at least ``min_advantage`` (0 without a deal),
    distinct sentences in order of first appearance. When no game reaches ``min_advantage``, the
    games with the highest advantage supply L, so L is empty only if the adversary never spoke."""
    def advantage(record: GameRecord) -> int:
        return record.outcome.scores[adversary] - record.outcome.scores[1 - adversary]

    def last_sentence(record: GameRecord) -> Utterance | None:
        spoken = [words for speaker, words in record.turns if speaker == adversary and words != (SELECTION,)]
        return spoken[-1] if spoken else None

    usable = [r for r in records if last_sentence(r) is not None]
    require(bool(usable), "no game with an adversary sentence to transfer from")
    threshold = min(min_advantage, max(advantage(r) for r in usable))
    sentences: list[Utterance] = []
    for record in usable:
        sentence = last_sentence(record)
        if advantage(record) >= threshold and sentence is not None and sentence not in sentences:
            sentences.append(sentence)
    return sentences
