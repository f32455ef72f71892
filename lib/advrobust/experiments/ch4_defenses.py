"""The experiments of Chapter 4 as functions of the profile's settings (Figure 4.1, Tables 4.1-4.6,
Figure 4.2, and the gradient-masking checks the book adds).

Chapters call these; each table comes back with the thesis's numbers beside ours
(:func:`advrobust.tables.beside_thesis`), rounded to four decimals (the thesis's 99.96% must not
show as 1.0). Every attack is an :class:`~advrobust.attacks.AttackSpec` of the profile's
:class:`~advrobust.profiles.defenses.AttackColumns`. Nothing here imports the black-box attacks.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from ..attacks import PGD
from ..attacks.base import BudgetedAttack
from ..attacks.spec import AttackSpec
from ..data import TensorData, load_dataset
from ..data.imagenet import restricted_val_images
from ..defenses import Defense
from ..jobs import Unit
from ..jobs.units import image_trainings
from ..profiles.defenses import AttackColumns, DefenseSettings
from ..profiles.defenses import defenses as chapter_settings
from ..robustness import (
    AutoAttack,
    LossLandscape,
    WithinBudget,
    accuracy_on,
    craft_transfer_examples,
    defense_columns,
    gradient_masking_checks,
    loss_landscape,
)
from ..robustness.accuracy import clean_accuracy, predict, robust_accuracy
from ..tables import beside_thesis, thesis_table
from ..toys.margin import (
    AT_BEYOND_MARGIN,
    figure_4_1_data,
    figure_4_1_models,
    toy_accuracy,
)
from ..training import ModelRun, TrainConfig, trained_models, training_record
from .claims import Claim, Part, joint_claim, judged, paired_effect
from .paper_only import PaperOnlyTable, evaluation_images

Label = TypeVar("Label", str, float)  # a row's label: a method's name, or Table 4.1's training eps
TABLE_4_2_COLUMNS = ("clean", "deepfool", "pgd", "cw", "pgd_restarts", "cw_restarts", "autoattack")
NATURAL = "Natural train"  # Table 4.2's naturally trained model: the source of the transfer attacks
DEFENDED = ("Adv train", "TRADES", "CAT")  # Table 4.4's rows
RESTRICTED_ROW = "CAT (ours)"  # Table 4.5's row of the thesis's own model
NOT_RUN_HERE = "not run at this profile: Table 4.5 trains a ResNet-50 on Restricted ImageNet at paper only"
DECIMALS = 4  # the tables' rounding: four decimals keep the thesis's 99.96%
TOY_GAP = 0.05  # Figure 4.1's "clearly worse": by more than 5 points of test accuracy
FAR_MORE = 0.10  # §4.2.4's "far more robust": by more than 10 points


# ------------------------------------------------------------------------------ models and data


def defended_runs(
    settings: DefenseSettings, defenses: Mapping[Label, Defense], config: TrainConfig | None = None,
) -> dict[Label, ModelRun]:
    """label -> the run that trains that defense under ``config`` (default
    ``settings.train_config(defense)``)."""
    return {label: ModelRun(config or settings.train_config(defense), defense) for label, defense in defenses.items()}


def table_runs(settings: DefenseSettings) -> dict[str, ModelRun]:
    """Table 4.2's models and Table 4.6's ablations (page ``ch04_cat``)."""
    return defended_runs(settings, {**settings.defenses, **settings.ablations})


def fixed_eps_runs(settings: DefenseSettings) -> dict[float, ModelRun]:
    """Table 4.1's models: plain adversarial training at each fixed training eps."""
    return defended_runs(settings, settings.fixed_eps_defenses(), settings.fixed_eps_config)


def wide_runs(settings: DefenseSettings) -> dict[str, ModelRun]:
    """Table 4.3's WRN-34-10 models (none when the profile has no WRN run)."""
    return {} if settings.wide_train is None else defended_runs(settings, settings.defenses, settings.wide_train)


def restricted_runs(settings: DefenseSettings) -> dict[str, ModelRun]:
    """Table 4.5's model: CAT's ResNet-50 on Restricted ImageNet (none below paper)."""
    if settings.restricted_train is None:
        return {}
    return {RESTRICTED_ROW: ModelRun(settings.restricted_train, settings.defenses["CAT"])}


