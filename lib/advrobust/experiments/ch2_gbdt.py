"""§2.5.0.5 (Table 2.1): the untargeted L2 OPT-attack on LightGBM models of HIGGS and MNIST.

A GBDT has no gradient, but the OPT-attack needs only the predicted label. These functions train
(or read from the cache) the two GBDTs of :class:`~advrobust.profiles.gbdt.GBDTSettings`, attack
their correctly classified test examples through the cached runner
(:func:`~.attack_runs.run_attacks`, keyed by the :class:`~advrobust.training.gbdt.GBDTConfig`),
and read Table 2.1 and its claim off the oracle's traces (with a paired bootstrap interval over the
attacked examples, :func:`falls_claims`).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from .. import blackbox
from ..blackbox.base import BlackBoxResult
from ..data import TensorData, load_dataset
from ..jobs import Unit
from ..jobs.units import stage, trained_run
from ..models.gbdt import GBDTScores, roc_auc
from ..profiles.gbdt import GBDTExperiment, GBDTSettings, gbdt
from ..robustness.accuracy import choose_correct
from ..tables import beside_thesis, thesis_table
from ..training.gbdt import MODEL_FILE, gbdt_run_directory, train_gbdt
from .attack_runs import distortion_table, query_grid, run_attacks
from .claims import FAILS, HOLDS, Claim, Part, joint_claim, paired_effect

HIGGS_SAMPLE = "higgs_lightgbm_sample"  # the name of LightGBM's example sample of HIGGS (7,000 + 500 rows)


@dataclass(frozen=True)
class GBDTVictim:
    """One column of Table 2.1: the trained GBDT and its data."""

    experiment: GBDTExperiment  # the settings of this column
    scores: GBDTScores  # the booster as a score function, as the oracle queries it
    train: TensorData  # all training examples (their range bounds the HIGGS attack)
    test: TensorData  # all test examples
    raw: Tensor  # (N_test, K) the booster's raw scores on ``test``

    @property
    def correct(self) -> Tensor:
        """(N_test,) bool: the test examples the GBDT classifies correctly."""
        return self.raw.argmax(dim=1) == self.test.y

    def describe(self) -> str:
        """e.g. "lightgbm (100 trees / 100 leaves)", as the thesis's model table names it."""
        return f"lightgbm ({self.experiment.model.num_trees} trees / {self.experiment.model.num_leaves} leaves)"

    def training_examples(self) -> int:
        """How many training examples the booster was fitted on."""
        subset = self.experiment.model.train_subset
        return len(self.train) if subset is None else min(subset, len(self.train))


def train_victims(settings: GBDTSettings) -> dict[str, GBDTVictim]:
    """Table 2.1's dataset name -> its GBDT (:func:`train_victim`)."""
    return {experiment.dataset: train_victim(settings, experiment) for experiment in settings.experiments()}


def train_victim(settings: GBDTSettings, experiment: GBDTExperiment) -> GBDTVictim:
    """The GBDT of one column of Table 2.1 (trained once, then read from the checkpoint cache,
    keyed by its configuration and the data files), with LightGBM on ``num_threads`` threads."""
    config = experiment.model
    scores = GBDTScores(train_gbdt(config, num_threads=settings.num_threads), num_threads=settings.num_threads)
    train = load_dataset(config.dataset, "train", device="cpu")
    test = load_dataset(config.dataset, "test", device="cpu")
    return GBDTVictim(experiment, scores, train, test, scores(test.x))


def models_table(victims: dict[str, GBDTVictim], profile: str) -> pd.DataFrame:
    """Test accuracy of each GBDT (and AUC of the binary HIGGS one), ours beside the thesis's."""
    rows = []
    for name, victim in victims.items():
        common = {"dataset": name, "model": victim.describe(), "training examples": victim.training_examples(),
                  "data": victim.train.name}
        rows.append({**common, "metric": "test accuracy", "value": float(victim.correct.double().mean())})
        if victim.scores.num_classes == 2:
            auc = roc_auc(victim.raw[:, 1] - victim.raw[:, 0], victim.test.y)
            rows.append({**common, "metric": "AUC", "value": auc})
    thesis = thesis_table("model_accuracy").query("model.str.startswith('lightgbm')")
    return beside_thesis(pd.DataFrame(rows), thesis, on=["dataset", "metric"], profile=profile, values=["value"])


