"""§2.5: the hard-label attacks compared (Table 2.2, Figures 2.5-2.9).

Every attack runs once to its largest budget through :func:`~.attack_runs.run_attacks` (cached on
disk); the thesis's metrics at every smaller budget are read off the oracle's trace. These
functions run the page's experiments from :class:`~advrobust.profiles.hard_label.HardLabelSettings`
and turn the runs into Table 2.2 beside the thesis's, the curves of Figures 2.5-2.8, the claims
the page checks and the examples of Figure 2.9. Table 2.2's ImageNet rows attack torchvision's
pretrained ResNet-50 on the reader's ImageNet validation images, at paper only
(:func:`imagenet_rows`).
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import pandas as pd
import torch
from torch import Tensor

from .. import blackbox
from ..attacks import CarliniWagnerL2
from ..attacks.result import AttackResult
from ..attacks.spec import AttackSpec
from ..blackbox.base import BlackBoxResult
from ..data import TensorData, load_dataset
from ..data.imagenet import imagenet_class_names, imagenet_validation, seeded_images
from ..data.loading import load_if_present
from ..errors import ConfigError, DataError
from ..jobs import Unit
from ..jobs.estimate import query_work
from ..jobs.units import image_training, stage
from ..profiles.hard_label import HardLabelSettings, hard_label, imagenet_hard_label
from ..profiles.whitebox import WhiteBoxSettings
from ..robustness.accuracy import choose_correct, clean_accuracy, predict
from ..tables import beside_thesis, thesis_table
from ..training.pretrained import ORIGINAL_WEIGHTS, pretrained_imagenet_model
from .attack_runs import (
    Victim,
    distortion_table,
    median_curves,
    query_grid,
    random_targets,
    run_attacks,
    success_curves,
    target_class_starts,
    victim,
)
from .ch2_white_box import victim_training
from .claims import Claim, Part, joint_claim, paired_effect
from .paper_only import DATA_ABSENT

NUM_CLASSES = 10  # MNIST's and CIFAR-10's; random targets are drawn among the other nine
# Table 2.2's dataset column
TABLE_2_2_NAMES = {"mnist": "MNIST", "cifar10": "CIFAR-10", "imagenet": "ImageNet (ResNet-50)"}
NOT_RUN_HERE = "not run at this profile: Table 2.2's ImageNet rows attack torchvision's ResNet-50 at paper only"


def hard_label_victim(settings: HardLabelSettings, device: torch.device | str, seed: int) -> Victim:
    """The dataset's C&W network and its ``n_examples`` attacked test images (drawn by ``seed``);
    the test set is downloaded when missing."""
    return _victim_on(settings, load_dataset(settings.dataset, "test", device=device), device, seed)


def victim_if_present(settings: HardLabelSettings, device: torch.device | str, seed: int) -> Victim | None:
    """:func:`hard_label_victim` when the dataset's test files are on disk, else None (for CIFAR-10,
    which the book never downloads)."""
    test = load_if_present(settings.dataset, "test", device=device)
    return None if test is None else _victim_on(settings, test, device, seed)


def present_victim(settings: HardLabelSettings, device: torch.device | str, seed: int) -> Victim:
    """:func:`victim_if_present`, with the loader's :class:`~advrobust.errors.DataError` (what is
    missing and where it goes) instead of None when the test files are not on disk."""
    test = load_dataset(settings.dataset, "test", device=device, download=False)
    return _victim_on(settings, test, device, seed)


def _victim_on(settings: HardLabelSettings, test: TensorData, device: torch.device | str, seed: int) -> Victim:
    return victim(settings.train, test, settings.n_test, settings.n_examples, device, seed)


def pretrained_victim(name: str, n_test: int, n: int, device: torch.device | str, seed: int,
                      data_root: str | Path | None = None) -> Victim:
    """torchvision's pretrained ImageNet network ``name`` (§2.5: ResNet-50, 76.15% top-1) and ``n``
    correctly classified validation images, a seeded choice among ``n_test`` drawn by ``seed``.

    The loader's :class:`~advrobust.errors.DataError` when ImageNet's validation folder or the
    weights are absent: the folder is checked first, and no image is read before the weights are found.
    """
    folder = imagenet_validation(data_root)
    model = pretrained_imagenet_model(name).to(device)
    test = seeded_images(folder, n_test, seed, device, imagenet_class_names(), "imagenet-val")
    chosen = choose_correct(model, test.x, test.y, n, seed=seed)
    return Victim(model, f"torchvision-{name}-{ORIGINAL_WEIGHTS}", test.x[chosen], test.y[chosen],
                  clean_accuracy(model, test.x, test.y), len(test))


def imagenet_victim(settings: HardLabelSettings, device: torch.device | str, seed: int,
                    data_root: str | Path | None = None) -> Victim:
    """:func:`pretrained_victim` for Table 2.2's ImageNet settings (``settings.pretrained`` attacked
    on ``n_examples`` of ``n_test`` drawn validation images)."""
    if settings.pretrained is None or settings.n_test is None:
        raise ConfigError(f"{settings.dataset}: the settings name no pretrained network, or no number of "
                          "validation images to draw")
    return pretrained_victim(settings.pretrained, settings.n_test, settings.n_examples, device, seed, data_root)


def untargeted_runs(settings: HardLabelSettings, attacked: Victim) -> dict[str, BlackBoxResult]:
    """Table 2.2's attacks, each run once to ``max_budget`` queries on the attacked images."""
    return run_attacks(attacked.model, settings.untargeted_specs(), attacked.x, attacked.y,
                       model_key=attacked.model_key)


