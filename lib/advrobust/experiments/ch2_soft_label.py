"""§2.3: the soft-label attacks ZOO and NES beside the white-box C&W and PGD attacks on the same images.

The thesis describes ZOO and NES (§2.3, Algorithm 1) and runs no experiment with them; these
functions run both on the C&W MNIST CNN, read their success and distortion off the oracle's trace,
and put them beside the white-box attacks that see the gradients.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import pandas as pd
import torch
from torch import Tensor

from .. import blackbox
from ..attacks.result import AttackResult
from ..blackbox.base import BlackBoxResult
from ..data import load_dataset
from ..jobs import Unit
from ..jobs.estimate import query_work
from ..jobs.units import stage
from ..profiles.score_based import ScoreBasedSettings, score_based
from ..profiles.whitebox import WhiteBoxSettings
from ..robustness.accuracy import predict
from .attack_runs import Victim, distortion_table, query_grid, run_attacks
from .attack_runs import victim as attacked
from .ch2_white_box import victim_training


@dataclass(frozen=True)
class SoftLabelRuns:
    """The four attacks of the page on the same images."""

    zoo: BlackBoxResult  # ZOO (L2), through the probabilities
    nes: BlackBoxResult  # NES (L∞ at ``nes_eps``), through the probabilities
    cw: AttackResult  # white-box C&W L2, the white-box page's settings
    pgd: AttackResult  # white-box PGD at ``nes_eps``, the white-box page's settings


def soft_label_victim(settings: ScoreBasedSettings, device: torch.device | str, seed: int) -> Victim:
    """The white-box page's MNIST network and ``n_examples`` correctly classified test images drawn
    by ``seed`` from ``n_test`` (:func:`~.attack_runs.victim`): the page's attacked images."""
    test = load_dataset(settings.train.dataset, "test", device=device)
    return attacked(settings.train, test, settings.n_test, settings.n_examples, device, seed)


def black_box_runs(settings: ScoreBasedSettings, victim: Victim) -> dict[str, BlackBoxResult]:
    """ZOO and NES on the victim's images, labelled as on the page (cached runs,
    :func:`~.attack_runs.run_attacks`)."""
    return run_attacks(victim.model, {"ZOO (L2)": settings.zoo, "NES (L∞)": settings.nes}, victim.x, victim.y,
                       model_key=victim.model_key)


def run_soft_label(settings: ScoreBasedSettings, whitebox: WhiteBoxSettings, victim: Victim) -> SoftLabelRuns:
    """ZOO and NES (:func:`black_box_runs`), then C&W L2 and PGD at NES's ε."""
    model, x, y = victim.model, victim.x, victim.y
    black_box = black_box_runs(settings, victim)
    cw = whitebox.cw.build(model).run(x, y)
    pgd = whitebox.pgd(settings.nes_eps).build(model).run(x, y)
    return SoftLabelRuns(black_box["ZOO (L2)"], black_box["NES (L∞)"], cw, pgd)


def median_first_success(result: BlackBoxResult) -> float:
    """Median number of the first adversarial query over the examples that have one (NaN if none);
    the lower median of an even count, as :meth:`torch.Tensor.median` gives."""
    first = result.trace.first_success()
    found = first[first.isfinite()]
    return float(found.median()) if found.numel() else float("nan")


def summary_table(runs: SoftLabelRuns, eps: float) -> pd.DataFrame:
    """Per attack: access, norm, success rate, mean and median distortion in the attack's norm (over
    the broken images), mean queries used and the median query of the first success (black-box)."""
    rows = [
        _row("ZOO", "probabilities", "l2", runs.zoo, median_first_success(runs.zoo)),
        _row("C&W", "gradients (white-box)", "l2", runs.cw, float("nan")),
        _row(f"NES (ε = {eps})", "probabilities", "linf", runs.nes, median_first_success(runs.nes)),
        _row(f"PGD (ε = {eps})", "gradients (white-box)", "linf", runs.pgd, float("nan")),
    ]
    return pd.DataFrame(rows).set_index("attack")