def units(profile: str, seed: int = 0) -> list[Unit]:
    """The trainings of Chapter 4's pages at ``profile``: Table 4.1's fixed-eps runs
    (``ch04_adversarial_training``), then Table 4.2's, 4.6's and, at paper, 4.3's and 4.5's
    (``ch04_cat``; 4.5's is streamed from ImageNet and reports that its data are absent where they
    are). Their attacks are white-box evaluations run by the pages themselves (nothing cached), and
    Figure 4.1's toy trains in seconds; neither is a unit. ``seed`` does not enter."""
    settings = chapter_settings(profile)
    return [*image_trainings(list(fixed_eps_runs(settings).values()), "ch04_adversarial_training"),
            *image_trainings([*table_runs(settings).values(), *wide_runs(settings).values(),
                              *restricted_runs(settings).values()], "ch04_cat")]


def evaluation_data(
    settings: DefenseSettings, split: str, n: int, device: torch.device | str,
    data_root: str | Path | None = None, seed: int = 0,
) -> TensorData:
    """``n`` images of ``split`` (a seeded choice), on ``device``."""
    data = load_dataset(settings.dataset, split, root=data_root, device=device)
    return data.subset(n, seed) if n < len(data.y) else data


# ------------------------------------------------------------------------------ Figure 4.1


@dataclass(frozen=True)
class ToyFigure:
    """Figure 4.1: the separable toy of §4.1.1, its four trained models and their accuracy."""

    x: Tensor  # (N, 2) training points
    y: Tensor  # (N,) training labels
    x_test: Tensor  # held-out points of the same distribution
    y_test: Tensor
    models: dict[str, nn.Module]  # panel name -> model, panels (a)-(d)
    accuracy: pd.DataFrame  # per panel ("training"): test and training accuracy

    @property
    def table(self) -> pd.DataFrame:
        """The accuracy table as the page shows it (four decimals)."""
        return self.accuracy.round(DECIMALS)

    def claim(self) -> Claim:
        """The thesis's claim: adversarial training at eps = 4, beyond the margin, is clearly (by
        more than :data:`TOY_GAP`) worse on the test set than every other training; each
        comparison paired over the test points, with a bootstrap interval."""
        correct = {name: (predict(model, self.x_test) == self.y_test).cpu().numpy()
                   for name, model in self.models.items()}
        parts = [Part(f"{name} − {AT_BEYOND_MARGIN}", paired_effect(correct[name], correct[AT_BEYOND_MARGIN],
                                                                    over="test points"), margin=TOY_GAP)
                 for name in correct if name != AT_BEYOND_MARGIN]
        accuracy = ", ".join(f"{name} {value:.3f}" for name, value in self.table["test accuracy"].items())
        return joint_claim(f"AT at eps = 4 is clearly (by more than {TOY_GAP:.0%}) worse than natural, AT at eps = 1 "
                           "and CAT", parts, f"test accuracy {accuracy}", item="Figure 4.1")


def figure_4_1(seed: int) -> ToyFigure:
    """Train the four models of Figure 4.1 on the toy of :mod:`advrobust.toys.margin` and measure
    them (the same at every profile)."""
    x, y, x_test, y_test = figure_4_1_data(seed)
    models: dict[str, nn.Module] = dict(figure_4_1_models(seed))
    accuracy = pd.DataFrame(
        [{"training": name, "test accuracy": toy_accuracy(model, x_test, y_test),
          "training accuracy": toy_accuracy(model, x, y)} for name, model in models.items()]
    ).set_index("training")
    return ToyFigure(x, y, x_test, y_test, models, accuracy)


# ------------------------------------------------------------------------------ Table 4.1


@dataclass(frozen=True)
class FixedEpsTable:
    """Table 4.1 and the generalisation gap it shows."""

    shown: pd.DataFrame  # thesis beside ours: robust accuracy (PGD), then AutoAttack and clean accuracy
    gap: pd.Series  # per training eps: robust accuracy on training minus test images