def describe_models(victims: dict[str, GBDTVictim]) -> str:
    """e.g. "HIGGS: lightgbm (20 trees / 31 leaves) on 2,000 training examples (higgs...-train); MNIST: ..."."""
    return "; ".join(f"{name}: {v.describe()} on {v.training_examples():,} training examples ({v.train.name})"
                     for name, v in victims.items())


def higgs_source(victim: GBDTVictim) -> str:
    """Which HIGGS data the model was trained on: UCI's full file or LightGBM's sample."""
    sample = victim.train.name.startswith(HIGGS_SAMPLE)
    return "LightGBM's example sample of HIGGS" if sample else "UCI's full HIGGS file"


@dataclass(frozen=True)
class GBDTRun:
    """The OPT-attack on one GBDT."""

    experiment: GBDTExperiment  # the column's settings (its read points)
    x: Tensor  # (n_attack, ...) the attacked test examples
    result: BlackBoxResult  # the run to ``experiment.budget`` queries, with its trace


def attack_victims(settings: GBDTSettings, victims: dict[str, GBDTVictim], seed: int) -> dict[str, GBDTRun]:
    """:func:`attack_victim` on each GBDT, by Table 2.1's dataset name."""
    return {name: attack_victim(settings, victim, seed) for name, victim in victims.items()}


def attack_victim(settings: GBDTSettings, victim: GBDTVictim, seed: int) -> GBDTRun:
    """The OPT-attack (:meth:`GBDTSettings.opt`) on the first ``n_attack`` correctly classified test
    examples of the GBDT, once to the largest read point; a finished run comes from the cache (keyed
    by the GBDTConfig, the attack's settings and bounds, and the examples)."""
    experiment = victim.experiment
    chosen = choose_correct(victim.scores, victim.test.x, victim.test.y, experiment.n_attack)
    x, y = victim.test.x[chosen], victim.test.y[chosen]
    spec = settings.opt(experiment, experiment.attack_bounds(victim.train.x, x), seed)
    result = run_attacks(victim.scores, {"OPT attack": spec}, x, y, model_key=experiment.model.key())["OPT attack"]
    return GBDTRun(experiment, x, result)


def table_2_1(runs: dict[str, GBDTRun]) -> pd.DataFrame:
    """Average L2 (and the share of examples with an adversarial example, ``found``) within each
    read point, one row per dataset and read point."""
    return pd.concat(
        [distortion_table({"OPT attack": run.result}, run.experiment.read_at, threshold=float("inf"))
         .assign(dataset=name) for name, run in runs.items()],
        ignore_index=True,
    )


def beside_table_2_1(table: pd.DataFrame, profile: str) -> pd.DataFrame:
    """:func:`table_2_1` beside the thesis's Table 2.1 (which has no ``found`` column)."""
    thesis = thesis_table("table_2_1").assign(found=float("nan"))
    return beside_thesis(table, thesis, on=["dataset", "attack", "queries"], profile=profile,
                         values=["avg_l2", "found"])


def curves(runs: dict[str, GBDTRun]) -> dict[str, pd.DataFrame]:
    """Per dataset, the average L2 at 40 budgets up to the run's own (columns ``queries``, ``avg_l2``)."""
    return {name: distortion_table({"OPT attack": run.result}, query_grid(run.experiment.budget), float("inf"))
            for name, run in runs.items()}


def thesis_points(runs: dict[str, GBDTRun]) -> dict[str, pd.DataFrame]:
    """Per dataset, the thesis's Table 2.1 rows (its three read points)."""
    thesis = thesis_table("table_2_1")
    return {name: thesis[thesis.dataset == name] for name in runs}


def l2_falls(table: pd.DataFrame) -> pd.DataFrame:
    """Table 2.1's claim on our run: per dataset, the average L2 along the read points, whether it
    falls at every step, and the relative fall from the first read point to the last."""
    checks = []
    for name, group in table.groupby("dataset", sort=False):
        values = group.sort_values("queries")["avg_l2"].tolist()
        checks.append({
            "dataset": name,
            "average L2 at the read points": " → ".join(f"{v:.4f}" for v in values),
            "falls at every step": all(later < earlier for earlier, later in pairwise(values)),
            "relative fall, first to last": 1 - values[-1] / values[0],
        })
    return pd.DataFrame(checks)


