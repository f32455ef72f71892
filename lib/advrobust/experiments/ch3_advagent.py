"""The experiments of Chapter 3.2 (AdvAgent) as functions of the profile's settings: the agents
and their perplexities, Table 3.9's example, Table 3.10's six attacks against the SV and the RL
agent, Tables 3.11-3.13's example dialogues, Table 3.14's attacks against the adversarially
trained agent, Table 3.15's reactive attack at turns n = 1-4, and the claims. Every table comes
back beside the thesis's numbers (``data/thesis/table_3_1[045].csv``).

Who plays whom (§3.2.5):

* *No attack* is the RL agent against the target, both choosing (so agreement can fail);
* *RL attack* is the RL attacker trained against that target (eq. 3.7), taking the complement;
* the other attacks are :class:`~advrobust.dialogue.adversary.Adversary` s whose regular speaking
  module is the RL agent (the adversary of the no-attack row), taking the complement. The
  transfer list L is the RL attacker's last sentences in its winning games against the same
  target on training scenarios.

Game ``i`` of every row plays evaluation scenario ``i`` seeded with ``(seed, i)``, so rows with
the same count play the same scenarios with the same coin tosses.
"""
from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import torch

from ..data.negotiation import (
    ITEMS,
    NegotiationData,
    load_negotiation,
    load_selfplay_contexts,
    negotiation_data,
    negotiation_vocabulary,
)
from ..data.vocab import Vocabulary
from ..dialogue.adversary import Adversary, AttackEvent, transfer_sentences
from ..dialogue.game import GameMetrics, Scenario
from ..dialogue.reinforce import ReinforceConfig
from ..dialogue.selfplay import (
    GameRecord,
    ModelNegotiator,
    scenarios,
    self_play,
    selfplay_metrics,
)
from ..jobs.unit import Unit, Work
from ..jobs.units import stage
from ..profiles.dialogue import ATTACK_ROWS, AdvAgentSettings, advagent
from ..runtime import resolve_device
from ..tables import beside_thesis, thesis_table
from ..training.dialogue import (
    DialogueTrainConfig,
    dialogue_training_history,
    dialogue_training_rate,
    evaluate_dialogue_model,
    trained_dialogue_model,
)
from ..training.self_play import (
    TrainedAgent,
    adversarial_training,
    reinforced_agent,
    run_history,
)
from .claims import (
    FAILS,
    HOLDS,
    Claim,
    Part,
    joint_claim,
    judged,
    mean_effect,
    paired_effect,
)

DATA_KEY = "negotiate-unk20"
ROW_NAMES = {"none": "No attack (RL agent)", "transfer": "Transfer", "rl": "RL attack", "reactive": "Reactive",
             "preemptive": "Preemptive", "ra_pa_da": "RA+PA+DA", "ra_pa_ta": "RA+PA+TA"}
METRICS = ["par", "adversary_score", "target_score", "advantage", "agreement"]
DECIMALS = 4


@dataclass(frozen=True)
class Negotiation:
    """The data of §3.2 at one profile: dialogues, vocabulary and the scenario split."""

    settings: AdvAgentSettings
    vocabulary: Vocabulary
    train: NegotiationData
    valid: NegotiationData
    evaluation: list[Scenario]  # the first evaluation_pool scenarios of the shuffled selfplay.txt
    training: list[Scenario]  # self-play training scenarios, disjoint from evaluation
    device: torch.device


def negotiation(settings: AdvAgentSettings, device: torch.device | str = "auto") -> Negotiation:
    """Load the dialogues, build the vocabulary and split the self-play scenarios."""
    train_corpus = load_negotiation("train")
    if settings.supervised.train_dialogues is not None:
        train_corpus = train_corpus.subset(settings.supervised.train_dialogues, 0)
    vocabulary = negotiation_vocabulary(load_negotiation("train").dialogues())
    pairs = load_selfplay_contexts()
    every = scenarios(pairs, len(pairs), seed=0)
    evaluation, rest = every[:settings.evaluation_pool], every[settings.evaluation_pool:]
    training = rest if settings.training_scenarios is None else rest[:settings.training_scenarios]
    return Negotiation(settings, vocabulary, negotiation_data(train_corpus, vocabulary),
                       negotiation_data(load_negotiation("val"), vocabulary), evaluation, training,
                       resolve_device(device) if isinstance(device, str) else device)