def _row(label: str, access: str, distance: str, result: AttackResult, first: float) -> dict[str, object]:
    summary = result.summary(distance)
    return {
        "attack": label, "access": access, "norm": {"l2": "L2", "linf": "L∞"}[distance],
        "success rate": summary["success_rate"], "mean distortion": summary[f"mean_{distance}"],
        "median distortion": summary[f"median_{distance}"], "mean queries used": summary["mean_queries"],
        "median queries to first success": first,
    }


def zoo_curve(settings: ScoreBasedSettings, runs: SoftLabelRuns) -> pd.DataFrame:
    """ZOO's Table 2.2 columns (:func:`~.attack_runs.distortion_table`) at 40 budgets up to its
    own, with success at ``l2_threshold``."""
    return distortion_table({"ZOO": runs.zoo}, query_grid(settings.zoo_budget), threshold=settings.l2_threshold)


def success_panels(
    settings: ScoreBasedSettings, runs: SoftLabelRuns
) -> tuple[dict[str, pd.DataFrame], dict[str, dict[str, float]]]:
    """The success-against-queries panels (column ``share``) and their white-box reference lines.

    ZOO: the share of images with any adversarial query and with one of L2 ≤ ``l2_threshold``
    (C&W's share within it as reference); NES: the share with an adversarial query inside its
    ε-ball (PGD's success rate at the same ε as reference).
    """
    zoo = zoo_curve(settings, runs)
    nes = distortion_table({"NES": runs.nes}, query_grid(settings.nes_budget), threshold=settings.nes_eps)
    threshold, eps = settings.l2_threshold, settings.nes_eps
    zoo_panel, nes_panel = "ZOO (L2)", f"NES (L∞, ε = {eps})"
    panels = {
        zoo_panel: pd.concat([
            zoo.assign(attack="ZOO: any adversarial", share=zoo.found),
            zoo.assign(attack=f"ZOO: L2 ≤ {threshold}", share=zoo.success_rate),
        ]),
        nes_panel: nes.assign(attack="NES", share=nes.found),
    }
    cw_within = float((runs.cw.broken & (runs.cw.l2 <= threshold)).double().mean())
    references = {zoo_panel: {f"C&W: L2 ≤ {threshold}": cw_within},
                  nes_panel: {f"PGD, ε = {eps}": runs.pgd.success_rate}}
    return panels, references


def example_rows(
    model: torch.nn.Module, x: Tensor, runs: SoftLabelRuns, shown: int
) -> tuple[Tensor, list[str], list[str]]:
    """The first ``shown`` images and their ZOO, C&W and NES adversarial examples, stacked row by row
    (on the CPU), with the model's prediction as each title, and the row labels."""
    rows = {"original": x[:shown], "ZOO": runs.zoo.x_adv[:shown], "C&W (white-box)": runs.cw.x_adv[:shown],
            "NES": runs.nes.x_adv[:shown]}
    stacked = torch.cat(list(rows.values()))
    titles = [f"pred {p}" for p in predict(model, stacked).tolist()]
    return stacked.cpu(), titles, list(rows)


def zoo_updates_per_pixel(settings: ScoreBasedSettings, pixels: int) -> float:
    """How often ZOO updates each of ``pixels`` coordinates within its budget: ``zoo_coords`` per
    iteration of 2 ``zoo_coords`` + 1 queries."""
    iterations = settings.zoo_budget / (2 * settings.zoo_coords + 1)
    return iterations * settings.zoo_coords / pixels


# ------------------------------------------------------------------------------ jobs

PAGE = "ch02_soft_label"


def units(profile: str, seed: int = 0) -> list[Unit]:
    """The units the page ``ch02_soft_label`` needs at ``profile``: its victim's training (the
    white-box page's network, :func:`~.ch2_white_box.victim_training`) and one stage running ZOO
    and NES on the images ``seed`` draws (:func:`black_box_runs`; the white-box references are
    the page's own)."""
    settings = score_based(profile)
    training = victim_training(settings.train, profile, PAGE)
    queries = settings.n_examples * (settings.zoo_budget + settings.nes_budget)
    return [training, stage("zoo-nes", "attack", PAGE, functools.partial(_black_box_stage, settings, seed),
                            (settings, seed), [training], code=(blackbox,),
                            work=query_work(settings.train, queries, settings.n_examples))]


def _black_box_stage(settings: ScoreBasedSettings, seed: int, device: torch.device) -> None:
    black_box_runs(settings, soft_label_victim(settings, device, seed))
