"""The experiments of Chapter 6 as functions of the profile's settings: BatchNorm as adversarial
masking (§6.2: Tables 6.1-6.2, Figures 6.1-6.2) and AdvProp / RobMask (§6.3-6.4: Tables 6.3-6.6).

§6.2's four models are the standard and the adversarially trained model (at quick, the shared runs
of Chapters 4 and 5) and each one's BN-only fine-tuning (``trainable="norm"``) started from it
with :class:`~advrobust.training.StartFrom`. AdvProp and RobMask models have two normalisations;
:class:`Branch` fixes one of them (AdvProp's main or auxiliary BN, RobMask's u_0 or u_1) for every
forward, attacks included, so Table 6.5 evaluates and labels both. Every table comes back beside
the thesis's numbers (``data/thesis/table_6_*.csv``); the claims come back as
:class:`~.claims.Claim` s with a bootstrap interval: over the test images (paired, every model
sees the same ones), over the seeds (Table 6.3) or over the first BN's channels (Figure 6.1).
Table 6.4 trains its ImageNet ResNet-18s at paper (streamed from the user's folders); below paper,
or without ImageNet, it is the thesis's table with the reason.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

from ..attacks.spec import AttackSpec
from ..data import TensorData, load_dataset
from ..data.imagenet import imagenet_val_images
from ..data.loading import load_if_present
from ..defenses.base import class_count
from ..jobs import Unit
from ..jobs.units import image_trainings
from ..norms import interpolate_norms, norm_mode
from ..profiles.masking import (
    COLUMNS,
    DRAMATIC,
    EPS,
    NORM_LAYERS,
    MaskingSettings,
    masking,
)
from ..robustness.accuracy import clean_accuracy
from ..tables import beside_thesis, thesis_table
from ..training import ModelRun, trained_models
from .bootstrap import bootstrap_effect
from .ch5_sprout import NOT_RUN_HERE, WhiteBox
from .claims import Claim, Part, joint_claim, judged, paired_effect, seed_effect
from .paper_only import PaperOnlyTable, evaluation_images

DECIMALS = 4
GAMMA = "rescaling γ"  # Figure 6.1's claim: this quantity of the first BN changes most
AT_ROW = "Adv. training | BN"  # Table 6.5's baseline in robustness_box
STANDARD, ADV = "Standard training", "Adv. training"
STANDARD_FT, ADV_FT = f"{STANDARD} + adv. BN fine-tuning", f"{ADV} + std. BN fine-tuning"
# Table 6.2's blocks: (name, first model (p = 1), second model (p = 0)), the thesis's order.
BLOCKS = ((f"{ADV} / + std. BN fine-tuning", ADV, ADV_FT), (f"{STANDARD} / + adv. BN fine-tuning", STANDARD, STANDARD_FT))
# Table 6.5's rows: (thesis's method, branch shown, branch routing (None: a plain BN model)).
BRANCHES = (("Adv. training", "BN", None), ("AdvProp", "main BN", {"branch": "main"}),
            ("AdvProp", "auxiliary BN", {"branch": "aux"}), ("RobMask", "u_0 (p = 0)", {"strength": 0.0}),
            ("RobMask", "u_1 (p = 1)", {"strength": 1.0}))


class Branch(nn.Module):
    """``model`` with its dual BNs routed to ``branch`` or its RobMask layers at ``strength`` for
    every forward pass (attacks included): one of the two networks an AdvProp or RobMask model holds."""

    def __init__(self, model: nn.Module, branch: str | None = None, strength: float | None = None) -> None:
        super().__init__()
        self.model, self.branch, self.strength = model, branch, strength
        self.num_classes = class_count(model)

    def forward(self, x: Tensor) -> Tensor:
        with norm_mode(self.model, branch=self.branch, strength=self.strength):
            out: Tensor = self.model(x)
        return out


# ------------------------------------------------------------------------------ data and §6.2's models


def test_images(settings: MaskingSettings, n: int, device: torch.device | str, seed: int,
                dataset: str = "cifar10") -> TensorData:
    """``n`` test images of ``dataset``, a seeded choice."""
    data = load_dataset(dataset, "test", device=device)
    return data.subset(n, seed) if n < len(data.y) else data


def masking_runs(settings: MaskingSettings) -> dict[str, ModelRun]:
    """Table 6.1's four runs: the standard and the adversarially trained one (at quick, the shared
    runs of Chapters 4 and 5) and each one's BN-only fine-tuning with the other objective."""
    return {
        STANDARD: ModelRun(settings.natural),
        STANDARD_FT: ModelRun(settings.finetune, settings.at_defense, settings.natural_start()),
        ADV: ModelRun(settings.robust, settings.at_defense),
        ADV_FT: ModelRun(settings.finetune, start_from=settings.robust_start()),
    }