def fixed_eps_table(
    models: Mapping[float, nn.Module], train: TensorData, test: TensorData,
    pgd: AttackSpec[PGD], autoattack: AttackSpec[AutoAttack],
) -> pd.DataFrame:
    """Table 4.1's measurements: robust accuracy on training and test images of models
    adversarially trained at each fixed eps, under ``pgd`` and, beside it, ``autoattack`` (both at
    the test eps), with clean accuracy."""
    eps = pgd.settings["eps"]
    rows = []
    for train_eps, model in models.items():
        for split, data in (("train", train), ("test", test)):
            rows.append({
                "test_eps": eps, "split": split, "train_eps": train_eps,
                "clean_accuracy": clean_accuracy(model, data.x, data.y),
                "robust_accuracy": robust_accuracy(model, data.x, data.y, {"pgd": pgd.build(model)}).robust_accuracy,
                "autoattack": robust_accuracy(
                    model, data.x, data.y, {"autoattack": autoattack.build(model)}
                ).robust_accuracy,
            })
    return pd.DataFrame(rows)


def table_4_1(settings: DefenseSettings, device: torch.device | str, profile: str) -> FixedEpsTable:
    """Table 4.1: train (or load) plain adversarial training at each ``settings.fixed_eps_train``
    and measure it at ``settings.fixed_eps_test`` with PGD-k (step eps/5) and AutoAttack on
    ``settings.n_fixed_eps`` training images (among those the models saw) and test images."""
    models = trained_models(fixed_eps_runs(settings), device)
    # the same seed as the training run's subset: these training images are ones the models saw
    train = evaluation_data(settings, "train", settings.n_fixed_eps, device, seed=settings.fixed_eps_config.seed)
    test = evaluation_data(settings, "test", settings.n_fixed_eps, device)
    columns, eps = settings.columns, settings.fixed_eps_test
    fixed = fixed_eps_table(models, train, test, columns.pgd(columns.pgd_steps, eps=eps),
                            columns.autoattack.replace(eps=eps))
    keys = ["test_eps", "split", "train_eps"]
    shown = beside_thesis(fixed, thesis_table("table_4_1"), on=keys, profile=profile, values=["robust_accuracy"])
    ours = fixed.set_index(keys)
    shown[("AutoAttack", f"ours ({profile})")] = ours["autoattack"]
    shown[("clean accuracy", f"ours ({profile})")] = ours["clean_accuracy"]
    robust = ours["robust_accuracy"].droplevel("test_eps")
    gap = robust.xs("train", level="split") - robust.xs("test", level="split")
    return FixedEpsTable(shown.round(DECIMALS), gap.round(DECIMALS))


# ------------------------------------------------------------------------------ Table 4.2


def column_attacks(model: nn.Module, columns: AttackColumns) -> dict[str, BudgetedAttack]:
    """Table 4.2's attack columns on ``model``: DeepFool (L∞, read at eps), PGD-k and C&W-k
    (step eps/5), their restarted versions, and AutoAttack."""
    k, r, kr = columns.pgd_steps, columns.restarts, columns.restart_steps
    return {
        "deepfool": WithinBudget(columns.deepfool.build(model), eps=columns.eps),
        "pgd": columns.pgd(k).build(model),
        "cw": columns.cw(k).build(model),
        "pgd_restarts": columns.pgd(kr, r).build(model),
        "cw_restarts": columns.cw(kr, r).build(model),
        "autoattack": columns.autoattack.build(model),
    }


def column_names(columns: AttackColumns) -> dict[str, str]:
    """Display names of Table 4.2's columns at these settings, e.g. ``"PGD20"``; AutoAttack names
    the budgets it runs with where they are below the standard version's."""
    k, r, kr = columns.pgd_steps, columns.restarts, columns.restart_steps
    reduced = {key: value for key, value in columns.autoattack.settings.items() if key not in ("eps", "version")}
    autoattack = "AutoAttack" + (
        " (" + ", ".join(f"{key}={value}" for key, value in reduced.items()) + ")"
        if {"n_target_classes", "n_queries", "steps"} & reduced.keys() else ""
    )
    return {"clean": "No attack", "deepfool": "DeepFool", "pgd": f"PGD{k}", "cw": f"C&W{k}",
            "pgd_restarts": f"{r} PGD{kr}", "cw_restarts": f"{r} C&W{kr}", "autoattack": autoattack}