def white_box_cw(cw: AttackSpec[CarliniWagnerL2], attacked: Victim) -> AttackResult:
    """The white-box C&W L2 attack ``cw`` (the white-box page's ``settings.cw``, or
    ``settings.imagenet_cw`` on ImageNet) on the same images: Table 2.2's reference row."""
    return cw.build(attacked.model).run(attacked.x, attacked.y)


def table_2_2(
    settings: HardLabelSettings, runs: dict[str, BlackBoxResult], profile: str, cw: AttackResult | None = None
) -> pd.DataFrame:
    """Table 2.2 for the settings' dataset: average L2 and SR(``sr_threshold``) within each of
    ``budgets``, ours beside the thesis's, with the white-box C&W row when ``cw`` is given."""
    dataset = TABLE_2_2_NAMES[settings.dataset]
    ours = distortion_table(runs, settings.budgets, settings.sr_threshold).assign(dataset=dataset)
    if cw is not None:
        within = float((cw.broken & (cw.l2 <= settings.sr_threshold)).double().mean())
        row = {"dataset": dataset, "attack": "C&W (white-box)", "queries": float("nan"), "avg_l2": cw.mean_l2,
               "median_l2": cw.median_l2, "success_rate": within}
        ours = pd.concat([ours, pd.DataFrame([row])])
    thesis = thesis_table("table_2_2")
    return beside_thesis(ours, thesis[thesis.dataset == dataset], on=["dataset", "attack", "queries"],
                         profile=profile, values=["avg_l2", "success_rate"])


@dataclass(frozen=True)
class ImageNetRows:
    """Table 2.2's ImageNet rows: ours beside the thesis's, or the thesis's as printed and why ours
    are missing."""

    status: str  # "ran", NOT_RUN_HERE, or "paper only: data absent: <the loader's message>"
    table: pd.DataFrame
    attacked: Victim | None = None  # the ResNet-50 and its attacked images ("ran" only)
    cw: AttackResult | None = None  # the white-box C&W reference run ("ran" only)
    curves: dict[str, pd.DataFrame] = field(default_factory=dict)  # Figure 2.6's ImageNet panel ("ran" only)