def masking_models(settings: MaskingSettings, device: torch.device | str) -> dict[str, nn.Module]:
    """The models of :func:`masking_runs`."""
    return trained_models(masking_runs(settings), device)


def accuracy_pair(box: WhiteBox, name: str, settings: MaskingSettings) -> dict[str, float]:
    """Clean accuracy and PGD-k accuracy at ε = 8/255 of model ``name``."""
    return {"clean": box.clean(name), "robust": box.robust(name, settings.pgd(EPS))}


def accuracy_examples(box: WhiteBox, name: str, settings: MaskingSettings) -> dict[str, np.ndarray]:
    """Which test images model ``name`` classifies correctly ("clean") and keeps under PGD-k at
    ε = 8/255 ("robust"): the per-image outcomes behind :func:`accuracy_pair`."""
    return {"clean": box.correct(name), "robust": box.robust_examples(name, settings.pgd(EPS))}


def table_6_1(box: WhiteBox, settings: MaskingSettings, profile: str) -> pd.DataFrame:
    """Table 6.1: clean and PGD-k accuracy (ε = 8/255) of the four models, beside the thesis."""
    ours = pd.DataFrame([{"method": name, **accuracy_pair(box, name, settings)}
                         for name in (STANDARD, STANDARD_FT, ADV, ADV_FT)])
    return beside_thesis(ours, thesis_table("table_6_1"), on=["method"], profile=profile).round(DECIMALS)


def first_norm(model: nn.Module) -> _BatchNorm:
    """The model's first BatchNorm (after its first convolution)."""
    return next(m for m in model.modules() if isinstance(m, _BatchNorm))


def first_norm_statistics(models: Mapping[str, nn.Module]) -> pd.DataFrame:
    """Figure 6.1: running mean, running variance, γ and β of each model's first BN, per channel
    (long format: model, parameter, channel, value)."""
    rows = []
    for name, model in models.items():
        norm = first_norm(model)
        values = {"running mean μ": norm.running_mean, "running variance σ²": norm.running_var,
                  "rescaling γ": norm.weight, "rescaling β": norm.bias}
        for parameter, tensor in values.items():
            assert tensor is not None
            rows += [{"model": name, "parameter": parameter, "channel": c, "value": float(v)}
                     for c, v in enumerate(tensor.detach().cpu())]
    return pd.DataFrame(rows)


def relative_changes(statistics: pd.DataFrame, first: str, second: str) -> pd.Series:
    """Per parameter of :func:`first_norm_statistics`: ‖second − first‖₂ / ‖first‖₂ over channels.
    Scale-dependent: a parameter that starts near 0 (β) shows a large relative change for a small move."""
    wide = statistics.pivot_table(index=["parameter", "channel"], columns="model", values="value")
    change = {parameter: float(np.linalg.norm(frame[second] - frame[first])
                               / max(float(np.linalg.norm(frame[first])), 1e-12))
              for parameter, frame in wide.groupby(level="parameter")}
    return pd.Series(change, name="relative change").sort_values(ascending=False)


def output_effects(first: _BatchNorm, second: _BatchNorm) -> pd.Series:
    """Per quantity of a BN layer (μ, σ², γ, β of Eq. (6.1)): the RMS over channels of the change
    in the layer's output that replacing ``first``'s value by ``second``'s alone causes, on inputs
    with ``first``'s statistics (so the normalised input x̂ has mean 0 and RMS 1 per channel).

    One unit for all four: γ moves the output by |Δγ|·x̂ (RMS |Δγ|), β by |Δβ|, μ by
    |γ Δμ| / √(σ² + ϵ), σ² by |γ| · |√((σ² + ϵ)/(σ′² + ϵ)) − 1| (x̂ rescaled). This is the measure
    Figure 6.1's "γ changes most" is judged by; :func:`relative_changes` is the scale-dependent one.
    """
    effects = {name: float(np.sqrt(np.mean(change**2))) for name, change in output_changes(first, second).items()}
    return pd.Series(effects, name="output change (RMS)").sort_values(ascending=False)


