"""The experiments of Chapter 5 (§5.3.4) as functions of the profile's settings.

The four models of the chapter's comparisons are Chapter 4's Natural, Adv Train and TRADES runs
(the same checkpoints) and SPROUT started from the natural model. Every white-box number is
measured once by a :class:`WhiteBox` evaluation on the profile's test images (the thesis's
Figures 5.2, 5.6a and 5.9b and Tables 5.6 and 5.7 share their PGD runs) and every robustness
number of SPROUT has an AutoAttack twin (:func:`autoattack_table`), which the thesis does not run.
Tables 5.3 and 5.8 train natural and SPROUT ResNets on ImageNet at paper (streamed from the user's
folders) and attack them towards random target labels (:func:`imagenet_table`); below paper, or
without ImageNet, they are the thesis's tables with the reason.
PGD-k is the profile's white-box attack, ``settings.pgd(eps)``: ``settings.steps`` steps (the
thesis's PGD-20) of the official code's size 0.007 from a random start.
Tables come back beside the thesis's numbers (:func:`advrobust.tables.beside_thesis`).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from ..attacks.spec import AttackSpec
from ..data import TensorData, load_dataset
from ..data.imagenet import imagenet_val_images
from ..defenses import Defense
from ..defenses.base import class_count
from ..defenses.sprout import SPROUT
from ..jobs import Unit
from ..jobs.units import image_trainings
from ..profiles.sprout import (
    BASELINES,
    EPS,
    IMAGENET_EPS,
    ImageNetNetwork,
    Network,
    SproutSettings,
    sprout,
)
from ..robustness import (
    InvarianceTransforms,
    LossLandscape,
    accuracy_on,
    budget_curve,
    craft_transfer_examples,
    gradient_masking_checks,
    gradient_similarity_table,
    invariance_accuracy,
    loss_landscape,
    robust_accuracy,
)
from ..robustness.accuracy import clean_accuracy, predict
from ..tables import beside_thesis, thesis_table
from ..training import ModelRun, StartFrom, TrainConfig, trained_models, training_record
from .attack_runs import random_targets
from .ch5_scores import radar_scores
from .claims import Claim, claim_lines, joint_verdict, judged, paired_effect
from .paper_only import PaperOnlyTable, evaluation_images

METHODS = (*BASELINES, "SPROUT")  # the rows of Figures 5.1-5.3 and Tables 5.6, 5.7
DEFENDED = METHODS[1:]  # Table 5.2's rows: the models attacked by transfer from the natural one
CW_BUDGET = 0.5  # the L2 budget of Table 5.6's "C&W Acc" (RobustBench's CIFAR-10 L2 budget)
SIMILARITY_MODELS = {"Dirichlet LS": "Dirichlet", "Mixup": "Mixup", "GA": "GA"}  # Table 5.9 -> ABLATIONS
DECIMALS = 4
NOT_RUN_HERE = "not run at this profile: the ImageNet networks are trained at paper only"
IMAGENET_ATTACK_BATCH = 64  # images per PGD batch on ImageNet: a ResNet-152's gradients at 224 pixels


# ------------------------------------------------------------------------------ models and data


def sprout_run(
    settings: SproutSettings, defense: Defense | None = None, start: StartFrom | None | str = "Natural",
    config: TrainConfig | None = None, network: Network | None = None,
) -> ModelRun:
    """The run that trains ``defense`` (default: the chapter's SPROUT) on ``network`` (default:
    the chapter's first), from the start ``start`` names (``"Natural"``, ``"Adv Train"``,
    ``"TRADES"``, a :class:`StartFrom`, or None for a random initialisation), with ``config``
    (default: the network's SPROUT run)."""
    network = network or settings.network
    origin = settings.start_from(network, start) if isinstance(start, str) else start
    return ModelRun(config or network.sprout_train, defense or settings.sprout, origin)


def sprout_model(
    settings: SproutSettings, device: torch.device | str, defense: Defense | None = None,
    start: StartFrom | None | str = "Natural", config: TrainConfig | None = None, network: Network | None = None,
) -> nn.Module:
    """The model of :func:`sprout_run`, from the cache or trained now."""
    return sprout_run(settings, defense, start, config, network).trained(device)


def chapter_runs(settings: SproutSettings, network: Network | None = None) -> dict[str, ModelRun]:
    """The chapter's four runs on ``network``: Chapter 4's Natural, Adv Train and TRADES runs
    (the same cache entries) and SPROUT from the natural model."""
    network = network or settings.network
    runs = {"Natural": ModelRun(network.train)}
    for name in BASELINES[1:]:
        runs[name] = ModelRun(network.robust_train, settings.baseline(name))
    runs["SPROUT"] = sprout_run(settings, network=network)
    return runs


def chapter_models(settings: SproutSettings, device: torch.device | str,
                   network: Network | None = None) -> dict[str, nn.Module]:
    """The models of :func:`chapter_runs`."""
    return trained_models(chapter_runs(settings, network), device)


def test_images(settings: SproutSettings, n: int, device: torch.device | str, seed: int) -> TensorData:
    """``n`` CIFAR-10 test images, a seeded choice."""
    data = load_dataset(settings.chapter4.dataset, "test", device=device)
    return data.subset(n, seed) if n < len(data.y) else data


# ------------------------------------------------------------------------------ white-box runs


@dataclass
class WhiteBox:
    """White-box robust accuracy of named models on one set of test images, each (model, attack)
    run once and remembered (its accuracies, and which images stayed correct), so that figures
    sharing an attack share its numbers and claims can pair two models image by image."""

    models: Mapping[str, nn.Module]
    data: TensorData
    _runs: dict[tuple[str, tuple[AttackSpec, ...]], tuple[dict[str, float], np.ndarray]] = field(
        default_factory=dict)

    def _run(self, name: str, attacks: tuple[AttackSpec, ...]) -> tuple[dict[str, float], np.ndarray]:
        key = (name, attacks)
        if key not in self._runs:
            model = self.models[name]
            built = {f"{i}": spec.build(model) for i, spec in enumerate(attacks)}
            report = robust_accuracy(model, self.data.x, self.data.y, built)
            self._runs[key] = (report.accuracy, report.robust)
        return self._runs[key]

    def accuracy(self, name: str, *attacks: AttackSpec) -> dict[str, float]:
        """Accuracy of model ``name``: clean, then after each attack in turn (the per-example worst
        case over the attacks so far, :func:`~advrobust.robustness.robust_accuracy`)."""
        return self._run(name, attacks)[0]

    def robust(self, name: str, spec: AttackSpec) -> float:
        """Robust accuracy of model ``name`` under one attack."""
        return list(self.accuracy(name, spec).values())[-1]

    def robust_examples(self, name: str, *attacks: AttackSpec) -> np.ndarray:
        """(N,) bool: the test images model ``name`` still classifies correctly after ``attacks``."""
        return self._run(name, attacks)[1]

    def clean(self, name: str) -> float:
        """Clean accuracy of model ``name``."""
        return clean_accuracy(self.models[name], self.data.x, self.data.y)

    def correct(self, name: str) -> np.ndarray:
        """(N,) bool: the test images model ``name`` classifies correctly without attack."""
        return (predict(self.models[name], self.data.x) == self.data.y).cpu().numpy()


def eps_curves(box: WhiteBox, settings: SproutSettings, steps: int, eps_values: Sequence[float],
               loss: str = "ce") -> pd.DataFrame:
    """Robust accuracy of every model of ``box`` against eps under PGD-``steps`` (``loss`` "ce")
    or C&W-L∞ (``loss`` "cw"): Figures 5.2 and 5.9b. eps = 0 is the clean accuracy."""
    attack = settings.pgd if loss == "ce" else settings.cw_linf
    rows = [{"method": name, "steps": steps, "eps": eps,
             "robust_accuracy": box.clean(name) if eps == 0 else box.robust(name, attack(eps, steps))}
            for name in box.models for eps in eps_values]
    return pd.DataFrame(rows)


def figure_5_2(box: WhiteBox, settings: SproutSettings) -> pd.DataFrame:
    """Figure 5.2: PGD-``steps`` (the thesis's 20) over ``settings.eps_grid`` and PGD-``long_steps``
    over ``long_eps``."""
    return pd.concat([eps_curves(box, settings, settings.steps, settings.eps_grid),
                      eps_curves(box, settings, settings.long_steps, settings.long_eps)], ignore_index=True)


def autoattack_table(box: WhiteBox, settings: SproutSettings, names: Sequence[str] | None = None) -> pd.DataFrame:
    """The AutoAttack twin of every robustness number at eps = 0.03: per model, clean accuracy,
    PGD-k, PGD-``long_steps``, AutoAttack (alone) and the gap PGD-k − AutoAttack. The thesis
    runs no AutoAttack."""
    rows = []
    for name in names or list(box.models):
        pgd = box.robust(name, settings.pgd(EPS))
        autoattack = box.robust(name, settings.autoattack)
        rows.append({"method": name, "clean": box.clean(name), "pgd": pgd,
                     f"pgd{settings.long_steps}": box.robust(name, settings.pgd(EPS, settings.long_steps)),
                     "autoattack": autoattack, "gap": pgd - autoattack})
    return pd.DataFrame(rows).round(DECIMALS)


def autoattack_curve(box: WhiteBox, settings: SproutSettings, names: Sequence[str]) -> pd.DataFrame:
    """AutoAttack over ``settings.eps_grid`` for ``names``: the twin of their Figure 5.2 curves."""
    rows = [{"method": f"{name} (AutoAttack)", "steps": 0, "eps": eps,
             "robust_accuracy": box.clean(name) if eps == 0 else box.robust(name, settings.autoattack.replace(eps=eps))}
            for name in names for eps in settings.eps_grid]
    return pd.DataFrame(rows)


GAP_SLACK = 0.02  # SPROUT's PGD − AutoAttack gap may exceed Adv Train's by this much


@dataclass(frozen=True)
class Verdict:
    """Does SPROUT's advantage over Adv Train and TRADES survive AutoAttack?"""

    claims: list[Claim]  # SPROUT against each rival under PGD-k and AutoAttack, then the gap claim

    @property
    def answer(self) -> str:
        """The joint verdict of SPROUT above both rivals under AutoAttack."""
        return joint_verdict([c.verdict for c in self.claims if c.attack == "AutoAttack"])

    def text(self) -> str:
        """The answer and every claim, as lines for the page."""
        return (f"SPROUT's advantage over Adv Train and TRADES under AutoAttack: {self.answer}.\n"
                + claim_lines(self.claims))


def verdict(box: WhiteBox, settings: SproutSettings) -> Verdict:
    """The page's answer, on the images of ``box`` (the runs of :func:`autoattack_table`): SPROUT
    against Adv Train and TRADES under PGD-k and under AutoAttack at eps = 0.03, and SPROUT's PGD −
    AutoAttack gap beside Adv Train's, each paired over the test images with a bootstrap interval."""
    claims = []
    for rival in ("Adv Train", "TRADES"):
        for attack, spec in (("PGD", settings.pgd(EPS)), ("AutoAttack", settings.autoattack)):
            ours, theirs = box.robust_examples("SPROUT", spec), box.robust_examples(rival, spec)
            claims.append(judged(f"SPROUT is more robust than {rival}", paired_effect(ours, theirs),
                                 f"SPROUT {ours.mean():.3f} vs {rival} {theirs.mean():.3f}", attack=attack,
                                 item="Figure 5.2"))

    def gap(name: str) -> np.ndarray:  # per image: robust to PGD but not to AutoAttack (−1: the reverse)
        return (box.robust_examples(name, settings.pgd(EPS)).astype(float)
                - box.robust_examples(name, settings.autoattack).astype(float))

    sprout, adv = gap("SPROUT"), gap("Adv Train")
    claims.append(judged(f"SPROUT's PGD − AutoAttack gap is no larger than Adv Train's (+{GAP_SLACK:g})",
                         paired_effect(adv, sprout), f"gap SPROUT {sprout.mean():.3f} vs Adv Train {adv.mean():.3f}",
                         margin=-GAP_SLACK, item="Figure 5.2", strict=False))
    return Verdict(claims)


def table_5_7(box: WhiteBox, settings: SproutSettings, profile: str) -> pd.DataFrame:
    """Table 5.7: PGD-k at eps = 0.03 with 1 ... max(restarts) random starts (each a seeded
    restart; an example counts as broken if any of the first r breaks it), beside the thesis, with
    AutoAttack beside the last column."""
    rows = []
    for name in DEFENDED:
        attacks = tuple(settings.pgd(EPS, seed=seed) for seed in range(max(settings.restarts)))
        accuracy = list(box.accuracy(name, *attacks).values())  # clean, then after each restart
        rows += [{"method": name, "restarts": r, "accuracy": accuracy[r]} for r in settings.restarts]
    ours = pd.DataFrame(rows)
    shown = beside_thesis(ours, thesis_table("table_5_7"), on=["method", "restarts"], profile=profile)
    shown = shown.unstack("restarts")
    for name in DEFENDED:
        shown.loc[name, ("AutoAttack", f"ours ({profile})", "")] = box.robust(name, settings.autoattack)
    return shown.round(DECIMALS)


def step_sweep(box: WhiteBox, settings: SproutSettings) -> pd.DataFrame:
    """Figure 5.6a: PGD-k robust accuracy at eps = 0.03 for k in ``settings.step_sweep``."""
    rows = [{"method": name, "steps": steps, "robust_accuracy": box.robust(name, settings.pgd(EPS, steps))}
            for name in DEFENDED for steps in settings.step_sweep]
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------ other attacks


def figure_5_3(models: Mapping[str, nn.Module], data: TensorData, settings: SproutSettings) -> pd.DataFrame:
    """Figure 5.3: robust accuracy against an L2 budget, read off one C&W-L2 run with binary
    search per model (:func:`~advrobust.robustness.budget_curve`)."""
    frames = [budget_curve(settings.cw_l2.build(model), data.x, data.y, settings.l2_budgets).curve.assign(method=name)
              for name, model in models.items()]
    return pd.concat(frames, ignore_index=True)


def table_5_2(models: Mapping[str, nn.Module], settings: SproutSettings, device: torch.device | str,
              seed: int, profile: str) -> pd.DataFrame:
    """Table 5.2: accuracy of the defended models on PGD-k examples (eps = 0.03) crafted on the
    natural model of the same network, on ``settings.n_transfer`` test images: column "vgg16" from
    ``models`` (the first network's), and "wrn" where the profile has a second network (paper),
    beside the thesis's."""
    data = test_images(settings, settings.n_transfer, device, seed + 2)
    families = {"vgg16": models}
    if len(settings.networks) > 1:
        families["wrn"] = chapter_models(settings, device, settings.networks[1])
    columns = {}
    for column, family in families.items():
        x_adv = craft_transfer_examples(settings.pgd(EPS).build(family["Natural"]), data.x, data.y)
        columns[column] = {name: accuracy_on(family[name], data.x, x_adv, data.y) for name in DEFENDED}
    ours = pd.DataFrame(columns).rename_axis("method").reset_index()
    return beside_thesis(ours, thesis_table("table_5_2"), on=["method"], profile=profile,
                         values=list(families)).round(DECIMALS)


def table_5_4(models: Mapping[str, nn.Module], data: TensorData, profile: str) -> pd.DataFrame:
    """Table 5.4: accuracy under rotation (10°), brightness (1.5), contrast (2) and grayscale (the
    RGB mean), beside the thesis's WRN numbers."""
    ours = pd.DataFrame([{"method": name, **invariance_accuracy(model, data.x, data.y, InvarianceTransforms())}
                         for name, model in models.items()])
    return beside_thesis(ours, thesis_table("table_5_4"), on=["method"], profile=profile).round(DECIMALS)


def masking_checks(models: Mapping[str, nn.Module], box: WhiteBox, settings: SproutSettings,
                   seed: int) -> pd.DataFrame:
    """The gradient-masking checks of Athalye et al. (2018) on the defended models, with transfer
    from the natural model. The checks run their own PGD-k over ``settings.masking_eps`` with a step
    that scales with eps (2.5 eps / k): the evaluation's fixed step 0.007 reaches only 0.007 k in
    L∞, too little for the check that a large eps breaks everything."""
    tables = []
    for name in DEFENDED:
        report = gradient_masking_checks(
            models[name], box.data.x, box.data.y, eps=EPS, eps_values=settings.masking_eps[:-1],
            large_eps=settings.masking_eps[-1], steps=settings.steps, source_model=models["Natural"], seed=seed)
        tables.append(report.checks.assign(model=name))
    return pd.concat(tables)[["model", "check", "measured", "passed"]].set_index(["model", "check"])


def loss_landscapes(models: Mapping[str, nn.Module], settings: SproutSettings, device: torch.device | str,
                    seed: int) -> dict[str, LossLandscape]:
    """Figure 5.4: Chapter 4's loss landscape (sign of the input gradient × a Rademacher
    direction, up to 2 eps in L∞) around ``settings.landscape_examples`` test images."""
    data = test_images(settings, settings.landscape_examples, device, seed + 3)
    return {name: loss_landscape(model, data.x, data.y, span=2 * EPS, points=settings.landscape_points, seed=seed)
            for name, model in models.items()}


# ------------------------------------------------------------------------------ Figure 5.1 / Table 5.6


def table_5_6(box: WhiteBox, settings: SproutSettings, cw: pd.DataFrame, invariance: pd.DataFrame,
              seconds: Mapping[str, float], profile: str) -> pd.DataFrame:
    """Table 5.6's measurements of ours: clean, PGD-k at eps = 0.03, C&W-L2 accuracy at
    :data:`CW_BUDGET`, contrast accuracy (from :func:`table_5_4`) and training seconds, per
    method."""
    at_budget = cw[cw["budget"] == CW_BUDGET].set_index("method")["robust_accuracy"]
    contrast = invariance[("contrast", f"ours ({profile})")]
    return pd.DataFrame([{"method": name, "clean": box.clean(name), "linf": box.robust(name, settings.pgd(EPS)),
                          "cw": at_budget[name], "contrast": contrast[name], "seconds": seconds[name]}
                         for name in METHODS])


def radar(ours: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Figure 5.1's normalised axes and scores: ours from :func:`table_5_6`, and the thesis's
    re-derived from its Table 5.6."""
    return radar_scores(ours), radar_scores(thesis_table("table_5_6"))


# ------------------------------------------------------------------------------ SPROUT's variants


def variant_runs(settings: SproutSettings, variants: Mapping[str, SPROUT]) -> dict[str, ModelRun]:
    """``variants`` (name -> SPROUT settings), each trained like the chapter's SPROUT."""
    return {name: sprout_run(settings, defense) for name, defense in variants.items()}


def variant_models(settings: SproutSettings, device: torch.device | str,
                   variants: Mapping[str, SPROUT]) -> dict[str, nn.Module]:
    """The models of :func:`variant_runs`."""
    return trained_models(variant_runs(settings, variants), device)


def ablation(settings: SproutSettings, device: torch.device | str, data: TensorData,
             eps_values: Sequence[float] = (0.01, EPS)) -> tuple[pd.DataFrame, dict[str, nn.Module]]:
    """Figure 5.5: clean and PGD-k accuracy of every ablation variant (with AutoAttack at 0.03),
    and the variants' models."""
    models = variant_models(settings, device, settings.ablations)
    box = WhiteBox(models, data)
    rows = [{"variant": name, "eps": eps, "robust_accuracy": box.robust(name, settings.pgd(eps))}
            for name in models for eps in eps_values]
    rows += [{"variant": name, "eps": f"{EPS} (AutoAttack)", "robust_accuracy": box.robust(name, settings.autoattack)}
             for name in models]
    return pd.DataFrame(rows), models


def table_5_9(models: Mapping[str, nn.Module], settings: SproutSettings, device: torch.device | str,
              seed: int, profile: str) -> pd.DataFrame:
    """Table 5.9: mean cosine similarity of the input gradients of the single-module models
    (Dirichlet LS, Mixup, GA), beside the thesis's."""
    data = test_images(settings, settings.n_similarity, device, seed + 4)
    chosen = {label: models[name] for label, name in SIMILARITY_MODELS.items()}
    ours = gradient_similarity_table(chosen, data.x, data.y)
    return beside_thesis(ours, thesis_table("table_5_9"), on=["pair"], profile=profile,
                         values=["cosine"]).round(DECIMALS)


def initialisation_runs(settings: SproutSettings) -> dict[str, ModelRun]:
    """Figure 5.6b's runs: SPROUT started from each model ("A+SPROUT"), or from scratch."""
    starts: dict[str, StartFrom | None | str] = {"Natural": "Natural", "Random": None, "Adv Train": "Adv Train",
                                                 "TRADES": "TRADES"}
    return {f"{label}+SPROUT": sprout_run(settings, start=start, config=settings.scratch_train if start is None else None)
            for label, start in starts.items()}


def initialisations(settings: SproutSettings, device: torch.device | str, data: TensorData) -> pd.DataFrame:
    """Figure 5.6b: PGD-k over the eps grid of the :func:`initialisation_runs`."""
    models = trained_models(initialisation_runs(settings), device)
    return eps_curves(WhiteBox(models, data), settings, settings.steps, settings.eps_grid)


def label_rule_variants(settings: SproutSettings) -> dict[str, SPROUT]:
    """The three label rules of §5.3.1, otherwise the chapter's SPROUT."""
    return {rule: replace(settings.sprout, label_rule=rule) for rule in (settings.sprout.label_rule, *settings.label_rules)}


def label_rules(settings: SproutSettings, device: torch.device | str, data: TensorData) -> pd.DataFrame:
    """The three label rules of §5.3.1 trained alike: clean, PGD-k and AutoAttack at 0.03."""
    box = WhiteBox(variant_models(settings, device, label_rule_variants(settings)), data)
    return autoattack_table(box, settings).rename(columns={"method": "label rule"})


def sensitivity_variants(settings: SproutSettings) -> dict[tuple[float, float], SPROUT]:
    """Figure 5.9a's SPROUT variants: (a, α) -> the chapter's SPROUT with those values."""
    pairs = ((settings.sprout.mixup_a, settings.sprout.alpha), *settings.sensitivity)
    return {(a, alpha): replace(settings.sprout, mixup_a=a, alpha=alpha) for a, alpha in pairs}


def sensitivity(settings: SproutSettings, device: torch.device | str, data: TensorData) -> pd.DataFrame:
    """Figure 5.9a: clean and PGD-k accuracy at 0.03 of SPROUT for each (a, α) of the profile."""
    variants = {f"a={a}, α={alpha}": defense for (a, alpha), defense in sensitivity_variants(settings).items()}
    box = WhiteBox(variant_models(settings, device, variants), data)
    return pd.DataFrame([{"a": a, "alpha": alpha, "clean": box.clean(name),
                          "pgd": box.robust(name, settings.pgd(EPS))}
                         for (a, alpha), name in zip(sensitivity_variants(settings), variants, strict=True)])


def width_runs(settings: SproutSettings) -> dict[float, dict[str, ModelRun]]:
    """Figure 5.7's runs: per network width, Adv Train and SPROUT on that network."""
    runs = {}
    for value, model_name in settings.width_models:
        natural = replace(settings.network.train, model=model_name)
        network = Network(model_name, natural, replace(settings.width_train, model=model_name),
                          replace(settings.network.sprout_train, model=model_name))
        runs[value] = {"Adv Train": ModelRun(network.robust_train, settings.baseline("Adv Train")),
                       "SPROUT": sprout_run(settings, network=network)}
    return runs


def width(settings: SproutSettings, device: torch.device | str, data: TensorData) -> pd.DataFrame:
    """Figure 5.7: PGD-k accuracy at 0.03 of Adv Train and SPROUT at each network width."""
    rows = []
    for value, runs in width_runs(settings).items():
        box = WhiteBox(trained_models(runs, device), data)
        rows += [{"width": value, "method": name, "clean": box.clean(name),
                  "robust_accuracy": box.robust(name, settings.pgd(EPS))} for name in runs]
    return pd.DataFrame(rows)


def learned_beta(settings: SproutSettings) -> np.ndarray:
    """Figure 5.8: the β SPROUT learned (from its training record; train the model first)."""
    network = settings.network
    _, state = training_record(network.sprout_train, settings.sprout, start_from=settings.natural_start(network))
    beta: Tensor = state["beta"]
    return beta.numpy()


# ------------------------------------------------------------------------------ Tables 5.3 and 5.8: ImageNet


def imagenet_runs(settings: SproutSettings, network: ImageNetNetwork | None) -> dict[str, ModelRun]:
    """The natural run of ``network`` (Table 5.3's ResNet-152 or 5.8's ResNet-50) and SPROUT's run
    started from it; none for None (below paper)."""
    if network is None:
        return {}
    return {"Natural": ModelRun(network.train),
            "SPROUT": sprout_run(settings, start=StartFrom(network.train), config=network.sprout_train)}


def random_target_accuracy(model: nn.Module, data: TensorData, spec: AttackSpec, seed: int) -> float:
    """Accuracy of ``model`` on ``data`` under ``spec`` run towards random target labels (one per
    image, uniform over the other classes, drawn by ``seed``): ACW18's ImageNet setup, which the
    thesis follows for Tables 5.3 and 5.8. An image counts if the model is right before and after."""
    targets = random_targets(data.y, class_count(model), seed)
    x_adv = craft_transfer_examples(spec.build(model), data.x, data.y, target=targets,
                                    batch_size=IMAGENET_ATTACK_BATCH)
    return accuracy_on(model, data.x, x_adv, data.y)


def imagenet_table(item: str, settings: SproutSettings, network: ImageNetNetwork | None,
                   device: torch.device | str, profile: str, seed: int = 0,
                   data_root: str | Path | None = None) -> PaperOnlyTable:
    """The thesis's ``item`` ("table_5_3" or "table_5_8"): clean accuracy (ε = 0) and accuracy
    under :meth:`~advrobust.profiles.sprout.SproutSettings.imagenet_pgd` towards random targets at
    each ε of :data:`IMAGENET_EPS`, of :func:`imagenet_runs` on ``settings.n_imagenet``
    validation images, beside the thesis's rows (method down, ε across). Below paper, or without
    ImageNet, the thesis's table as printed, with the reason."""
    thesis = thesis_table(item)
    printed = thesis.pivot(index="method", columns="eps", values="accuracy")
    runs = imagenet_runs(settings, network)
    data, status = evaluation_images(bool(runs), lambda: imagenet_val_images(settings.n_imagenet, seed, device,
                                                                             data_root), NOT_RUN_HERE)
    if data is None:
        return PaperOnlyTable(status, printed)
    rows = []
    for name, model in trained_models(runs, device).items():
        rows.append({"method": name, "eps": 0.0, "accuracy": clean_accuracy(model, data.x, data.y)})
        rows += [{"method": name, "eps": eps,
                  "accuracy": random_target_accuracy(model, data, settings.imagenet_pgd(eps), seed)}
                 for eps in IMAGENET_EPS]
    shown = beside_thesis(pd.DataFrame(rows), thesis, on=["method", "eps"], profile=profile, values=["accuracy"])
    return PaperOnlyTable("ran", shown["accuracy"].unstack("eps").round(DECIMALS))


def table_5_3(settings: SproutSettings, device: torch.device | str, profile: str, seed: int = 0,
              data_root: str | Path | None = None) -> PaperOnlyTable:
    """Table 5.3: natural and SPROUT ResNet-152 on ImageNet (:func:`imagenet_table`)."""
    return imagenet_table("table_5_3", settings, settings.imagenet_152, device, profile, seed, data_root)


def table_5_8(settings: SproutSettings, device: torch.device | str, profile: str, seed: int = 0,
              data_root: str | Path | None = None) -> PaperOnlyTable:
    """Table 5.8: natural and SPROUT ResNet-50 on ImageNet (:func:`imagenet_table`); the Free Adv
    Train row is the thesis's, a pretrained model of SNG19 that torchvision does not provide."""
    return imagenet_table("table_5_8", settings, settings.imagenet_50, device, profile, seed, data_root)


# ------------------------------------------------------------------------------ jobs


def units(profile: str, seed: int = 0) -> list[Unit]:
    """The trainings of Chapter 5's pages at ``profile``: the four models of every network
    (``ch05_sprout``; Chapter 4's runs are the same units), then the ablations, initialisations,
    label rules, (a, α) pairs and widths (``ch05_ablations``); at paper, Tables 5.3 and 5.8's
    ImageNet runs too (``ch05_sprout``; streamed, they report that their data are absent where they
    are). Table 5.5 times its runs in the page itself (a timing must share one process) and the
    attacks are white-box evaluations; neither is a unit. ``seed`` does not enter."""
    settings = sprout(profile)
    variants = {**settings.ablations, **label_rule_variants(settings),
                **{str(pair): defense for pair, defense in sensitivity_variants(settings).items()}}
    ablations = [*variant_runs(settings, variants).values(), *initialisation_runs(settings).values(),
                 *(run for runs in width_runs(settings).values() for run in runs.values())]
    imagenet = [run for network in (settings.imagenet_152, settings.imagenet_50)
                for run in imagenet_runs(settings, network).values()]
    return [*image_trainings([run for network in settings.networks for run in chapter_runs(settings, network).values()],
                             "ch05_sprout"),
            *image_trainings(imagenet, "ch05_sprout"),
            *image_trainings(ablations, "ch05_ablations")]