def imagenet_rows(whitebox: WhiteBoxSettings, device: torch.device | str, profile: str, seed: int = 0,
                  data_root: str | Path | None = None) -> ImageNetRows:
    """Table 2.2's ImageNet rows (ResNet-50, 4k/30k/160k queries, SR(ε = 3.0)): Table 2.2's attacks
    (:func:`untargeted_runs`, cached, the plan's stage) and the white-box C&W reference
    (``whitebox.imagenet_cw``) on :func:`imagenet_victim`'s images, beside the thesis's, with Figure
    2.6's ImageNet panel. Below paper, or without ImageNet or the weights, the thesis's rows as
    printed, with the reason."""
    settings = imagenet_hard_label(profile)
    thesis = thesis_table("table_2_2")
    printed = thesis[thesis.dataset == TABLE_2_2_NAMES["imagenet"]].set_index(["dataset", "attack", "queries"])
    if settings is None:
        return ImageNetRows(NOT_RUN_HERE, printed)
    try:
        attacked = imagenet_victim(settings, device, seed, data_root)
    except DataError as error:
        return ImageNetRows(f"{DATA_ABSENT}: {error}", printed)
    runs = untargeted_runs(settings, attacked)
    cw = white_box_cw(whitebox.imagenet_cw, attacked)
    return ImageNetRows("ran", table_2_2(settings, runs, profile, cw), attacked, cw, figure_2_6_panel(settings, runs))


def ordered_medians(
    runs: dict[str, BlackBoxResult], budgets: Sequence[int], order: Sequence[str]
) -> tuple[pd.DataFrame, dict[int, bool]]:
    """The median L2 of each attack within each budget (budgets × attacks), and per budget whether
    the medians increase strictly along ``order`` (no budget when an attack of ``order`` is missing)."""
    medians = median_curves(runs, list(budgets)).pivot(index="queries", columns="attack", values="median_l2")
    if not set(order) <= set(medians.columns):
        return medians, {}
    holds = {int(q): all(medians.loc[q, a] < medians.loc[q, b] for a, b in pairwise(order)) for q in medians.index}
    return medians, holds


def best_distortions(result: BlackBoxResult, budget: int) -> Tensor:
    """(n,) the best L2 distortion of each attacked example within ``budget`` queries (``inf``
    where none was found), in the examples' order: the same examples for every attack of a page."""
    return result.best_at([budget])[result.original_correct.cpu(), 0]


def order_claims(runs: dict[str, BlackBoxResult], budgets: Sequence[int], order: Sequence[str],
                 item: str | None = None) -> list[Claim]:
    """Per budget, the claim that the median L2 distortions increase along ``order`` (e.g.
    Sign-OPT < OPT < Boundary, Table 2.2): each neighbouring pair's difference of medians with a
    paired bootstrap interval over the attacked examples (all attacks ran on the same ones)."""
    label = " < ".join(name.removesuffix(" attack") for name in order)
    if not set(order) <= set(runs):
        return [Claim(f"{label} (median L2 at {q:,} queries)", "inconclusive", "an attack was not run", item=item)
                for q in budgets]
    claims = []
    for q in budgets:
        parts = [Part(f"median {b.removesuffix(' attack')} − {a.removesuffix(' attack')}",
                      paired_effect(best_distortions(runs[b], q).numpy(), best_distortions(runs[a], q).numpy(),
                                    statistic="median"))
                 for a, b in pairwise(order)]
        claims.append(joint_claim(f"{label} (median L2 at {q:,} queries)", parts, item=item))
    return claims


@dataclass(frozen=True)
class SideRuns:
    """The side experiments on the first ``n_side`` attacked images (Figures 2.5, 2.7, 2.9)."""

    x: Tensor  # (n_side, ...) images
    y: Tensor  # (n_side,) labels
    targets: Tensor  # (n_side,) the random target classes of the targeted attacks
    svm: dict[str, BlackBoxResult]  # Sign-OPT and SVM-OPT, untargeted
    q_sweep: dict[str, BlackBoxResult]  # Sign-OPT with each Q
    targeted: dict[str, BlackBoxResult]  # Sign-OPT, OPT, Boundary and SVM-OPT toward the targets
    zo: dict[str, BlackBoxResult]  # Sign-OPT and ZO-SignSGD with and without the single-query oracle