def output_changes(first: _BatchNorm, second: _BatchNorm) -> dict[str, np.ndarray]:
    """Per quantity of :func:`output_effects`, the change in the BN output it causes, per channel."""
    assert first.running_mean is not None and first.running_var is not None
    assert second.running_mean is not None and second.running_var is not None
    std, std_after = (first.running_var + first.eps).sqrt(), (second.running_var + second.eps).sqrt()
    gamma = first.weight.detach()
    per_channel = {
        "running mean μ": gamma * (second.running_mean - first.running_mean) / std,
        "running variance σ²": gamma * (std / std_after - 1),
        "rescaling γ": second.weight.detach() - gamma,
        "rescaling β": (second.bias - first.bias).detach(),
    }
    return {name: change.detach().double().cpu().numpy() for name, change in per_channel.items()}


def first_feature_maps(model: nn.Module, x: Tensor) -> Tensor:
    """Figure 6.2: the feature maps after the first BN and its ReLU for the images ``x``,
    (N, C, H, W) on the CPU."""
    captured: list[Tensor] = []
    handle = first_norm(model).register_forward_hook(lambda _m, _i, out: captured.append(F.relu(out).detach()))
    try:
        with torch.no_grad():
            model(x)
    finally:
        handle.remove()
    return captured[0].cpu()


def channel_changes(before: Tensor, after: Tensor, dramatic: float = DRAMATIC) -> pd.DataFrame:
    """Per channel of two (C, H, W) feature maps of one image: the relative change
    ‖after − before‖₂ / max(‖before‖₂, ‖after‖₂), whether it exceeds ``dramatic`` ("changed
    dramatically"), and how: "blocked" (the map falls below 10% of its norm), "magnified" (grows
    above 2x), else "reshaped"."""
    b, a = before.flatten(1), after.flatten(1)
    nb, na = b.norm(dim=1), a.norm(dim=1)
    relative = (a - b).norm(dim=1) / torch.maximum(nb, na).clamp_min(1e-12)
    kind = np.where(na < 0.1 * nb, "blocked", np.where(na > 2 * nb, "magnified", "reshaped"))
    return pd.DataFrame({"channel": np.arange(len(b)), "norm_before": nb.numpy(), "norm_after": na.numpy(),
                         "relative_change": relative.numpy(), "dramatic": (relative > dramatic).numpy(),
                         "kind": kind})


@dataclass(frozen=True)
class Interpolation:
    """Table 6.2's measurements, and which test images each interpolated model kept."""

    table: pd.DataFrame  # block, p, clean, robust
    examples: dict[tuple[str, float], dict[str, np.ndarray]]  # (block, p) -> "clean"/"robust" -> (N,) bool


def interpolation(models: Mapping[str, nn.Module], data: TensorData, settings: MaskingSettings) -> Interpolation:
    """Table 6.2's measurements: per block and p, clean and PGD-k accuracy of the model whose every
    BN has γ̂ = pγ + (1 − p)γ′, β̂ and the running statistics likewise
    (:func:`~advrobust.norms.interpolate_norms`; the first model's other weights), so p = 1 and
    p = 0 are Table 6.1's two models."""
    rows, examples = [], {}
    for block, first, second in BLOCKS:
        for p in settings.p_grid:
            box = WhiteBox({"mixed": interpolate_norms(models[first], models[second], p).eval()}, data)
            rows.append({"block": block, "p": p, **accuracy_pair(box, "mixed", settings)})
            examples[(block, p)] = accuracy_examples(box, "mixed", settings)
    return Interpolation(pd.DataFrame(rows), examples)


def table_6_2(ours: pd.DataFrame, profile: str) -> pd.DataFrame:
    """Table 6.2: :func:`interpolation` beside the thesis (p down the columns, as printed)."""
    shown = beside_thesis(ours, thesis_table("table_6_2"), on=["block", "p"], profile=profile)
    return shown.stack(level=[0, 1], future_stack=True).unstack("p").sort_index(axis=1, ascending=False).round(DECIMALS)