def falls_claims(runs: dict[str, GBDTRun]) -> dict[str, Claim]:
    """Table 2.1's claim per dataset: the L2 distortion falls from each read point to the next,
    each step's mean fall over the examples with an adversarial example at both read points, with a
    paired bootstrap interval over them."""
    claims = {}
    for name, run in runs.items():
        budgets = sorted(run.experiment.read_at)
        best = run.result.best_at(budgets)[run.result.original_correct.cpu()].double().numpy()
        parts = []
        for j in range(len(budgets) - 1):
            both = np.isfinite(best[:, j]) & np.isfinite(best[:, j + 1])
            parts.append(Part(f"{budgets[j]:,} − {budgets[j + 1]:,} queries",
                              paired_effect(best[both, j], best[both, j + 1])))
        averages = " → ".join(f"{v:.4f}" for v in np.nanmean(np.where(np.isfinite(best), best, np.nan), axis=0))
        falls = "; ".join(f"{p.label} {p.effect}" for p in parts)
        claims[name] = joint_claim(f"the average L2 distortion falls at every read point ({name})", parts,
                                   f"average L2 {averages}; falls: {falls}", item="Table 2.1")
    return claims


def falls_phrase(claim: Claim) -> str:
    """The claim for running text: "falls at every read point", "does not fall at every read
    point" or "may not fall at every read point", with its verdict and interval."""
    verb = {HOLDS: "falls", FAILS: "does not fall"}.get(claim.verdict, "may not fall")
    return f"{verb} at every read point (the claim {claim.phrase()})"


def found_from_first_read(table: pd.DataFrame) -> bool:
    """Whether every attacked example has an adversarial example from the first read point on, so
    that the averages at all read points are over the same examples."""
    return bool((table.sort_values("queries").groupby("dataset")["found"].first() == 1).all())


def example_rows(victim: GBDTVictim, run: GBDTRun, shown: int = 6) -> tuple[Tensor, list[str], list[str]]:
    """The first ``shown`` attacked examples and their adversarial examples (rows), titled with the
    GBDT's prediction (and the L2 distortion), and the row labels."""
    shown = min(shown, len(run.x))
    images = torch.cat([run.x[:shown], run.result.x_adv[:shown]])
    predicted = victim.scores(images).argmax(dim=1).tolist()
    titles = [f"pred {p}" for p in predicted[:shown]] + [
        f"pred {p}, L2 {float(d):.2f}" for p, d in zip(predicted[shown:], run.result.l2[:shown])]
    return images, titles, ["original", "OPT-attack"]


# ------------------------------------------------------------------------------ jobs

PAGE = "ch02_gbdt"


def units(profile: str, seed: int = 0) -> list[Unit]:
    """The units the page ``ch02_gbdt`` needs at ``profile``: per column of Table 2.1, the GBDT's
    training (:func:`~advrobust.training.gbdt.train_gbdt`) and a stage of its OPT-attack run on
    the examples ``seed`` draws (:func:`attack_victim`). LightGBM runs on the CPU whatever the
    device; the costs are not estimated (the estimate's probes time torch networks)."""
    settings = gbdt(profile)
    listed: list[Unit] = []
    for experiment in settings.experiments():
        name = gbdt_run_directory(experiment.model).name
        training = trained_run(Path(name), "cpu", PAGE, functools.partial(_train, settings, experiment),
                               final=MODEL_FILE)
        # the training's name says which HIGGS data it learns from: other data, another attack
        listed += [training, stage(experiment.dataset.lower(), "cpu", PAGE,
                                  functools.partial(_attack, settings, experiment, seed),
                                  (settings, experiment, name, seed), [training], code=(blackbox,))]
    return listed


def _train(settings: GBDTSettings, experiment: GBDTExperiment, device: torch.device) -> None:
    train_gbdt(experiment.model, num_threads=settings.num_threads)


def _attack(settings: GBDTSettings, experiment: GBDTExperiment, seed: int, device: torch.device) -> None:
    attack_victim(settings, train_victim(settings, experiment), seed)