def training_data_key(settings: AdvAgentSettings) -> str:
    """Names the training dialogues of ``settings`` in the model cache."""
    subset = settings.supervised.train_dialogues
    return DATA_KEY if subset is None else f"{DATA_KEY}-first{subset}"


def data_key(setup: Negotiation) -> str:
    """Names the training dialogues in the model cache."""
    return training_data_key(setup.settings)


def supervised_config(settings: AdvAgentSettings, vocab_size: int) -> DialogueTrainConfig:
    """The SV agent's training run for a vocabulary of ``vocab_size`` words."""
    return settings.supervised.config(vocab_size, training_data_key(settings))


@dataclass(frozen=True)
class Agents:
    """Every trained agent of §3.2."""

    sv: TrainedAgent
    rl: TrainedAgent
    attackers: dict[str, TrainedAgent]  # the RL attacker trained against "SV" and against "RL"
    adversarially_trained: TrainedAgent  # the RL agent after eq. (3.13)
    co_trained_attacker: TrainedAgent  # the attacker of the last round of eq. (3.13)


class AgentRuns:
    """The trained agents of §3.2, each trained (or read from the cache) when first asked for,
    after the runs it starts from (which it reads from the cache when they are there)."""

    def __init__(self, setup: Negotiation, progress: bool | None = None) -> None:
        self.setup = setup
        self.progress = progress  # the SV agent's progress bar

    @functools.cached_property
    def sv(self) -> TrainedAgent:
        """The SV agent: supervised on the human dialogues."""
        setup = self.setup
        config = supervised_config(setup.settings, len(setup.vocabulary))
        return TrainedAgent(trained_dialogue_model(config, setup.train, setup.valid, setup.device,
                                                   progress=self.progress), config.key())

    @functools.cached_property
    def rl(self) -> TrainedAgent:
        """The RL agent: the SV agent in self-play against the SV agent."""
        return self._reinforced("rl", self.sv, self.setup.settings.rl_agent)

    @functools.cached_property
    def attacker_vs_sv(self) -> TrainedAgent:
        """The RL attacker trained against the SV agent."""
        return self._reinforced("rlattack", self.sv, self.setup.settings.rl_attack)

    @functools.cached_property
    def attacker_vs_rl(self) -> TrainedAgent:
        """The RL attacker trained against the RL agent."""
        return self._reinforced("rlattack", self.rl, self.setup.settings.rl_attack)

    @functools.cached_property
    def adversarial_pair(self) -> tuple[TrainedAgent, TrainedAgent]:
        """The RL agent and its RL attacker after eq. (3.13)'s adversarial training."""
        setup = self.setup
        return adversarial_training(self.rl, self.attacker_vs_rl, setup.vocabulary, setup.training,
                                    setup.settings.adversarial, self._supervised(), data_key(setup), setup.device)

    def _supervised(self) -> NegotiationData | None:
        """The human dialogues of the self-play runs' supervised steps (None: they take none)."""
        return self.setup.train if self.setup.settings.rl_agent.sv_train_freq else None

    def _reinforced(self, name: str, partner: TrainedAgent, config: ReinforceConfig) -> TrainedAgent:
        """The SV agent fine-tuned by REINFORCE with ``config`` against ``partner``."""
        setup = self.setup
        return reinforced_agent(name, self.sv, partner, setup.vocabulary, setup.training, config, self._supervised(),
                                data_key(setup), setup.device)