# ------------------------------------------------------------------------------ §6.2's claims


def masking_claims(box: WhiteBox, interpolated: Interpolation, settings: MaskingSettings) -> list[Claim]:
    """§6.2's claims on the four models of ``box`` (Table 6.1), the interpolations (Table 6.2) and
    the first BN of the AT model before and after standard fine-tuning (Figure 6.1): the first two
    paired over the test images, the last over the BN's channels. "Monotone" allows one test image
    against the trend per step."""
    examples = {name: accuracy_examples(box, name, settings) for name in (STANDARD, STANDARD_FT, ADV, ADV_FT)}
    first, second = first_norm(box.models[ADV]), first_norm(box.models[ADV_FT])
    statistics = first_norm_statistics({ADV: box.models[ADV], ADV_FT: box.models[ADV_FT]})
    return [*finetune_claims(examples), *monotone_claims(interpolated, tolerance=1 / len(box.data.y)),
            output_change_claim(first, second), relative_change_claim(statistics, ADV, ADV_FT)]


def finetune_claims(examples: Mapping[str, Mapping[str, np.ndarray]]) -> list[Claim]:
    """Table 6.1's trade-offs, paired over the test images: adversarial BN fine-tuning raises the
    standard model's robust accuracy and lowers its clean accuracy; standard BN fine-tuning does
    the reverse to the AT model."""
    def trade(claim: str, before: str, after: str, gains: str, loses: str) -> Claim:
        b, a = examples[before], examples[after]
        return joint_claim(claim, [Part(f"{gains}: after − before", paired_effect(a[gains], b[gains])),
                                   Part(f"{loses}: before − after", paired_effect(b[loses], a[loses]))],
                           f"clean {b['clean'].mean():.3f} → {a['clean'].mean():.3f}, "
                           f"robust {b['robust'].mean():.3f} → {a['robust'].mean():.3f}", attack="PGD",
                           item="Table 6.1")
    return [trade("adversarial BN-only fine-tuning of the standard model trades clean for robust accuracy",
                  STANDARD, STANDARD_FT, "robust", "clean"),
            trade("standard BN-only fine-tuning of the AT model trades robust for clean accuracy",
                  ADV, ADV_FT, "clean", "robust")]


def monotone_claims(interpolated: Interpolation, tolerance: float = 0.0) -> list[Claim]:
    """Table 6.2's claim per block and column: accuracy moves one way as p goes from 1 to 0 (the
    way of its end points), every step paired over the test images and allowed ``tolerance``
    against the trend."""
    claims = []
    for block in dict.fromkeys(b for b, _ in interpolated.examples):
        grid = sorted((p for b, p in interpolated.examples if b == block), reverse=True)  # p = 1 → 0
        for column in ("clean", "robust"):
            values = [interpolated.examples[(block, p)][column] for p in grid]
            rising = values[-1].mean() >= values[0].mean()
            parts = [Part(f"p {p:g} → {q:g}", paired_effect(after, before) if rising else paired_effect(before, after),
                          margin=-tolerance)
                     for p, q, before, after in zip(grid, grid[1:], values, values[1:])]
            claims.append(joint_claim(f"Table 6.2 ({block}): {column} accuracy is monotone in p", parts,
                                      " → ".join(f"{v.mean():.3f}" for v in values)
                                      + f" ({'rising' if rising else 'falling'} as p goes to 0)",
                                      attack="PGD" if column == "robust" else None, item="Table 6.2"))
    return claims


def output_change_claim(first: _BatchNorm, second: _BatchNorm) -> Claim:
    """Figure 6.1's claim by :func:`output_effects`: γ's RMS output change exceeds that of μ, σ² and
    β, resampled over the channels."""
    changes = output_changes(first, second)

    def lead(rows: np.ndarray) -> np.ndarray:
        rms = {name: np.sqrt(np.mean(change[rows] ** 2, axis=1)) for name, change in changes.items()}
        return np.asarray(rms[GAMMA] - np.max([v for k, v in rms.items() if k != GAMMA], axis=0))

    effects = output_effects(first, second)
    return judged("Figure 6.1: γ changes most among μ, σ², γ, β of the first BN (change it causes in the BN output)",
                  bootstrap_effect(lead, len(changes[GAMMA]), over="channels"),
                  ", ".join(f"{name} {value:.3f}" for name, value in effects.items()), item="Figure 6.1")


