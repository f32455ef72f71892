"""The negotiation game of thesis §3.2.1 (LYD17's Deal or No Deal) and the metrics of Tables
3.10-3.15.

A scenario is a pool of books, hats and balls (1-4 of each) and, for each of the two agents, a
value per item such that its whole pool is worth 10. After the dialogue each agent outputs the
items it takes (the decision phase, eq. 3.6), or no agreement. The scoring is the 2017 code's
(``ObjectDivisionDomain.score_choices``): the deal holds when the two selections add up to the
pool, item by item, and each agent then scores the value of what it took; otherwise both score 0
("If they choose not to agree, 0 score will be granted to both agents", §3.2.1).

One departure: the 2017 code reads a ``<no_agreement>`` output as taking nothing, so it would
count a deal when the partner claimed the whole pool; here an agent that says no agreement (or
disconnects, or disagrees) always ends the game without a deal.

Metrics over a set of games between an adversary (agent 0 by default) and a target (§3.2.5):

* *score*: each agent's mean points per game, 0 for a game without agreement;
* *agreement*: the fraction of games that end in a deal;
* *advantage*: S̄_adv − S̄_ori, the difference of the two mean scores ("averaged adversarial
  agent's score minus average target agent's score"), in [−10, 10];
* *PAR* (positive advantage rate): the fraction of games in which the adversary scores more than
  the target; a game without a deal (0 against 0) is not positive.

The 2017 code's own ``advantage`` averages over agreed games only; :attr:`GameMetrics.agreed_advantage`
reports it too.
"""
from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..data.negotiation import ITEMS, MAX_COUNT, NO_DEAL_TOKENS, TOTAL_VALUE, Input
from ..errors import require

Selection = tuple[int, ...] | None  # the counts an agent takes of each item, or None: no agreement
_TOKEN = re.compile(r"^(item[0-9]|book|hat|ball)=([0-9]+)$")


@dataclass(frozen=True)
class Scenario:
    """A negotiation scenario: the pool and both agents' values (the thesis's goal g of each)."""

    counts: tuple[int, ...]  # copies of book, hat, ball
    values: tuple[tuple[int, ...], tuple[int, ...]]  # agent 0's and agent 1's value per copy

    def __post_init__(self) -> None:
        require(len(self.counts) == len(ITEMS) and all(1 <= c <= MAX_COUNT for c in self.counts),
                f"counts must be {len(ITEMS)} numbers in 1..{MAX_COUNT}, got {self.counts}")
        for values in self.values:
            require(len(values) == len(ITEMS) and min(values) >= 0, f"bad values {values}")
            require(sum(c * v for c, v in zip(self.counts, values)) == TOTAL_VALUE,
                    f"values {values} make the pool {self.counts} worth "
                    f"{sum(c * v for c, v in zip(self.counts, values))}, not {TOTAL_VALUE}")

    @classmethod
    def from_inputs(cls, first: Input, second: Input) -> Scenario:
        """The scenario of two inputs ``c0 v0 c1 v1 c2 v2`` (e.g. a pair of ``selfplay.txt`` lines)."""
        require(first[0::2] == second[0::2], f"the two inputs disagree on the counts: {first}, {second}")
        return cls(tuple(first[0::2]), (tuple(first[1::2]), tuple(second[1::2])))

    def input(self, agent: int) -> Input:
        """Agent ``agent``'s input ``c0 v0 c1 v1 c2 v2``, what its model reads as the goal."""
        return tuple(n for pair in zip(self.counts, self.values[agent]) for n in pair)

    def value(self, agent: int, selection: Sequence[int]) -> int:
        """What ``selection`` is worth to ``agent``."""
        return sum(k * v for k, v in zip(selection, self.values[agent]))

    def complement(self, selection: Selection) -> Selection:
        """The rest of the pool (None for None): what the thesis's adversary takes (§3.2.2)."""
        return None if selection is None else tuple(c - k for c, k in zip(self.counts, selection))