def agents(setup: Negotiation, progress: bool | None = None) -> Agents:
    """Train (or read from the cache) the SV agent, the RL agent, the RL attackers and the
    adversarially trained pair."""
    runs = AgentRuns(setup, progress)
    return Agents(runs.sv, runs.rl, {"SV": runs.attacker_vs_sv, "RL": runs.attacker_vs_rl}, *runs.adversarial_pair)


def perplexities(setup: Negotiation, trained: Agents, profile: str) -> pd.DataFrame:
    """Validation perplexity of each agent beside the thesis's (SV 5.47, RL 5.86)."""
    rows = []
    for name, agent in (("SV", trained.sv), ("RL", trained.rl),
                        ("Adversarially trained", trained.adversarially_trained)):
        nll, _ = evaluate_dialogue_model(agent.model, setup.valid)
        rows.append({"agent": name, "valid_perplexity": float(torch.tensor(nll).exp())})
    return beside_thesis(pd.DataFrame(rows), thesis_table("table_3_perplexity"), on=["agent"],
                         profile=profile).round(3)


def training_curves(setup: Negotiation, trained: Agents) -> dict[str, dict[str, list[float]]]:
    """The per-epoch records of the supervised run and of each self-play run."""
    key = data_key(setup)
    curves = {"SV (supervised)": dialogue_training_history(supervised_config(setup.settings, len(setup.vocabulary)))}
    curves["RL agent"] = run_history("rl", key, trained.rl.key)
    for target, attacker in trained.attackers.items():
        curves[f"RL attacker vs {target}"] = run_history("rlattack", key, attacker.key)
    curves["adversarial training"] = run_history("advtrain", key, trained.adversarially_trained.key.rsplit("-", 1)[0])
    return curves


# ------------------------------------------------------------------------------ Table 3.9