def relative_change_claim(statistics: pd.DataFrame, first: str, second: str) -> Claim:
    """Figure 6.1's claim by :func:`relative_changes` (scale-dependent): γ's relative change exceeds
    the others', resampled over the channels."""
    wide = statistics.pivot_table(index=["parameter", "channel"], columns="model", values="value")
    values = {parameter: (frame[first].to_numpy(), frame[second].to_numpy())
              for parameter, frame in wide.groupby(level="parameter")}

    def lead(rows: np.ndarray) -> np.ndarray:
        relative = {name: np.linalg.norm(b[rows] - a[rows], axis=1) / np.maximum(np.linalg.norm(a[rows], axis=1), 1e-12)
                    for name, (a, b) in values.items()}
        return np.asarray(relative[GAMMA] - np.max([v for k, v in relative.items() if k != GAMMA], axis=0))

    changes = relative_changes(statistics, first, second)
    return judged("Figure 6.1: γ changes most among μ, σ², γ, β of the first BN (relative L2 change, scale-dependent)",
                  bootstrap_effect(lead, len(values[GAMMA][0]), over="channels"),
                  ", ".join(f"{name} {value:.3f}" for name, value in changes.items()), item="Figure 6.1")


# ------------------------------------------------------------------------------ Table 6.3


def dataset_present(dataset: str) -> bool:
    """Whether ``dataset``'s test files are on disk (CIFAR-100 is not shipped)."""
    return load_if_present(dataset, "test") is not None


def generalization_run(settings: MaskingSettings, column: str, model: str, dataset: str, epochs: int,
                       seed: int) -> ModelRun:
    """One Table 6.3 cell's run: natural training ("BN"), AdvProp or RobMask."""
    return ModelRun(settings.run(column, model, dataset, epochs, seed), settings.defense(column))


def generalization_model(settings: MaskingSettings, device: torch.device | str, column: str, model: str,
                         dataset: str, epochs: int, seed: int) -> nn.Module:
    """The model of :func:`generalization_run`."""
    return generalization_run(settings, column, model, dataset, epochs, seed).trained(device)


def generalization_cells(settings: MaskingSettings, dataset: str) -> list[tuple[dict[str, object], ModelRun]]:
    """Table 6.3's runs on ``dataset``: (architecture, epochs, method, seed) and the run, per cell
    and seed."""
    return [({"architecture": arch, "dataset": dataset, "epochs": epochs, "method": column, "seed": seed},
             generalization_run(settings, column, model_name, dataset, epochs, seed))
            for arch, model_name in settings.architectures for epochs in settings.epochs
            for column in COLUMNS for seed in settings.seeds]


def generalization_runs(settings: MaskingSettings, device: torch.device | str, n: int,
                        data_seed: int) -> pd.DataFrame:
    """Table 6.3's measurements: clean accuracy (main BN / u_0) of every (architecture, dataset,
    epochs, column, seed) run; datasets not on disk give one row with accuracy NaN and
    ``note = "not run (data absent)"``."""
    rows = []
    for dataset in settings.datasets:
        if not dataset_present(dataset):
            rows += [{"architecture": arch, "dataset": dataset, "epochs": e, "method": column, "seed": -1,
                      "accuracy": np.nan, "note": "not run (data absent)"}
                     for arch, _ in settings.architectures for e in settings.epochs for column in COLUMNS]
            continue
        data = test_images(settings, n, device, data_seed, dataset)
        for cell, run in generalization_cells(settings, dataset):
            rows.append({**cell, "accuracy": WhiteBox({"m": run.trained(device)}, data).clean("m"), "note": ""})
    return pd.DataFrame(rows)