@dataclass(frozen=True)
class Outcome:
    """The result of one game: whether the deal held, and each agent's points."""

    agreed: bool
    scores: tuple[int, int]


def parse_selection(output: str | Sequence[str]) -> Selection:
    """An agent's output as the counts it takes: ``item0=1 item1=0 item2=2`` (the files and the
    2017 code; six tokens are its own choice then its partner's, of which the first three count),
    ``book=1 hat=0 ball=2`` (the 2017 self-play logs), or ``None`` for ``<no_agreement>``,
    ``<disagree>``, ``<disconnect>``. Anything else raises a ConfigError."""
    tokens = output.split() if isinstance(output, str) else list(output)
    require(len(tokens) in (1, len(ITEMS), 2 * len(ITEMS)), f"a selection has 3 or 6 tokens, got {tokens}")
    if tokens[0] in NO_DEAL_TOKENS:
        require(len(set(tokens)) == 1, f"a no-deal output repeats one token, got {tokens}")
        return None
    require(len(tokens) > 1, f"a selection has 3 or 6 tokens, got {tokens}")
    counts = []
    for position, token in enumerate(tokens[: len(ITEMS)]):
        match = _TOKEN.match(token)
        require(match is not None and match[1] in (f"item{position}", ITEMS[position]),
                f"expected item{position}=<count> or {ITEMS[position]}=<count> at position {position + 1}, got {token!r}")
        assert match is not None
        counts.append(int(match[2]))
    return tuple(counts)


def score(scenario: Scenario, selections: tuple[Selection, Selection]) -> Outcome:
    """The 2017 scoring (module docstring): a deal iff both agents select and their selections
    add up to the pool item by item; then each scores its own values of what it took."""
    first, second = selections
    if first is None or second is None:
        return Outcome(False, (0, 0))
    require(len(first) == len(second) == len(ITEMS), f"selections have {len(ITEMS)} counts, got {selections}")
    if any(a < 0 or b < 0 or a + b != c for a, b, c in zip(first, second, scenario.counts)):
        return Outcome(False, (0, 0))
    return Outcome(True, (scenario.value(0, first), scenario.value(1, second)))


@dataclass(frozen=True)
class GameMetrics:
    """A row of Table 3.10: the metrics of module docstring over ``games`` games."""

    games: int
    adversary_score: float  # S̄_adv: mean points per game, 0 without a deal
    target_score: float  # S̄_ori
    agreement: float  # fraction of games with a deal
    advantage: float  # S̄_adv − S̄_ori
    par: float  # fraction of games with S_adv > S_ori
    agreed_advantage: float  # the 2017 code's advantage: mean S_adv − S_ori over agreed games (nan if none)


def game_metrics(outcomes: Sequence[Outcome], adversary: int = 0) -> GameMetrics:
    """The metrics of ``outcomes``, agent ``adversary`` (0 or 1) against the other."""
    require(len(outcomes) > 0, "no games to measure")
    require(adversary in (0, 1), f"adversary must be 0 or 1, got {adversary}")
    target = 1 - adversary
    count = len(outcomes)
    adversary_scores = [o.scores[adversary] if o.agreed else 0 for o in outcomes]
    target_scores = [o.scores[target] if o.agreed else 0 for o in outcomes]
    agreed = [o.scores[adversary] - o.scores[target] for o in outcomes if o.agreed]
    mean_adversary, mean_target = sum(adversary_scores) / count, sum(target_scores) / count
    return GameMetrics(
        games=count,
        adversary_score=mean_adversary,
        target_score=mean_target,
        agreement=len(agreed) / count,
        advantage=mean_adversary - mean_target,
        par=sum(a > t for a, t in zip(adversary_scores, target_scores)) / count,
        agreed_advantage=sum(agreed) / len(agreed) if agreed else math.nan,
    )
