"""Settings of Chapter 3.2: AdvAgent on the negotiation agents of LYD17 (Tables 3.9-3.15).

``paper`` is the thesis's: the 2017 supervised recipe (30 epochs), the RL agent of the 2017 RL
recipe (4 epochs over the 4,086 ``selfplay.txt`` scenarios), the RL attack with lr 0.1, clip 1,
γ 0.95, 4 epochs (§3.2.5), and every attack on 2,000 scenarios.

``quick`` fits the 2-core CPU budget of about 10 minutes for the whole page, agent training
included, so it departs in size, never in method (measured times in the comments):

* the SV agent has narrower layers than the recipe (word embedding, selection GRU and selection
  layer 128 instead of 256: the batched candidate sweep of the white-box attacks costs 0.25 s
  instead of 0.7 s), torch's initialisation and Adam (see :mod:`advrobust.training.dialogue`);
* the RL agent, the RL attacker and adversarial training take one REINFORCE pass over 150
  training scenarios, at a tenth of the recipe's learning rates (measured below: the recipe's
  wreck the language of quick's Adam-trained agent);
* the attacks run on fewer scenarios, stated beside every table: the cheap rows (no attack,
  transfer, RL attack) on 100, the white-box rows on fewer.

Scenarios: ``selfplay.txt``'s 4,086 scenarios are shuffled once (seed 0); the first
``evaluation_pool`` are kept for evaluation, self-play training draws from the rest, so no
agent is trained on a scenario it is tested on (the thesis samples its 2,000 from the same
file it trained on).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..dialogue.reinforce import ReinforceConfig
from ..dialogue.whitebox import WhiteBoxSettings
from ..errors import require
from ..training.dialogue import SupervisedAgentSettings
from ..training.self_play import AdversarialTrainingSettings
from .base import check_profile

ATTACK_ROWS = ("none", "transfer", "rl", "reactive", "preemptive", "ra_pa_da", "ra_pa_ta")


@dataclass(frozen=True)
class AdvAgentSettings:
    """Chapter 3.2 at one profile."""

    supervised: SupervisedAgentSettings  # the SV agent
    rl_agent: ReinforceConfig  # the RL agent: the SV agent against the SV agent, reward its own score
    rl_attack: ReinforceConfig  # the RL attacker: reward (3.7), complement
    adversarial: AdversarialTrainingSettings  # eq. (3.13)
    training_scenarios: int | None  # self-play training scenarios (None: all but the evaluation pool)
    games: dict[str, int]  # evaluation scenarios per row of Tables 3.10/3.14 (ATTACK_ROWS)
    turn_games: int  # scenarios per row of Table 3.15
    whitebox: WhiteBoxSettings = field(default_factory=WhiteBoxSettings)
    turn: int = 2  # n of the fixed-turn attacks (§3.2.6: "we set n = 2")
    transfer_turn: int = 3  # the transfer sentence comes 4th (§3.2.5)
    turns: tuple[int, ...] = (1, 2, 3, 4)  # Table 3.15
    transfer_min_advantage: int = 5  # L holds the RL attacker's last sentences of games it won by this much
    transfer_games: int = 200  # RL-attack games on training scenarios that L is collected from
    evaluation_pool: int = 2000  # scenarios set aside for evaluation (the thesis's 2,000)
    seed: int = 0  # seeds the evaluation games
    max_words: int = 100  # the longest utterance an agent writes in the evaluation games (2017: 100)

    def __post_init__(self) -> None:
        require(set(self.games) == set(ATTACK_ROWS), f"games needs a count for each of {ATTACK_ROWS}")
        require(all(1 <= n <= self.evaluation_pool for n in (*self.games.values(), self.turn_games)),
                "evaluation counts must be in 1..evaluation_pool")

    def describe(self) -> str:
        """One line for the page."""
        sizes = dict(self.supervised.model_options)
        counts = ", ".join(f"{row} {n}" for row, n in self.games.items())
        return (f"SV agent {self.supervised.epochs} epochs (word {sizes.get('word_dim', 256)}, selection GRU "
                f"{sizes.get('attention_hidden', 256)}), self-play on "
                f"{self.training_scenarios or 'all training'} scenarios; games per row: {counts}")


# The supervised agent. Measured with OMP_NUM_THREADS=1 on this project's 2-core machine, under load:
# one epoch over the 10,095 training lines with the recipe's sizes takes 105-150 s (the selection
# module's bidirectional GRU is most of it). The recipe learns slowly at first: with the 2017
# initialisation (uniform ±0.1, which makes the goal encoding ~1e-3) the selection loss sits on a
# plateau (~1.3-1.5) for thousands of steps, and after 3 epochs the recipe's SGD reaches validation
# perplexity 9.37 and selection loss 1.06 (the 2017 code reaches ~6.0 and ~0.22 by epoch 17,
# github.com/facebookresearch/end-to-end-negotiator/pull/21). So ``quick`` departs: torch's default
# initialisation, which leaves the plateau within the first epoch, and Adam (2 epochs at 1e-3, one
# annealing epoch at 2e-4). At the recipe's sizes that reaches validation perplexity 7.04 and
# selection loss 0.34 (~4 minutes on two cores); at quick's narrower sizes 7.43 and 0.51 in 169 s
# on two cores (55 s per epoch). ``paper`` is the recipe: 30 epochs of SGD and 2 annealing epochs
# (~1 hour on two cores).

_PAPER_GAMES = {row: 2000 for row in ATTACK_ROWS}

_SMOKE = AdvAgentSettings(
    supervised=SupervisedAgentSettings(
        epochs=1, train_dialogues=400, optimizer="adam", lr=1e-3, min_lr=1.0,
        model_options=(("word_dim", 32), ("lang_hidden", 32), ("attention_hidden", 32), ("selection_hidden", 32),
                       ("init_range", 0.0))),
    rl_agent=ReinforceConfig(epochs=1, max_turns=6),
    rl_attack=ReinforceConfig(epochs=1, rl_lr=0.1, reward="advantage", complement=True, max_turns=6),
    adversarial=AdversarialTrainingSettings(
        rounds=1, target=ReinforceConfig(max_turns=6), attacker=ReinforceConfig(rl_lr=0.1, max_turns=6)),
    training_scenarios=8,
    games={"none": 4, "transfer": 4, "rl": 4, "reactive": 3, "preemptive": 2, "ra_pa_da": 2, "ra_pa_ta": 2},
    turn_games=2,
    whitebox=WhiteBoxSettings(samples=2, reply_words=12),
    max_words=12,
    transfer_min_advantage=1,
    transfer_games=8,
    evaluation_pool=50,
)

# Self-play at quick. The recipe's learning rates (RL 0.2, supervised 0.5; the RL attack's 0.1) are
# for the recipe's SGD-trained agent; on quick's Adam-trained agent they wreck its language: after
# 100 REINFORCE games the validation perplexity goes from 7.43 to 15.1 (59.3 without the supervised
# steps), and the agreement of its games falls. A tenth of each keeps it at 7.38 (measured on 100
# training scenarios, 17-24 s), so quick uses a tenth of every self-play learning rate.
_QUICK_RL = ReinforceConfig(epochs=1, rl_lr=0.02, sv_lr=0.05)
_QUICK_ATTACK = replace(_QUICK_RL, rl_lr=0.01)

_QUICK = AdvAgentSettings(
    supervised=SupervisedAgentSettings(
        epochs=2, optimizer="adam", lr=1e-3, min_lr=1e-4,
        model_options=(("init_range", 0.0), ("word_dim", 128), ("attention_hidden", 128),
                       ("selection_hidden", 128))),
    rl_agent=_QUICK_RL,
    rl_attack=replace(_QUICK_ATTACK, reward="advantage", complement=True),
    adversarial=AdversarialTrainingSettings(rounds=1, target=_QUICK_RL, attacker=_QUICK_ATTACK),
    training_scenarios=150,
    games={"none": 100, "transfer": 100, "rl": 100, "reactive": 40, "preemptive": 12, "ra_pa_da": 10,
           "ra_pa_ta": 10},
    turn_games=16,
    whitebox=WhiteBoxSettings(samples=1, reply_words=20),
    transfer_games=100,
    evaluation_pool=500,
)

_PAPER = AdvAgentSettings(
    supervised=SupervisedAgentSettings(epochs=30),
    rl_agent=ReinforceConfig(),
    rl_attack=ReinforceConfig(rl_lr=0.1, reward="advantage", complement=True),
    adversarial=AdversarialTrainingSettings(rounds=4, target=ReinforceConfig(), attacker=ReinforceConfig(rl_lr=0.1)),
    training_scenarios=None,
    games=_PAPER_GAMES,
    turn_games=2000,
    transfer_games=2000,
)

SETTINGS = {"smoke": _SMOKE, "quick": _QUICK, "paper": _PAPER}


def advagent(profile: str) -> AdvAgentSettings:
    """Chapter 3.2's settings at ``profile``."""
    return SETTINGS[check_profile(profile)]