def seed_summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Per cell of :func:`generalization_runs`: mean accuracy over seeds, spread (max − min) and
    the number of seeds."""
    keys = ["architecture", "dataset", "epochs", "method"]
    grouped = runs.groupby(keys, sort=False)["accuracy"]
    return pd.DataFrame({"accuracy": grouped.mean(), "spread": grouped.max() - grouped.min(),
                         "seeds": grouped.count()}).reset_index()


def compare(runs: pd.DataFrame, better: str, worse: str, architecture: str, dataset: str, epochs: int) -> Claim:
    """Is ``better``'s accuracy above ``worse``'s in one Table 6.3 cell? The mean difference over
    the seeds both were trained with (:func:`generalization_runs`, one row per seed), with a
    bootstrap interval over those seeds; one seed gives no interval ("inconclusive")."""
    cell = runs[(runs["architecture"] == architecture) & (runs["dataset"] == dataset) & (runs["epochs"] == epochs)]
    by_seed = cell.pivot_table(index="seed", columns="method", values="accuracy")
    label = f"{better} above {worse} ({architecture}, {dataset}, {epochs} epochs)"
    if by_seed.empty or not {better, worse} <= set(by_seed.columns):
        return Claim(label, "inconclusive", "not run (data absent)", item="Table 6.3")
    pairs = by_seed[[better, worse]].dropna()
    effect = seed_effect(pairs[better].to_numpy(), pairs[worse].to_numpy())
    return judged(label, effect, f"{pairs[better].mean():.3f} vs {pairs[worse].mean():.3f} over seeds "
                  f"{list(pairs.index)}, difference {effect}", item="Table 6.3")


def table_6_3(summary: pd.DataFrame, profile: str) -> pd.DataFrame:
    """Table 6.3: our mean clean accuracy (± spread) beside the thesis's, one row per
    (architecture, dataset, epochs), the three columns across."""
    keys = ["architecture", "dataset", "epochs", "method"]
    ours = f"ours ({profile})"
    shown = beside_thesis(summary, thesis_table("table_6_3"), on=keys, profile=profile, values=["accuracy"])["accuracy"]
    shown[f"spread, {ours}"] = summary.set_index(keys)["spread"]
    shown = shown.unstack("method")
    order = [(source, method) for source in ("thesis", ours, f"spread, {ours}") for method in COLUMNS]
    return shown.reindex(columns=pd.MultiIndex.from_tuples(order)).round(DECIMALS)


def generalization_claims(runs: pd.DataFrame, settings: MaskingSettings) -> list[Claim]:
    """Table 6.3's claims for every cell of :func:`generalization_runs`: RobMask above BN and
    AdvProp, AdvProp above BN, over the seeds."""
    claims = []
    for arch, _ in settings.architectures:
        for dataset in settings.datasets:
            for epochs in settings.epochs:
                for better, worse in (("RobMask", "BN"), ("RobMask", "AdvProp"), ("AdvProp", "BN")):
                    claims.append(compare(runs, better, worse, arch, dataset, epochs))
    return claims


# ------------------------------------------------------------------------------ Table 6.4


def imagenet_runs(settings: MaskingSettings) -> dict[str, ModelRun]:
    """Table 6.4's runs: the ImageNet ResNet-18 with BN, AdvProp and RobMask, column -> run (none
    below paper)."""
    if settings.imagenet_train is None:
        return {}
    return {column: ModelRun(replace(settings.imagenet_train, norm_layer=NORM_LAYERS[column]), settings.defense(column))
            for column in COLUMNS}


def table_6_4(settings: MaskingSettings, device: torch.device | str, profile: str, seed: int = 0,
              data_root: str | Path | None = None) -> PaperOnlyTable:
    """Table 6.4: clean accuracy (main BN / u_0) of :func:`imagenet_runs` on ``settings.n_imagenet``
    ImageNet validation images, beside the thesis's row. Below paper, or without ImageNet, the
    thesis's table as printed, with the reason."""
    thesis = thesis_table("table_6_4")
    runs = imagenet_runs(settings)
    data, status = evaluation_images(bool(runs), lambda: imagenet_val_images(settings.n_imagenet, seed, device,
                                                                             data_root), NOT_RUN_HERE)
    if data is None:
        return PaperOnlyTable(status, thesis.set_index("architecture"))
    accuracy = {column: clean_accuracy(model, data.x, data.y) for column, model in trained_models(runs, device).items()}
    ours = pd.DataFrame([{"architecture": "ResNet-18", "dataset": "imagenet", "epochs": runs["BN"].config.epochs,
                          **accuracy}])
    return PaperOnlyTable("ran", beside_thesis(ours, thesis, on=["architecture", "dataset", "epochs"], profile=profile,
                                              values=list(COLUMNS)).round(DECIMALS))


