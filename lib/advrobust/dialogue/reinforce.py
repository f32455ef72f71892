"""REINFORCE in self-play: the thesis's RL agent (§3.2.5, LYD17 §4) and the reward of the RL attack
(§3.2.2.1, eqs. 3.7-3.8).

The learner plays one game per scenario against a fixed partner (:func:`~.selfplay.play`, the
coin toss and every word drawn from a generator seeded with ``(seed, epoch, game)``) and, after
each game, takes a policy-gradient step on the words it wrote, as the 2017 ``RlAgent.update``:

* its reward r: its own score (0 without a deal) for the RL agent; S_adv − S_ori (eq. 3.7) for the
  RL attack (``reward="advantage"``, with ``complement`` so that the adversary takes what the
  target leaves and every game is a deal); S_ori − S_adv for the target in adversarial training
  (eq. 3.13, ``reward="advantage"`` with ``partner_complements``);
* r is standardised by the mean and standard deviation of all the rewards so far (the 2017 code;
  eq. 3.8 subtracts a running mean µ only);
* the word written t words before the end of the learner's words weighs r·γ^t (eq. 3.8's
  discount, γ = 0.95); loss = −Σ weight · log p(word) under the sampling distribution (temperature
  0.5, the unspeakable words masked), one SGD step (lr ``rl_lr`` 0.2, momentum 0.1, Nesterov),
  gradient norm clipped at 1;
* every ``sv_train_freq`` (4) games, one supervised step on a random batch of 16 human dialogues
  (the 2017 ``train_single``: SGD at ``sv_lr``, clip 1, the language and 0.5 x selection losses),
  which keeps the agent's language human-like.

The model stays in eval mode (the 2017 script: "we don't want to use Dropout during RL") and
chooses greedily (``--eps 0``), so only its words are trained. The 2017 RL recipe of the thesis's
time: 4 epochs over the 4,086 ``selfplay.txt`` scenarios, rl_lr 0.2, sv lr 0.5, γ 0.95, clip 1,
temperature 0.5 (the README later lowered the supervised lr to 1e-4 with the 2019 code). The
RL attack of the thesis: lr 0.1, clip 1, γ 0.95, 4 epochs (§3.2.5).

Departure: :func:`reinforce` keeps no checkpoint; the caller caches its result.
"""
from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn
from torch.optim import SGD

from ..data.negotiation import NegotiationData
from ..data.vocab import Vocabulary
from ..errors import require
from ..models.dialogue_agent import TEMPERATURE, DialogueAgent, dialogue_losses
from .game import GameMetrics, Scenario, game_metrics
from .selfplay import MAX_TURNS, ModelNegotiator, Negotiator, play

REWARDS = ("own", "advantage")


@dataclass(frozen=True)
class ReinforceConfig:
    """The settings of :func:`reinforce`; defaults: the 2017 RL recipe of the thesis's time."""

    epochs: int = 4  # passes over the scenarios (nepoch)
    rl_lr: float = 0.2  # SGD lr of the policy-gradient steps
    momentum: float = 0.1  # both optimisers', with Nesterov
    rl_clip: float = 1.0  # gradient-norm clipping of the policy-gradient steps
    gamma: float = 0.95  # eq. (3.8)'s discount
    temperature: float = TEMPERATURE  # sampling temperature
    sv_train_freq: int = 4  # a supervised step every this many games (0: never)
    sv_lr: float = 0.5  # SGD lr of the supervised steps
    sv_clip: float = 1.0
    sv_batch_size: int = 16
    sel_weight: float = 0.5  # weight of the selection loss in the supervised steps
    reward: str = "own"  # "own" (the RL agent) or "advantage" (eq. 3.7, the RL attack)
    complement: bool = False  # the learner takes what its partner leaves (the attacks' rule)
    partner_complements: bool = False  # the partner does (the target's side of adversarial training, eq. 3.13)
    max_turns: int = MAX_TURNS
    seed: int = 1

    def __post_init__(self) -> None:
        require(self.epochs >= 1, f"epochs must be positive, got {self.epochs}")
        require(self.rl_lr > 0 and self.sv_lr > 0, "learning rates must be positive")
        require(0 <= self.momentum < 1, f"momentum must be in [0, 1), got {self.momentum}")
        require(self.rl_clip > 0 and self.sv_clip > 0, "clipping norms must be positive")
        require(0 < self.gamma <= 1, f"gamma must be in (0, 1], got {self.gamma}")
        require(self.sv_train_freq >= 0 and self.sv_batch_size >= 1, "bad supervised-step settings")
        require(self.reward in REWARDS, f"unknown reward {self.reward!r}; use one of: {', '.join(REWARDS)}")
        require(self.max_turns >= 1 and self.seed >= 0, "max_turns must be positive and seed >= 0")
        require(not (self.complement and self.partner_complements), "only one agent can take the complement")