def table_3_9() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Table 3.9: a dialogue of the data, the thesis's scenario when the files hold it (pool 3
    books, 3 hats, 1 ball; values 2/1/1 and 1/2/1), as (turns, outcome)."""
    corpus = load_negotiation("train")
    wanted = ((3, 2, 3, 1, 1, 1), (3, 1, 3, 2, 1, 1))
    chosen = next((e for e in corpus.examples if (e.input, e.partner_input) == wanted and e.outcome == "agree"),
                  next(e for e in corpus.examples if e.outcome == "agree"))
    turns: list[dict[str, str]] = []
    words: list[str] = []
    speaker = ""
    for token in chosen.dialogue:
        if token in ("YOU:", "THEM:"):
            speaker, words = ("Agent 1" if token == "YOU:" else "Agent 2"), []
        elif token == "<eos>":
            turns.append({"speaker": speaker, "utterance": " ".join(words)})
        elif token == "<selection>":
            turns.append({"speaker": speaker, "utterance": "<selection>"})
        else:
            words.append(token)
    outcome = []
    for name, values, taken in (("Agent 1", chosen.values, chosen.selection),
                                ("Agent 2", chosen.partner_values, chosen.partner_selection)):
        assert taken is not None
        outcome.append({"agent": name, "pool": " ".join(f"{c}x{i}" for c, i in zip(chosen.counts, ITEMS)),
                        "values": " ".join(f"{i} {v}" for i, v in zip(ITEMS, values)),
                        "takes": " ".join(f"{k}x{i}" for k, i in zip(taken, ITEMS)),
                        "points": f"{sum(k * v for k, v in zip(taken, values))}/10"})
    return pd.DataFrame(turns), pd.DataFrame(outcome)


# ------------------------------------------------------------------------------ the attacks


@dataclass(frozen=True)
class AttackRun:
    """One row of Tables 3.10/3.14/3.15: the games and what the adversary did in each."""

    records: list[GameRecord]
    events: list[list[AttackEvent]]  # per game; empty for the no-attack and RL rows

    @property
    def metrics(self) -> GameMetrics:
        return selfplay_metrics(self.records)

    @property
    def advantages(self) -> list[float]:
        """S_adv − S_ori of each game (0 without a deal)."""
        return [float(r.outcome.scores[0] - r.outcome.scores[1]) if r.outcome.agreed else 0.0 for r in self.records]

    @property
    def expired(self) -> int:
        """Games that reached the turn limit without ``<selection>``."""
        return sum(r.expired for r in self.records)


def negotiator(setup: Negotiation, agent: TrainedAgent) -> ModelNegotiator:
    """``agent`` as a player of the evaluation games."""
    return ModelNegotiator(agent.model, setup.vocabulary, max_words=setup.settings.max_words)


def transfer_list(setup: Negotiation, attacker: TrainedAgent, target: TrainedAgent) -> list[tuple[str, ...]]:
    """L (§3.2.2.2): the RL attacker's last sentences in the games it won against ``target`` by
    at least ``transfer_min_advantage`` on training scenarios."""
    settings = setup.settings
    games = self_play((negotiator(setup, attacker), negotiator(setup, target)),
                      setup.training[:settings.transfer_games], settings.seed + 1, complement=0)
    return transfer_sentences(games, 0, settings.transfer_min_advantage)


def run_attack(setup: Negotiation, row: str, target: TrainedAgent, speaker: TrainedAgent, attacker: TrainedAgent,
               sentences: Sequence[tuple[str, ...]], games: int, turn: int | None = None,
               progress: bool | None = None) -> AttackRun:
    """The row ``row`` of :data:`~advrobust.profiles.dialogue.ATTACK_ROWS` against ``target`` on
    the first ``games`` evaluation scenarios (module docstring)."""
    settings = setup.settings
    defender = negotiator(setup, target)
    chosen = setup.evaluation[:games]
    if row == "none":
        records = self_play((negotiator(setup, speaker), defender), chosen, settings.seed,
                            progress=progress)
        return AttackRun(records, [[] for _ in records])
    if row == "rl":
        records = self_play((negotiator(setup, attacker), defender), chosen, settings.seed,
                            complement=0, progress=progress)
        return AttackRun(records, [[] for _ in records])
    adversary = Adversary(negotiator(setup, speaker), row, defender, settings.whitebox,
                          settings.turn if turn is None else turn, settings.transfer_turn, sentences)
    records = self_play((adversary, defender), chosen, settings.seed, complement=0, progress=progress)
    return AttackRun(records, adversary.games)


def attack_rows(setup: Negotiation, target: TrainedAgent, speaker: TrainedAgent, attacker: TrainedAgent,
                progress: bool | None = None) -> dict[str, AttackRun]:
    """Every row of Table 3.10 (or 3.14) against ``target``."""
    sentences = transfer_list(setup, attacker, target)
    return {row: run_attack(setup, row, target, speaker, attacker, sentences, setup.settings.games[row],
                            progress=progress) for row in ATTACK_ROWS}


def _metrics_row(run: AttackRun) -> dict[str, float]:
    metrics = run.metrics
    return {"games": metrics.games, "expired": run.expired, "par": metrics.par,
            "adversary_score": metrics.adversary_score, "target_score": metrics.target_score,
            "advantage": metrics.advantage, "agreement": metrics.agreement}


def _with_counts(table: pd.DataFrame, ours: pd.DataFrame, keys: list[str], profile: str) -> pd.DataFrame:
    """``table`` with our game counts and turn-limit expiries in front."""
    indexed = ours.set_index(keys)
    for position, column in enumerate(("games", "expired")):
        table.insert(position, (column, f"ours ({profile})"), indexed[column])
    return table.round(DECIMALS)


def attack_table(runs: dict[str, dict[str, AttackRun]], thesis: str, profile: str) -> pd.DataFrame:
    """Tables 3.10/3.14: the rows of each target (``runs[target][row]``) beside the thesis's."""
    rows = [{"target": target, "attack": ROW_NAMES[row], **_metrics_row(run)}
            for target, by_row in runs.items() for row, run in by_row.items()]
    ours = pd.DataFrame(rows)
    table = beside_thesis(ours, thesis_table(thesis), on=["target", "attack"], profile=profile, values=METRICS)
    return _with_counts(table, ours, ["target", "attack"], profile)