def side_runs(settings: HardLabelSettings, attacked: Victim, device: torch.device | str, seed: int) -> SideRuns:
    """Run the side experiments at ``side_budget`` queries on the first ``n_side`` attacked images.

    The targeted attacks go to a random class ≠ y (seeded by ``seed``), each started from the best of
    ``n_starts`` training images the model assigns to it (§2.5.0.2), taken from a seeded subset of
    ``n_start_pool`` training images.
    """
    model, key = attacked.model, attacked.model_key
    x, y = attacked.x[: settings.n_side], attacked.y[: settings.n_side]
    targets = random_targets(y, NUM_CLASSES, seed)
    train = load_dataset(settings.dataset, "train", device=device).subset(settings.n_start_pool, seed=seed)
    starts = target_class_starts(predict(model, train.x), train.x, targets, settings.n_starts)
    return SideRuns(
        x, y, targets,
        svm=run_attacks(model, settings.svm_specs(), x, y, model_key=key),
        q_sweep=run_attacks(model, settings.q_specs(), x, y, model_key=key),
        targeted=run_attacks(model, settings.targeted_specs(), x, y, targets, starts, model_key=key),
        zo=run_attacks(model, settings.zo_specs(), x, y, model_key=key),
    )


def figure_2_5_panels(settings: HardLabelSettings, side: SideRuns) -> dict[str, pd.DataFrame]:
    """Median L2 against queries: Sign-OPT against SVM-OPT (untargeted, targeted), and the Q sweep."""
    grid = query_grid(settings.side_budget)
    targeted = {name: side.targeted[name] for name in ("Sign-OPT attack", "SVM-OPT")}
    return {"MNIST untargeted": median_curves(side.svm, grid), "MNIST targeted": median_curves(targeted, grid),
            "Q sweep (MNIST untargeted)": median_curves(side.q_sweep, grid)}


def largest_relative_gap(runs: dict[str, BlackBoxResult], budgets: Sequence[int], pair: tuple[str, str]) -> float:
    """The largest |m_a - m_b| / min(m_a, m_b) over ``budgets`` of the two attacks' median L2."""
    medians = median_curves(runs, list(budgets)).pivot(index="queries", columns="attack", values="median_l2")
    a, b = medians[pair[0]], medians[pair[1]]
    return float(((a - b).abs() / pd.concat([a, b], axis=1).min(axis=1)).max())


def figure_2_7_panels(settings: HardLabelSettings, side: SideRuns) -> dict[str, pd.DataFrame]:
    """(a) targeted median L2 against queries; (b) Sign-OPT against ZO-SignSGD with and without SQO."""
    grid = query_grid(settings.side_budget)
    return {"(a) MNIST targeted": median_curves(side.targeted, grid),
            "(b) MNIST untargeted": median_curves(side.zo, grid)}


def figure_2_8_panels(
    settings: HardLabelSettings, untargeted: dict[str, BlackBoxResult], side: SideRuns | None = None
) -> dict[str, pd.DataFrame]:
    """Success rate against queries: untargeted at ``sr_threshold`` and, with ``side``, targeted at
    ``targeted_threshold``."""
    dataset, threshold = TABLE_2_2_NAMES[settings.dataset], settings.sr_threshold
    panels = {f"{dataset} untargeted, ε = {threshold}":
              success_curves(untargeted, query_grid(settings.max_budget), [threshold])}
    if side is not None:
        panels[f"{dataset} targeted, ε = {settings.targeted_threshold}"] = success_curves(
            side.targeted, query_grid(settings.side_budget), [settings.targeted_threshold])
    return panels


def figure_2_9_rows(side: SideRuns, shown: int = 4) -> tuple[Tensor, list[str], list[str]]:
    """Figure 2.9's images (on the CPU): the first ``shown`` side images and their targeted Sign-OPT
    and OPT-attack examples, titled with label → target, then L2 distortion and queries spent; and
    the row labels."""
    show = torch.arange(min(shown, len(side.y)))
    labels = ["Sign-OPT attack", "OPT attack"]
    titles = [f"label {int(side.y[i])} → {int(side.targets[i])}" for i in show]
    for label in labels:
        result = side.targeted[label]
        titles += [f"L2 {float(result.l2[i]):.2f}\n{int(result.queries[i]):,} q" for i in show]
    images = torch.cat([side.x[show]] + [side.targeted[label].x_adv[show] for label in labels])
    return images.cpu(), titles, ["original", *labels]