# ------------------------------------------------------------------------------ Table 6.5


def robustness_runs(settings: MaskingSettings) -> dict[str, ModelRun]:
    """Table 6.5's runs: the AT run of Table 6.3's schedule
    (:meth:`~advrobust.profiles.masking.MaskingSettings.baseline_at_run`; at paper §6.2's AT model),
    and the first architecture's seed-0 AdvProp and RobMask runs of Table 6.3 (longest schedule)."""
    arch = settings.architectures[0][1]
    epochs, seed = settings.epochs[-1], settings.seeds[0]
    return {"Adv. training": ModelRun(settings.baseline_at_run(), settings.baseline_at),
            **{column: generalization_run(settings, column, arch, "cifar10", epochs, seed)
               for column in ("AdvProp", "RobMask")}}


def robustness_models(settings: MaskingSettings, device: torch.device | str) -> dict[tuple[str, str], nn.Module]:
    """Table 6.5's rows: (method, branch) -> model of :func:`robustness_runs` (a branch of it
    where the row names one)."""
    trained = trained_models(robustness_runs(settings), device)
    return {(method, branch): trained[method] if routing is None else Branch(trained[method], **routing).eval()
            for method, branch, routing in BRANCHES}


def robustness_box(models: Mapping[tuple[str, str], nn.Module], data: TensorData) -> WhiteBox:
    """Table 6.5's models on ``data``, named ``"method | branch"``; Table 6.5 and its claims share
    its runs."""
    return WhiteBox({f"{m} | {b}": model for (m, b), model in models.items()}, data)


def table_6_5(box: WhiteBox, settings: MaskingSettings, profile: str) -> pd.DataFrame:
    """Table 6.5: PGD-k (step ε/5, random start) and AutoAttack accuracy at each ε of
    ``settings.eps_levels`` (ε = 0: clean accuracy) for every (method, branch) of
    :func:`robustness_box`, beside the thesis's rows (source "thesis"). Index (method, attack,
    source), columns ε in units of 1/255; NaN where the profile runs no AutoAttack
    (``settings.autoattack_levels``)."""
    rows = []
    for name in box.models:
        method, branch = name.split(" | ", 1)
        for eps in settings.eps_levels:
            label = round(eps * 255)
            clean = box.clean(name)
            pgd = clean if eps == 0 else box.robust(name, settings.pgd(eps))
            autoattack = (clean if eps == 0 else box.robust(name, settings.autoattack.replace(eps=eps))
                          if settings.runs_autoattack(eps) else math.nan)
            source = f"ours ({profile}): {branch}"
            rows += [{"method": method, "attack": "PGD", "source": source, "eps_255": label, "accuracy": pgd},
                     {"method": method, "attack": "AutoAttack", "source": source, "eps_255": label,
                      "accuracy": autoattack}]
    thesis = thesis_table("table_6_5").assign(source="thesis")
    both = pd.concat([thesis, pd.DataFrame(rows)], ignore_index=True)
    shown = both.pivot_table(index=["method", "attack", "source"], columns="eps_255", values="accuracy", sort=False)
    return shown.round(DECIMALS)


def robustness_claims(box: WhiteBox, settings: MaskingSettings) -> list[Claim]:
    """Table 6.5's claims on the runs of :func:`robustness_box` (its table's runs, reused): see
    :func:`rank_claims`; at ε_max = 8/255 under PGD-k and, where the profile runs it there,
    AutoAttack."""
    eps = max(settings.eps_levels)
    attacks: dict[str, AttackSpec] = {"PGD": settings.pgd(eps)}
    if settings.runs_autoattack(eps):
        attacks["AutoAttack"] = settings.autoattack.replace(eps=eps)
    examples = {name: {"clean": box.correct(name),
                       **{attack: box.robust_examples(name, spec) for attack, spec in attacks.items()}}
                for name in box.models}
    return rank_claims(examples)