def turn_runs(setup: Negotiation, target: TrainedAgent, speaker: TrainedAgent,
              progress: bool | None = None) -> dict[int, AttackRun]:
    """Table 3.15's games: the reactive attack against ``target`` (the RL agent) at each turn n."""
    return {turn: run_attack(setup, "reactive", target, speaker, speaker, (), setup.settings.turn_games, turn,
                             progress) for turn in setup.settings.turns}


def table_3_15(runs: dict[int, AttackRun], profile: str) -> pd.DataFrame:
    """Table 3.15 beside the thesis's."""
    ours = pd.DataFrame([{"n": turn, **_metrics_row(run)} for turn, run in runs.items()])
    table = beside_thesis(ours, thesis_table("table_3_15"), on=["n"], profile=profile, values=METRICS)
    return _with_counts(table, ours, ["n"], profile)


def search_outcomes(runs: dict[str, dict[str, AttackRun]]) -> pd.DataFrame:
    """What the white-box searches achieved, per target and row: edits made, edits that met
    Algorithm 7's test ((3.9) and L < 0 for the reactive edit; L < 0 on 10 fresh replies for the
    preemptive one), and, after a successful reactive edit, how often the target's sampled next
    utterance was ``<selection>`` and how often the adversary then won (it must, by construction,
    whenever the target selects: the decision is the argmax the search scored)."""
    rows = []
    for target, by_row in runs.items():
        for row in ("reactive", "preemptive", "ra_pa_da", "ra_pa_ta"):
            if row not in by_row:
                continue
            run = by_row[row]
            edits = [(record, event) for record, events in zip(run.records, run.events) for event in events
                     if event.kind in ("reactive", "preemptive")]
            succeeded = [(record, event) for record, event in edits if event.succeeded]
            selected = [record for record, event in succeeded if event.kind == "reactive"
                        and event.utterance + 1 < len(record.turns)
                        and record.turns[event.utterance + 1][1] == ("<selection>",)]
            rows.append({"target": target, "attack": ROW_NAMES[row], "games": len(run.records), "edits": len(edits),
                         "successful edits": len(succeeded),
                         "reactive successes the target followed with <selection>": len(selected),
                         "... of which the adversary won": sum(r.outcome.scores[0] > r.outcome.scores[1]
                                                               for r in selected)})
    return pd.DataFrame(rows)


def example_dialogue(run: AttackRun, names: tuple[str, str] = ("Adv agent", "Target")) -> str:
    """Tables 3.11-3.13: the first game the adversary won, else the first game, with what the
    adversary's regular module had drafted where an attack changed its words."""
    won = [i for i, record in enumerate(run.records) if record.outcome.scores[0] > record.outcome.scores[1]]
    index = won[0] if won else 0
    record = run.records[index]
    scenario = record.scenario
    header = [f"{names[a]} input: " + " ".join(f"{c}x{item} value {v}" for c, item, v in
                                                zip(scenario.counts, ITEMS, scenario.values[a])) for a in (0, 1)]
    notes = [f"  (utterance {e.utterance + 1}, {e.kind}{' succeeded' if e.succeeded else ''}: the draft was "
             f"\"{' '.join(e.draft)}\")" for e in run.events[index] if e.kind != "draft" and e.said != e.draft]
    return "\n".join([*header, "", record.transcript(names), *notes])


# ------------------------------------------------------------------------------ claims


TURN_TOLERANCE = 1.0  # "the turn matters little": every pairwise difference within a point (thesis: spread 0.68)


