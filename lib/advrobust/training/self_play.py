"""The agents of §3.2 trained in self-play, cached on disk like every trained model of the book:

* the **RL agent** (§3.2.5): the SV agent fine-tuned by REINFORCE against the fixed SV agent,
  reward its own score (:func:`reinforced_agent` with ``reward="own"``);
* the **RL attacker** (§3.2.2.1): the SV agent fine-tuned against a target, reward S_adv − S_ori
  (eq. 3.7), taking what the target leaves (``reward="advantage"``, ``complement=True``);
* **adversarial training** (§3.2.4, eq. 3.13): min over the target, max over the attacker of
  S_adv − S_ori, solved by alternating updates (:func:`adversarial_training`): each round, the
  target takes one REINFORCE epoch against the fixed attacker with reward S_ori − S_adv (the
  attacker taking the complement), then the attacker one epoch against the updated target with
  reward (3.7). The thesis says the target's update is "the standard policy gradient algorithm";
  the reward S_ori − S_adv is (3.13)'s objective for the target (its own score alone is the
  option ``target_reward="own"``).

A run's cache entry ``<cache_root>/negotiator_gru-<data_key>-<name>-<key>/`` is keyed by the
starting weights' key, the partner's key, the REINFORCE settings and the scenarios; it holds
``config.json``, ``final.pt`` (read with ``weights_only=True``) and ``history.json`` (the
per-epoch self-play metrics). REINFORCE runs are not resumable mid-run
(:mod:`advrobust.dialogue.reinforce`); an
interrupted run starts again.
"""
from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..data.negotiation import NegotiationData
from ..data.vocab import Vocabulary
from ..dialogue.game import Scenario
from ..dialogue.reinforce import ReinforceConfig, reinforce
from ..dialogue.selfplay import ModelNegotiator
from ..errors import DataError, require
from ..models.dialogue_agent import DialogueAgent
from .cached_runs import cached_model, config_key, run_directory

HISTORY = "history.json"
MODEL = "negotiator_gru"

History = dict[str, list[float]]


@dataclass(frozen=True)
class TrainedAgent:
    """A trained agent and the key that names its weights (for the runs that start from it)."""

    model: DialogueAgent
    key: str


def scenarios_key(scenarios: Sequence[Scenario]) -> str:
    """A hash of the scenarios, in order."""
    return config_key({"scenarios": [[list(s.counts), [list(v) for v in s.values]] for s in scenarios]})


def _cached(name: str, data_key: str, fields: dict[str, Any], seed: int, build: Callable[[], nn.Module],
            train: Callable[[nn.Module], History], device: torch.device,
            cache_dir: Path | str | None) -> tuple[nn.Module, str]:
    key = config_key(fields)
    directory = run_directory(MODEL, f"{data_key}-{name}", key, cache_dir)

    def run(model: nn.Module, where: Path) -> None:
        (where / HISTORY).write_text(json.dumps(train(model), indent=1))

    return cached_model(directory, fields, seed, build, run, device), key


def run_history(name: str, data_key: str, key: str, cache_dir: Path | str | None = None) -> History:
    """The self-play history of the cached run ``name`` with key ``key``."""
    path = run_directory(MODEL, f"{data_key}-{name}", key, cache_dir) / HISTORY
    if not path.exists():
        raise DataError(f"no self-play record {path}; train the agent first")
    history: History = json.loads(path.read_text())
    return history


def reinforced_agent(name: str, start: TrainedAgent, partner: TrainedAgent, vocabulary: Vocabulary,
                     scenarios: Sequence[Scenario], config: ReinforceConfig, supervised: NegotiationData | None,
                     data_key: str, device: torch.device, cache_dir: Path | str | None = None) -> TrainedAgent:
    """``start`` fine-tuned by REINFORCE against the fixed ``partner`` over ``scenarios``
    (:func:`~advrobust.dialogue.reinforce.reinforce`), from the cache when this run is there."""
    fields = {"start": start.key, "partner": partner.key, "reinforce": dataclasses.asdict(config),
              "scenarios": scenarios_key(scenarios)}

    def train(model: nn.Module) -> History:
        assert isinstance(model, DialogueAgent)
        return reinforce(model, ModelNegotiator(partner.model, vocabulary, config.temperature), vocabulary,
                         scenarios, config, supervised)

    model, key = _cached(name, data_key, fields, config.seed, lambda: copy.deepcopy(start.model), train, device,
                         cache_dir)
    assert isinstance(model, DialogueAgent)
    return TrainedAgent(model, key)


@dataclass(frozen=True)
class AdversarialTrainingSettings:
    """The alternating updates of eq. (3.13)."""

    rounds: int  # target update + attacker update, each one REINFORCE epoch over the scenarios
    target: ReinforceConfig  # the target's update (its epochs field is ignored: one per round)
    attacker: ReinforceConfig  # the attacker's update (idem)
    target_reward: str = "advantage"  # S_ori − S_adv, eq. (3.13); "own": the target's score alone

    def __post_init__(self) -> None:
        require(self.rounds >= 1, f"rounds must be positive, got {self.rounds}")
        require(self.target_reward in ("advantage", "own"), f"unknown target_reward {self.target_reward!r}")


def adversarial_training(target: TrainedAgent, attacker: TrainedAgent, vocabulary: Vocabulary,
                         scenarios: Sequence[Scenario], settings: AdversarialTrainingSettings,
                         supervised: NegotiationData | None, data_key: str, device: torch.device,
                         cache_dir: Path | str | None = None) -> tuple[TrainedAgent, TrainedAgent]:
    """The target and the attacker after ``settings.rounds`` rounds of eq. (3.13)'s alternating
    updates (module docstring), from the cache when this run is there."""
    target_config = dataclasses.replace(settings.target, epochs=1, reward=settings.target_reward,
                                        complement=False, partner_complements=True)
    attacker_config = dataclasses.replace(settings.attacker, epochs=1, reward="advantage", complement=True,
                                          partner_complements=False)
    fields = {"target": target.key, "attacker": attacker.key, "rounds": settings.rounds,
              "target_update": dataclasses.asdict(target_config), "attacker_update": dataclasses.asdict(attacker_config),
              "scenarios": scenarios_key(scenarios)}

    def build() -> nn.Module:
        return nn.ModuleDict({"target": copy.deepcopy(target.model), "attacker": copy.deepcopy(attacker.model)})

    def train(pair: nn.Module) -> History:
        assert isinstance(pair, nn.ModuleDict)
        defender, adversary = pair["target"], pair["attacker"]
        history: History = {}
        for round_ in range(settings.rounds):
            assert isinstance(defender, DialogueAgent) and isinstance(adversary, DialogueAgent)
            for role, learner, partner, config in (("target", defender, adversary, target_config),
                                                   ("attacker", adversary, defender, attacker_config)):
                seeded = dataclasses.replace(config, seed=config.seed + round_)
                step = reinforce(learner, ModelNegotiator(partner, vocabulary, config.temperature), vocabulary,
                                 scenarios, seeded, supervised)
                for metric, values in step.items():
                    history.setdefault(f"{role}_{metric}", []).extend(values)
        return history

    pair, key = _cached("advtrain", data_key, fields, settings.target.seed, build, train, device, cache_dir)
    assert isinstance(pair, nn.ModuleDict)
    trained_target, trained_attacker = pair["target"], pair["attacker"]
    assert isinstance(trained_target, DialogueAgent) and isinstance(trained_attacker, DialogueAgent)
    return TrainedAgent(trained_target, f"{key}-target"), TrainedAgent(trained_attacker, f"{key}-attacker")
