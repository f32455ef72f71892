"""Chapter 3.2 (AdvAgent): the negotiation game, self-play, REINFORCE in self-play (the RL agent and
the RL attack's update), the white-box objectives and search (:mod:`.whitebox`) and the
adversaries (:mod:`.adversary`).

The agents themselves (LYD17's model) are :class:`advrobust.models.DialogueAgent`, their data
:mod:`advrobust.data.negotiation`, their supervised training :mod:`advrobust.training.dialogue`,
their cached self-play runs and adversarial training :mod:`advrobust.training.self_play`.
"""
from __future__ import annotations

from .game import (
    GameMetrics,
    Outcome,
    Scenario,
    Selection,
    game_metrics,
    parse_selection,
    score,
)
from .objectives import decision_loss, favourable_choices, selection_margin
from .reinforce import (
    ReinforceConfig,
    RunningStandardiser,
    discounted_weights,
    reinforce,
)
from .selfplay import (
    MAX_TURNS,
    GameRecord,
    ModelNegotiator,
    Negotiator,
    play,
    scenarios,
    self_play,
    selfplay_metrics,
)

__all__ = [
    "MAX_TURNS",
    "GameMetrics",
    "GameRecord",
    "ModelNegotiator",
    "Negotiator",
    "Outcome",
    "ReinforceConfig",
    "RunningStandardiser",
    "Scenario",
    "Selection",
    "decision_loss",
    "discounted_weights",
    "favourable_choices",
    "game_metrics",
    "parse_selection",
    "play",
    "reinforce",
    "scenarios",
    "score",
    "selection_margin",
    "self_play",
    "selfplay_metrics",
]