def claims(runs: dict[str, dict[str, AttackRun]], adversarial: dict[str, AttackRun],
           turns: dict[int, AttackRun]) -> list[Claim]:
    """The claims of §3.2.5-3.2.6 a reduced run can show, on the per-game advantages of Table
    3.10 (``runs[target][row]``), Table 3.14 (``adversarial[row]``) and Table 3.15
    (``turns[n]``): each comparison paired over the games both rows played (the same scenarios and
    seeds), with a bootstrap interval over them (:func:`~.claims.paired_effect`)."""
    lines = []
    for target, by_row in runs.items():
        def advantages(row: str, by_row: dict[str, AttackRun] = by_row) -> list[float]:
            return by_row[row].advantages
        lines.append(joint_claim(f"vs {target}: reactive > RL attack > transfer (advantage)", [
            Part("reactive − RL", paired_effect(advantages("reactive"), advantages("rl"), over="games")),
            Part("RL − transfer", paired_effect(advantages("rl"), advantages("transfer"), over="games")),
        ], item="Table 3.10"))
        mean = {row: by_row[row].metrics.advantage for row in by_row}
        combination = max(("ra_pa_da", "ra_pa_ta"), key=mean.__getitem__)
        single = max(("transfer", "rl", "reactive", "preemptive"), key=mean.__getitem__)
        best = paired_effect(advantages(combination), advantages(single), over="games")
        lines.append(judged(f"vs {target}: a combination is the best attack", best,
                            f"{ROW_NAMES[combination]} − {ROW_NAMES[single]} (the best of each by mean) {best}",
                            item="Table 3.10"))
    attacked = [run for by_row in (*runs.values(), adversarial) for row, run in by_row.items() if row != "none"]
    agreed = [float(r.outcome.agreed) for run in attacked for r in run.records]
    games, deals = len(agreed), int(sum(agreed))
    expired = sum(run.expired for run in attacked)
    # a claim about every game fails on one counterexample, whatever the interval says
    lines.append(Claim("every attack reaches 100% agreement", HOLDS if deals == games else FAILS,
                       f"{deals} deals in {games} attacked games; {expired} games reached the 10-turn limit without "
                       f"<selection>, {games - deals - expired} ended with the target choosing no agreement",
                       mean_effect(agreed, over="games"), margin=1.0, strict=False, item="Table 3.10"))
    pairs = [(a, b, paired_effect(turns[a].advantages, turns[b].advantages, over="games"))
             for a in turns for b in turns if a < b]
    within = [part for a, b, effect in pairs for part in (
        Part(f"n = {a} − n = {b}", effect, margin=-TURN_TOLERANCE),
        Part(f"n = {b} − n = {a}", effect.negated(), margin=-TURN_TOLERANCE))]
    first, second, farthest = max(pairs, key=lambda pair: max(abs(pair[2].low), abs(pair[2].high)))
    lines.append(joint_claim(
        f"the turn n matters little (every pairwise difference within ±{TURN_TOLERANCE:g} point)", within,
        "advantage " + ", ".join(f"n = {n}: {run.metrics.advantage:.2f}" for n, run in turns.items())
        + f"; farthest pair n = {first} − n = {second}: {farthest}", item="Table 3.15"))
    lowered = paired_effect(runs["RL"]["rl"].advantages, adversarial["rl"].advantages, over="games")
    lines.append(judged("adversarial training lowers the RL attack's advantage", lowered,
                        f"against the RL agent minus against the adversarially trained agent {lowered}",
                        item="Table 3.14"))
    return lines


# ------------------------------------------------------------------------------ the jobs