@dataclass(frozen=True)
class RobustnessRuns:
    """Table 4.2's measurements, and which test images each model kept under each column."""

    table: pd.DataFrame  # one row per model (method): clean and robust accuracy under each column
    examples: dict[str, dict[str, np.ndarray]]  # method -> column -> (N,) bool, the same N images


def robustness_runs(models: Mapping[str, nn.Module], data: TensorData, columns: AttackColumns) -> RobustnessRuns:
    """Table 4.2's columns (:func:`column_attacks`) on every model, on the same test images."""
    rows, examples = [], {}
    for label, model in models.items():
        row, examples[label] = defense_columns(model, data.x, data.y, column_attacks(model, columns))
        rows.append({"method": label, **row})
    return RobustnessRuns(pd.DataFrame(rows, columns=["method", *TABLE_4_2_COLUMNS]), examples)


def robustness_table(models: Mapping[str, nn.Module], data: TensorData, columns: AttackColumns) -> pd.DataFrame:
    """Table 4.2's measurements: one row per model (``method``), clean and robust accuracy under
    each column."""
    return robustness_runs(models, data, columns).table


def table_4_2(every_row: pd.DataFrame, settings: DefenseSettings, profile: str) -> pd.DataFrame:
    """Table 4.2: Table 4.2's rows of ``every_row`` (:func:`robustness_table`) beside the thesis's,
    under the columns' display names; the thesis has no AutoAttack column."""
    table = every_row[every_row["method"].isin(settings.defenses)]
    thesis = thesis_table("table_4_2").assign(autoattack=float("nan"))
    shown = beside_thesis(table, thesis, on=["method"], profile=profile)
    return shown.rename(columns=column_names(settings.columns), level=0).round(DECIMALS)


def claims(runs: RobustnessRuns) -> list[Claim]:
    """The claims of §4.2.4 on our Table 4.2 models ("Natural train", "Adv train", "TRADES", "CAT"),
    each under PGD-k and under AutoAttack: the mean paired difference of per-example robust (or
    clean) correctness over the same test images, with a bootstrap interval."""
    found = []
    for column, attack in (("pgd", "PGD"), ("autoattack", "AutoAttack")):
        def compare(claim: str, better: str, worse: str, margin: float = 0.0, column: str = column,
                    attack: str = attack) -> Claim:
            first, second = runs.examples[better][column], runs.examples[worse][column]
            return judged(claim, paired_effect(first, second),
                          f"{better} {first.mean():.3f} vs {worse} {second.mean():.3f}", margin, attack, "Table 4.2")
        found += [
            compare("adversarial training is far more robust than natural training", "Adv train", NATURAL, FAR_MORE),
            compare("CAT is more robust than adversarial training", "CAT", "Adv train"),
            compare("CAT is more robust than TRADES", "CAT", "TRADES"),
        ]
    cat, adv = runs.examples["CAT"]["clean"], runs.examples["Adv train"]["clean"]
    found.append(judged("CAT's clean accuracy is at least adversarial training's", paired_effect(cat, adv),
                        f"CAT {cat.mean():.3f} vs Adv train {adv.mean():.3f}", item="Table 4.2", strict=False))
    return found


# ------------------------------------------------------------------------------ CAT's eps_i


@dataclass(frozen=True)
class EpsLevels:
    """CAT's per-example perturbation levels eps_i (Algorithm 8) over a training run."""

    mean_per_epoch: list[float]  # mean eps_i after each epoch
    final: np.ndarray  # every training example's eps_i after the last epoch
    eps_max: float  # the cap of eps_i


def cat_eps_levels(settings: DefenseSettings) -> EpsLevels:
    """CAT's eps_i from the training record of Table 4.2's CAT model (train it first)."""
    cat = settings.defenses["CAT"]
    history, state = training_record(settings.robust_train, cat)
    return EpsLevels(list(history["eps_mean"]), state["eps"].cpu().numpy(), cat.eps_max)  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------ masking checks