def rank_claims(examples: Mapping[str, Mapping[str, np.ndarray]]) -> list[Claim]:
    """Table 6.5's claims, paired over the test images (``examples[row]["clean"]`` and one array per
    attack): the clean branch of AdvProp and RobMask (main BN, u_0) above AT in clean accuracy; AT
    more robust than every other row at ε_max, under each attack."""
    at = examples[AT_ROW]
    claims = []
    for name in ("AdvProp | main BN", "RobMask | u_0 (p = 0)"):
        method, branch = name.split(" | ")
        ours = examples[name]["clean"]
        claims.append(judged(f"{method} ({branch}) has higher clean accuracy than AT", paired_effect(ours, at["clean"]),
                             f"{ours.mean():.3f} vs {at['clean'].mean():.3f}", item="Table 6.5"))
    for attack in (a for a in ("PGD", "AutoAttack") if a in at):
        others = {name: row[attack] for name, row in examples.items() if name != AT_ROW}
        parts = [Part(f"AT − {_row_label(name)}", paired_effect(at[attack], robust))
                 for name, robust in others.items()]
        claims.append(joint_claim("AT is the most robust at ε_max = 8/255", parts,
                                  f"AT {at[attack].mean():.3f}; " + ", ".join(
                                      f"{_row_label(name)} {robust.mean():.3f}" for name, robust in others.items()),
                                  attack=attack, item="Table 6.5"))
    return claims


def _row_label(name: str) -> str:
    """"RobMask | u_1 (p = 1)" -> "RobMask (u_1 (p = 1))"."""
    method, branch = name.split(" | ", 1)
    return f"{method} ({branch})"


# ------------------------------------------------------------------------------ Table 6.6


def table_6_6_runs(settings: MaskingSettings) -> dict[str, ModelRun]:
    """Table 6.6's runs that the profile trains, on the first architecture's longest schedule
    (seed 0): AdvProp and RobMask (k = 2) are Table 6.3's seed-0 runs, the other variants their own."""
    arch = settings.architectures[0][1]
    epochs, seed = settings.epochs[-1], settings.seeds[0]
    base = {"AdvProp": "AdvProp", "RobMask (k = 2)": "RobMask"}
    runs = {label: generalization_run(settings, column, arch, "cifar10", epochs, seed) for label, column in base.items()}
    config = settings.run("BN", arch, "cifar10", epochs, seed)
    runs.update({label: ModelRun(replace(config, norm_layer=variant.norm_layer), variant.defense)
                 for label, variant in settings.variants.items() if label not in base})
    return runs


def table_6_6(settings: MaskingSettings, device: torch.device | str, n: int, data_seed: int,
              profile: str) -> pd.DataFrame:
    """Table 6.6: clean accuracy on ``n`` CIFAR-10 test images of :func:`table_6_6_runs`. Rows the
    profile does not train are NaN beside the thesis."""
    data = test_images(settings, n, device, data_seed)
    rows = [{"method": label, "clean": WhiteBox({"m": run.trained(device)}, data).clean("m")}
            for label, run in table_6_6_runs(settings).items()]
    return beside_thesis(pd.DataFrame(rows), thesis_table("table_6_6"), on=["method"], profile=profile).round(DECIMALS)


# ------------------------------------------------------------------------------ jobs


def units(profile: str, seed: int = 0) -> list[Unit]:
    """The trainings of Chapter 6's pages at ``profile``: Table 6.1's four models
    (``ch06_adversarial_masking``), Table 6.3's cells on every dataset (CIFAR-100's fail with
    the loader's message where it is absent), at paper Table 6.4's ImageNet runs (likewise without
    ImageNet), Table 6.5's AT run and Table 6.6's variants (``ch06_robmask``). The attacks are
    white-box evaluations in the pages; ``seed`` does not enter."""
    settings = masking(profile)
    generalization = [run for dataset in settings.datasets for _, run in generalization_cells(settings, dataset)]
    return [*image_trainings(masking_runs(settings).values(), "ch06_adversarial_masking"),
            *image_trainings([*generalization, *imagenet_runs(settings).values(), *robustness_runs(settings).values(),
                              *table_6_6_runs(settings).values()], "ch06_robmask")]