CHAPTER = "ch03_advagent"
UNKNOWN_VOCABULARY = 0  # the vocabulary size in a unit's settings: the data decides it, and data_key names the data
# Each trained run of AgentRuns: (unit name, kind, the runs it starts from or plays against)
AGENT_RUNS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "sv": ("sv-agent", "dialogue-train", ()),
    "rl": ("rl-agent", "self-play", ("sv",)),
    "attacker_vs_sv": ("rl-attacker-vs-sv", "self-play", ("sv",)),
    "attacker_vs_rl": ("rl-attacker-vs-rl", "self-play", ("sv", "rl")),
    "adversarial_pair": ("adversarial-training", "self-play", ("sv", "rl", "attacker_vs_rl")),
}


# What the estimate of the SV agent's cost assumes of the dialogues, which a plan may not read: the
# training dialogues of train.txt, the vocabulary size of negotiate-unk20 and the mean tokens of a
# training dialogue, measured on the files.
NEGOTIATION_TRAIN_DIALOGUES = 10_095
NEGOTIATION_VOCABULARY = 465
NEGOTIATION_DIALOGUE_LENGTH = 56


def supervised_work(settings: AdvAgentSettings) -> Work:
    """The work of the SV agent's run: epochs (annealing ones included) x training dialogues,
    timed by the trainer (:func:`~advrobust.training.dialogue.dialogue_training_rate`)."""
    config = supervised_config(settings, NEGOTIATION_VOCABULARY)
    dialogues = settings.supervised.train_dialogues or NEGOTIATION_TRAIN_DIALOGUES
    return Work(config.total_epochs * dialogues, "dialogues",
                f"train {config.model} {dict(config.model_options)} with {config.optimizer}, batch {config.batch_size}",
                functools.partial(dialogue_training_rate, config, NEGOTIATION_DIALOGUE_LENGTH))


def train_agent(settings: AdvAgentSettings, run: str, device: torch.device | str) -> None:
    """Train (or read from the cache) the run ``run`` of :class:`AgentRuns` (an attribute name),
    reading the runs it starts from from the cache."""
    getattr(AgentRuns(negotiation(settings, device)), run)


def agent_run_settings(settings: AdvAgentSettings, run: str) -> tuple[object, ...]:
    """What decides the run ``run`` of :class:`AgentRuns` besides the data: the SV agent's config
    (its vocabulary size left at :data:`UNKNOWN_VOCABULARY`), and for a self-play run the
    scenario split, the RL agent's REINFORCE settings (which also decide the supervised steps of
    every self-play run), the RL attack's, and adversarial training's."""
    chain: tuple[object, ...] = (supervised_config(settings, UNKNOWN_VOCABULARY),)
    if run != "sv":
        chain += (("scenarios", settings.evaluation_pool, settings.training_scenarios), settings.rl_agent)
    if run in ("attacker_vs_sv", "attacker_vs_rl", "adversarial_pair"):
        chain += (settings.rl_attack,)
    if run == "adversarial_pair":
        chain += (settings.adversarial,)
    return chain


def units(profile: str, seed: int = 0) -> list[Unit]:
    """The units the chapter page ch03_advagent needs at ``profile``: the SV agent, the RL agent,
    the RL attackers against each and adversarial training (:data:`AGENT_RUNS`), each a stage
    (:func:`~advrobust.jobs.units.stage`) running :func:`train_agent`, since their run
    directories hash the vocabulary size and the self-play scenarios, which only the data tells;
    a stage's settings are :func:`agent_run_settings`. The SV agent's cost is
    :func:`supervised_work`; the self-play runs have no estimate, since what a game costs depends
    on the trained agents (how long they talk, how soon they select), which a probe before
    training cannot have. The page's ``seed`` trains nothing differently (each run seeds itself),
    so the units are the same at every seed. The attacks' games are not cached, so they are no
    units: the page plays them."""
    settings = advagent(profile)
    made: dict[str, Unit] = {}
    for run, (name, kind, needs) in AGENT_RUNS.items():
        made[run] = stage(name, kind, CHAPTER, functools.partial(train_agent, settings, run),
                          agent_run_settings(settings, run), [made[need] for need in needs],
                          work=supervised_work(settings) if run == "sv" else None)
    return list(made.values())