@dataclass(frozen=True)
class MaskingChecks:
    """The gradient-masking checks of Athalye et al. (2018) on every model."""

    checks: pd.DataFrame  # indexed by (model, check): measured, passed
    curves: dict[str, pd.DataFrame]  # per model: PGD robust accuracy against eps
    n_examples: int  # test images checked


def masking_checks(
    models: Mapping[str, nn.Module], settings: DefenseSettings, device: torch.device | str, seed: int
) -> MaskingChecks:
    """:func:`~advrobust.robustness.gradient_masking_checks` on every model, with PGD-k of
    ``settings.masking_steps`` steps over ``settings.masking_eps`` (the last is the "large" eps)
    on ``settings.n_masking`` test images; every model but the natural one is also attacked by
    transfer from it."""
    data = evaluation_data(settings, "test", settings.n_masking, device, seed=seed + 1)
    checks, curves = [], {}
    for label, model in models.items():
        report = gradient_masking_checks(
            model, data.x, data.y, eps=settings.eps, eps_values=settings.masking_eps[:-1],
            large_eps=settings.masking_eps[-1], steps=settings.masking_steps,
            source_model=None if label == NATURAL else models[NATURAL], seed=seed,
        )
        checks.append(report.checks.assign(model=label))
        curves[label] = report.curve
    table = pd.concat(checks)[["model", "check", "measured", "passed"]].set_index(["model", "check"])
    return MaskingChecks(table, curves, len(data.y))


# ------------------------------------------------------------------------------ Table 4.3


@dataclass(frozen=True)
class WideRows:
    """Table 4.3's models (WRN-34-10 at paper; Table 4.2's models below it) and their measurements."""

    models: dict[str, nn.Module]  # Table 4.2's row name -> model
    table: pd.DataFrame  # their :func:`robustness_table`


def wide_rows(
    settings: DefenseSettings, models: Mapping[str, nn.Module], every_row: pd.DataFrame, test: TensorData,
    device: torch.device | str,
) -> WideRows:
    """Table 4.3's models and their Table 4.2 columns: trained and attacked when the profile has a
    WRN run (``settings.wide_train``), else Table 4.2's own rows of ``every_row``."""
    if settings.wide_train is None:
        table = every_row[every_row["method"].isin(settings.defenses)]
        return WideRows({label: models[label] for label in settings.defenses}, table)
    wide = trained_models(wide_runs(settings), device)
    return WideRows(wide, robustness_table(wide, test, settings.columns))


def table_4_3(wide: WideRows, settings: DefenseSettings, profile: str) -> pd.DataFrame:
    """Table 4.3: the thesis's WRN-34-10 rows and the seven methods it quotes, beside ours under
    the restarted attacks and AutoAttack, each of our rows under the thesis's name for it there."""
    names = {method.name: method.wide_name for method in settings.methods}
    ours = wide.table.set_index("method").rename(index=names)
    quoted = thesis_table("table_4_3").set_index("method")
    shown = pd.concat({
        "thesis (WRN-34-10) or quoted": quoted[["clean", "pgd", "cw", "source"]],
        f"ours ({profile})": ours[["clean", "pgd_restarts", "cw_restarts", "autoattack"]].rename(
            columns=column_names(settings.columns)),
    }, axis=1).loc[quoted.index]
    return shown.round(DECIMALS)


# ------------------------------------------------------------------------------ Table 4.4


def transfer_table(
    source: nn.Module, targets: Mapping[str, nn.Module], data: TensorData, columns: AttackColumns
) -> pd.DataFrame:
    """Table 4.4's measurements: accuracy of each target on PGD-k examples crafted on ``source``
    (the natural model), beside the target's white-box PGD-k accuracy on the same examples."""
    pgd = columns.pgd(columns.pgd_steps)
    x_adv = craft_transfer_examples(pgd.build(source), data.x, data.y)
    rows = []
    for label, model in targets.items():
        white_box = robust_accuracy(model, data.x, data.y, {"pgd": pgd.build(model)}).robust_accuracy
        rows.append({"method": label, "transfer": accuracy_on(model, data.x, x_adv, data.y),
                     "white_box_pgd": white_box})
    return pd.DataFrame(rows)