def figure_2_6_panel(settings: HardLabelSettings, runs: dict[str, BlackBoxResult]) -> dict[str, pd.DataFrame]:
    """The dataset's panel of Figure 2.6: median L2 against queries up to ``max_budget``."""
    return {TABLE_2_2_NAMES[settings.dataset]: median_curves(runs, query_grid(settings.max_budget))}


# ------------------------------------------------------------------------------ jobs

PAGE = "ch02_hard_label_attacks"
# hard_label_victim, present_victim or imagenet_victim
_VictimOf = Callable[[HardLabelSettings, torch.device, int], Victim]


def side_run_count(settings: HardLabelSettings) -> int:
    """How many distinct attack runs :func:`side_runs` makes: the untargeted ones (Sign-OPT at
    Q = 200 is one run, shared by three figures) and the targeted ones."""
    untargeted = {*settings.svm_specs().values(), *settings.q_specs().values(), *settings.zo_specs().values()}
    return len(untargeted) + len(settings.targeted_specs())


def units(profile: str, seed: int = 0) -> list[Unit]:
    """The units the page ``ch02_hard_label_attacks`` needs at ``profile``: the MNIST victim's
    training (the white-box page's network, :func:`~.ch2_white_box.victim_training`) with a stage
    for Table 2.2's untargeted runs (:func:`untargeted_runs`) and one for the side experiments
    (:func:`side_runs`, when the profile has them); the CIFAR-10 network's training with a stage
    for its untargeted runs, which raises the loader's :class:`~advrobust.errors.DataError` when
    CIFAR-10's test files are absent (the page skips the section); at paper, a stage for the
    ImageNet rows' untargeted runs on the pretrained ResNet-50 (:func:`imagenet_victim`; it needs no
    unit, and raises the loader's DataError when ImageNet's validation folder or the weights are
    absent). The images attacked are drawn by ``seed``. The white-box C&W references and the
    page's exercises run on the page."""
    mnist, cifar = hard_label(profile, "mnist"), hard_label(profile, "cifar10")
    mnist_training = victim_training(mnist.train, profile, PAGE)
    cifar_training = image_training(cifar.train, chapter=PAGE)
    listed = [mnist_training, _untargeted_stage(mnist, seed, [mnist_training], hard_label_victim)]
    if mnist.n_side > 0:
        queries = mnist.n_side * mnist.side_budget * side_run_count(mnist)
        listed.append(stage(f"{mnist.dataset}-side", "attack", PAGE, functools.partial(_side_stage, mnist, seed),
                           (mnist, seed), [mnist_training], code=(blackbox,),
                           work=query_work(mnist.train, queries, mnist.n_side)))
    listed += [cifar_training, _untargeted_stage(cifar, seed, [cifar_training], present_victim)]
    imagenet = imagenet_hard_label(profile)
    return listed if imagenet is None else [*listed, _untargeted_stage(imagenet, seed, [], imagenet_victim)]


def _untargeted_stage(settings: HardLabelSettings, seed: int, needs: Sequence[Unit], attacked: _VictimOf) -> Unit:
    """The stage of :func:`untargeted_runs` on ``attacked``'s victim, after the units ``needs``."""
    queries = settings.n_examples * settings.max_budget * len(settings.attacks)
    return stage(f"{settings.dataset}-untargeted", "attack", PAGE,
                 functools.partial(_untargeted, settings, seed, attacked), (settings, seed), needs,
                 code=(blackbox,), work=query_work(settings.train, queries, settings.n_examples))


def _untargeted(settings: HardLabelSettings, seed: int, attacked: _VictimOf, device: torch.device) -> None:
    untargeted_runs(settings, attacked(settings, device, seed))


def _side_stage(settings: HardLabelSettings, seed: int, device: torch.device) -> None:
    side_runs(settings, hard_label_victim(settings, device, seed), device, seed)