class RunningStandardiser:
    """(r − mean) / max(1e-4, std) over all the rewards seen so far, this one included (2017)."""

    def __init__(self) -> None:
        self.rewards: list[float] = []

    def __call__(self, reward: float) -> float:
        self.rewards.append(reward)
        return (reward - float(np.mean(self.rewards))) / max(1e-4, float(np.std(self.rewards)))


def discounted_weights(count: int, reward: float, gamma: float) -> Tensor:
    """(count,) weights of the learner's words in order: the last gets ``reward``, each earlier
    one ``gamma`` times the next (eq. 3.8)."""
    return reward * gamma ** torch.arange(count - 1, -1, -1, dtype=torch.float32)


def reinforce(
    model: DialogueAgent,
    partner: Negotiator,
    vocabulary: Vocabulary,
    scenarios: Sequence[Scenario],
    config: ReinforceConfig,
    supervised: NegotiationData | None = None,
) -> dict[str, list[float]]:
    """Fine-tune ``model`` in place by REINFORCE against the fixed ``partner`` over ``scenarios``
    (the learner is agent 0 of each), interleaving supervised steps on ``supervised`` (module
    docstring). Returns per epoch: the learner's and the partner's mean score, ``agreement``,
    ``advantage`` (learner minus partner), ``par`` and ``seconds``. The model is left in eval mode."""
    require(len(scenarios) > 0, "no scenarios to play")
    require(config.sv_train_freq == 0 or supervised is not None, "supervised steps need supervised data")
    model.eval()
    device = next(model.parameters()).device
    learner = ModelNegotiator(model, vocabulary, config.temperature, track_gradients=True)
    rl_optimizer = SGD(model.parameters(), lr=config.rl_lr, momentum=config.momentum, nesterov=config.momentum > 0)
    sv_optimizer = SGD(model.parameters(), lr=config.sv_lr, momentum=config.momentum, nesterov=config.momentum > 0)
    standardise = RunningStandardiser()
    history: dict[str, list[float]] = {name: [] for name in (
        "learner_score", "partner_score", "agreement", "advantage", "par", "seconds")}
    games = 0
    for epoch in range(config.epochs):
        started = time.perf_counter()
        epoch_seed = np.random.SeedSequence([config.seed, epoch])
        order_seed, batch_seed = epoch_seed.generate_state(2)
        order = torch.randperm(len(scenarios), generator=torch.Generator().manual_seed(int(order_seed))).tolist()
        batches = torch.Generator().manual_seed(int(batch_seed))
        outcomes = []
        for position, index in enumerate(order):
            games += 1
            if supervised is not None and config.sv_train_freq and games % config.sv_train_freq == 0:
                _supervised_step(model, sv_optimizer, supervised, config, batches, device)
            game_seed = int(np.random.SeedSequence([config.seed, epoch, position]).generate_state(1)[0])
            record = play((learner, partner), scenarios[index], torch.Generator().manual_seed(game_seed),
                          config.max_turns, complement=0 if config.complement else 1 if config.partner_complements else None)
            outcomes.append(record.outcome)
            own, other = record.outcome.scores
            reward = float(own if config.reward == "own" else own - other)
            weight = standardise(reward)
            if learner.written_log_probs:
                log_probs = torch.cat(learner.written_log_probs)
                loss = -(log_probs * discounted_weights(len(log_probs), weight, config.gamma).to(device)).sum()
                rl_optimizer.zero_grad(set_to_none=True)
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), config.rl_clip)
                rl_optimizer.step()
        metrics: GameMetrics = game_metrics(outcomes)
        for name, value in (("learner_score", metrics.adversary_score), ("partner_score", metrics.target_score),
                            ("agreement", metrics.agreement), ("advantage", metrics.advantage),
                            ("par", metrics.par), ("seconds", time.perf_counter() - started)):
            history[name].append(value)
    model.eval()
    return history


def _supervised_step(model: DialogueAgent, optimizer: SGD, data: NegotiationData, config: ReinforceConfig,
                     generator: torch.Generator, device: torch.device) -> None:
    """One step of the supervised losses on ``sv_batch_size`` random human dialogues."""
    rows = torch.randperm(len(data), generator=generator)[: config.sv_batch_size].to(data.dialogue.device)
    nll, tokens, select, weight = dialogue_losses(model, data.context[rows].to(device), data.dialogue[rows].to(device),
                                                  data.selection[rows].to(device))
    loss = nll / tokens.clamp(min=1) + config.sel_weight * select / weight.clamp(min=1e-12)
    if not math.isfinite(float(loss.detach())):
        return
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), config.sv_clip)
    optimizer.step()