def table_4_4(
    models: Mapping[str, nn.Module], wide: WideRows, settings: DefenseSettings, device: torch.device | str,
    seed: int, profile: str,
) -> pd.DataFrame:
    """Table 4.4: transfer from the natural model of the same architecture to Adv train, TRADES and
    CAT on ``settings.n_transfer`` test images, column "vgg16" (Table 4.2's network) and, where
    the profile trains it, "wrn"; our white-box PGD accuracy on the same examples beside it."""
    data = evaluation_data(settings, "test", settings.n_transfer, device, seed=seed + 2)
    families = {"vgg16": models} if settings.wide_train is None else {"vgg16": models, "wrn": wide.models}
    transfer = {
        column: transfer_table(family[NATURAL], {label: family[label] for label in DEFENDED}, data,
                               settings.columns).set_index("method")
        for column, family in families.items()
    }
    ours = pd.DataFrame({column: result["transfer"] for column, result in transfer.items()}).reset_index()
    shown = beside_thesis(ours, thesis_table("table_4_4"), on=["method"], profile=profile, values=list(families))
    for column, result in transfer.items():
        shown[(f"white-box PGD ({column})", f"ours ({profile})")] = result["white_box_pgd"]
    return shown.round(DECIMALS)


# ------------------------------------------------------------------------------ Table 4.6


def table_4_5(settings: DefenseSettings, device: torch.device | str, profile: str, seed: int = 0,
              data_root: str | Path | None = None) -> PaperOnlyTable:
    """Table 4.5: clean, PGD-k and C&W-k accuracy (``restarts`` random starts each, as the thesis's
    "(*20)") of CAT's ResNet-50 (:func:`restricted_runs`) on ``settings.n_restricted`` Restricted
    ImageNet validation images, beside the thesis's rows (the others are its quotations of SSK19).
    Below paper, or without ImageNet, the thesis's table as printed, with the reason."""
    thesis = thesis_table("table_4_5")
    runs = restricted_runs(settings)
    data, status = evaluation_images(bool(runs), lambda: restricted_val_images(settings.n_restricted, seed, device,
                                                                               data_root), NOT_RUN_HERE)
    if data is None:
        return PaperOnlyTable(status, thesis.set_index("method"))
    model = runs[RESTRICTED_ROW].trained(device)
    columns = settings.columns
    attacks = {"pgd": columns.pgd(columns.pgd_steps, columns.restarts).build(model),
               "cw": columns.cw(columns.pgd_steps, columns.restarts).build(model)}
    row, _ = defense_columns(model, data.x, data.y, attacks)
    ours = pd.DataFrame([{"method": RESTRICTED_ROW, **row}])
    return PaperOnlyTable("ran", beside_thesis(ours, thesis, on=["method"], profile=profile,
                                                values=["clean", "pgd", "cw"]).round(DECIMALS))


def table_4_6(every_row: pd.DataFrame, settings: DefenseSettings, profile: str) -> pd.DataFrame:
    """Table 4.6: clean and PGD-k accuracy of Adv train, the ablations and CAT beside the thesis's,
    with AutoAttack beside PGD."""
    names = column_names(settings.columns)
    ablation = every_row[every_row["method"].isin(["Adv train", *settings.ablations, "CAT"])]
    shown = beside_thesis(ablation[["method", "clean", "pgd"]], thesis_table("table_4_6"), on=["method"],
                          profile=profile).rename(columns=names, level=0)
    shown[(names["autoattack"], f"ours ({profile})")] = ablation.set_index("method")["autoattack"]
    return shown.round(DECIMALS)


# ------------------------------------------------------------------------------ Figure 4.2


def loss_landscapes(
    models: Mapping[str, nn.Module], settings: DefenseSettings, device: torch.device | str, seed: int
) -> dict[str, LossLandscape]:
    """Figure 4.2: the loss of each of Table 4.2's models around ``settings.landscape_examples``
    test images, along the gradient sign and a Rademacher direction (Engstrom et al. 2018)."""
    data = evaluation_data(settings, "test", settings.landscape_examples, device, seed=seed + 3)
    return {
        label: loss_landscape(models[label], data.x, data.y, span=settings.landscape_span,
                              points=settings.landscape_points, seed=seed)
        for label in settings.defenses
    }
