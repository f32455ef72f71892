"""Settings of Chapter 6: BatchNorm as adversarial masking (§6.2), AdvProp and RobMask (§6.3-6.4).

``paper`` is §6.4's "Implementation Details": CIFAR-10 and CIFAR-100 on ResNet-18, DenseNet-121,
PreAct-ResNet-18 and ResNeXt-29, SGD (momentum 0.9, weight decay 5e-4, lr 0.1 for θ, W and W′)
with a cosine schedule, 20 and 100 epochs; PGD-7 in training (ε = 8/255, step ε/5, random start,
cross-entropy); RobMask with k = 2 and ε_max = 8/255; evaluation with PGD-100 (step ε/5, random
start) and the standard AutoAttack at ε = 0, 2, 4, 6, 8/255 on the whole test set. §6.2's
ResNet-18 models (Table 6.1) are trained with the same recipe (the thesis gives no other), and the
BN-only fine-tuning uses "the same optimizer, learning rate, learning rate scheduler and number of
epochs", so 100 epochs. ``paper`` also trains Table 6.4's ImageNet ResNet-18 (BN, AdvProp and
RobMask, 105 epochs), streamed from the user's ImageNet folders, with the schedule of the AdvProp
code the thesis follows for ImageNet (see ``_paper``); below paper it is not trained.

``quick`` is CIFAR-10 on the small VGG shared with Chapters 4 and 5, and §6.2 **reuses their
runs**: the standard model is ``QUICK_NATURAL`` and the adversarially trained one Chapter 4's
"Adv train" (the same checkpoints); BN-only fine-tuning runs 2 epochs of the shared 20k subset.
Table 6.3's BN / AdvProp / RobMask columns swap the norm layer of the same network and train
2 epochs of a 10k subset (``QUICK_ROBUST``'s schedule on half its images, to fit the chapter's
10-minute budget) from two seeds each, with 3 PGD steps of ε/5. Table 6.5's AT row is an AT run of
that same schedule and attack (``baseline_at``), so its three methods differ only in the method;
at ``paper`` it is §6.2's AT model. Table 6.6's variants are not trained at quick (each costs a
Table 6.3 run); ``smoke`` trains two of them to keep the path tested. 200 test images (PGD-20) and
Table 6.5 on 100 of them with PGD-20 at every ε and AutoAttack at 8/255 only, shortened as Chapter
5's quick one (20 APGD steps, 2 target classes, 200 Square queries). ``smoke`` is the same at a
few dozen images.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from ..attacks import PGD
from ..attacks.spec import AttackSpec
from ..defenses import PGDAT, Defense
from ..defenses.advprop import AdvProp
from ..defenses.robmask import RobMask
from ..errors import require
from ..robustness.autoattack import AutoAttack
from ..training import StartFrom, TrainConfig
from .base import check_profile
from .defenses import DefenseSettings, cifar10_defenses

EPS = 8 / 255  # ε_max: the training budget and Table 6.1/6.2's robust accuracy
EPS_LEVELS = tuple(e / 255 for e in (0, 2, 4, 6, 8))  # Table 6.5's columns
P_GRID = (1.0, 0.8, 0.6, 0.4, 0.2, 0.0)  # Table 6.2's interpolation weights, as printed
COLUMNS = ("BN", "AdvProp", "RobMask")  # Table 6.3's columns
NORM_LAYERS = {"BN": "bn", "AdvProp": "dual_bn", "RobMask": "robmask"}  # -> TrainConfig.norm_layer
# Figure 6.2: a channel "changed dramatically" when the L2 norm of its change is more than this
# fraction of the larger of its two maps' L2 norms (the thesis does not define it).
DRAMATIC = 0.5


@dataclass(frozen=True)
class Variant:
    """A row of Table 6.6: the norm layer and the defense of its run."""

    norm_layer: str  # "dual_bn", "dual_bn_aux2", "robmask", "robmask_k3"
    defense: Defense


@dataclass(frozen=True)
class MaskingSettings:
    """Chapter 6 at one profile."""

    chapter4: DefenseSettings  # Chapter 4's settings (quick/smoke reuse its natural and AT runs)
    network: str  # §6.2's network as the pages name it (thesis: ResNet-18)
    natural: TrainConfig  # §6.2's standard model
    robust: TrainConfig  # §6.2's adversarially trained model (and Table 6.5's "Adv. training")
    at_defense: Defense  # its defense (quick: Chapter 4's "Adv train", the same checkpoint)
    baseline_at: Defense  # Table 6.5's AT row: this defense on Table 6.3's first run (paper: = at_defense)
    finetune: TrainConfig  # Table 6.1's BN-only fine-tuning (trainable="norm"), both directions
    generalization: TrainConfig  # Table 6.3's run; the model, norm layer, dataset, epochs, seed vary
    architectures: tuple[tuple[str, str], ...]  # Table 6.3's rows: (thesis's name, registered model)
    datasets: tuple[str, ...]  # Table 6.3's column groups (CIFAR-100 runs only where it is on disk)
    epochs: tuple[int, ...]  # Table 6.3's epoch rows (thesis: 20 and 100)
    seeds: tuple[int, ...]  # seeds of every Table 6.3 cell; the spread decides "inconclusive"
    advprop: AdvProp  # Table 6.3's AdvProp column (PGD-7, ε = 8/255, step ε/5)
    robmask: RobMask  # Table 6.3's RobMask column (k = 2, ε_max = 8/255)
    variants: dict[str, Variant]  # Table 6.6's rows that this profile trains (others: thesis only)
    n_eval: int  # test images of every accuracy (thesis: 10,000)
    n_robust: int  # test images of Table 6.5 (5 rows x 4 budgets x PGD and AutoAttack; thesis: 10,000)
    pgd_steps: int  # PGD-k of Tables 6.1, 6.2 and 6.5 (thesis: PGD-100 in Table 6.5)
    autoattack: AttackSpec[AutoAttack]  # Table 6.5's AutoAttack (at eps = 8/255; other levels replace eps)
    p_grid: tuple[float, ...] = P_GRID  # Table 6.2
    eps_levels: tuple[float, ...] = EPS_LEVELS  # Table 6.5
    autoattack_levels: tuple[float, ...] | None = None  # Table 6.5's ε that AutoAttack runs at (None: every ε > 0)
    note: str = field(default="")  # what this profile changes, for the pages
    # Table 6.4: the BN column's ResNet-18 run on ImageNet, streamed from the user's folders (AdvProp
    # and RobMask change its norm layer and add :attr:`advprop`, :attr:`robmask`; paper only, None:
    # the thesis's table as printed), and the validation images its clean accuracy is measured on
    imagenet_train: TrainConfig | None = None
    n_imagenet: int = 0

    def __post_init__(self) -> None:
        require(self.finetune.trainable == "norm", "Table 6.1's fine-tuning trains the norm layers only")
        require(self.p_grid[0] == 1.0 and self.p_grid[-1] == 0.0, "p_grid must run from 1 to 0")
        require(self.eps_levels[0] == 0 and abs(self.eps_levels[-1] - EPS) < 1e-12, "eps_levels: 0 ... 8/255")
        require(len(self.seeds) >= 1 and len(self.architectures) >= 1, "need a seed and an architecture")
        require(self.autoattack_levels is None or set(self.autoattack_levels) <= set(self.eps_levels[1:]),
                "autoattack_levels must be among the positive eps_levels")

    def runs_autoattack(self, eps: float) -> bool:
        """Whether Table 6.5 runs AutoAttack at ``eps`` (> 0)."""
        return eps > 0 and (self.autoattack_levels is None or eps in self.autoattack_levels)

    # ---------------------------------------------------------------- §6.2's four models

    def natural_start(self) -> StartFrom:
        """The standard model, as the start of its adversarial BN-only fine-tuning."""
        return StartFrom(self.natural)

    def robust_start(self) -> StartFrom:
        """The adversarially trained model, as the start of its standard BN-only fine-tuning."""
        return StartFrom(self.robust, self.at_defense)

    # ---------------------------------------------------------------- Table 6.3's runs

    def run(self, column: str, model: str, dataset: str, epochs: int, seed: int) -> TrainConfig:
        """The training run of one Table 6.3 cell (``column`` "BN", "AdvProp" or "RobMask")."""
        return replace(self.generalization, model=model, dataset=dataset, epochs=epochs, seed=seed,
                       norm_layer=NORM_LAYERS[column])

    def defense(self, column: str) -> Defense | None:
        """Table 6.3's defense of ``column`` (None: natural training, the "BN" column)."""
        return {"BN": None, "AdvProp": self.advprop, "RobMask": self.robmask}[column]

    def pgd(self, eps: float, steps: int | None = None) -> AttackSpec[PGD]:
        """The evaluation's PGD-k (§6.4): step ε/5, random start, untargeted cross-entropy."""
        return AttackSpec(PGD, eps=eps, alpha=eps / 5, steps=steps or self.pgd_steps, random_start=True, seed=0)

    def baseline_at_run(self) -> TrainConfig:
        """Table 6.5's AT run: Table 6.3's first architecture, CIFAR-10, longest schedule, first
        seed, trained with ``baseline_at`` (at paper, the same run as §6.2's AT model)."""
        return self.run("BN", self.architectures[0][1], "cifar10", self.epochs[-1], self.seeds[0])

    def describe(self) -> str:
        """One line for the pages."""
        return f"{self.chapter4.dataset}, {self.network}, ε = 8/255" + (f" ({self.note})" if self.note else "")


def _paper(chapter4: DefenseSettings) -> MaskingSettings:
    resnet = TrainConfig(model="resnet18_cifar", dataset="cifar10", epochs=100, batch_size=128, optimizer="sgd",
                         lr=0.1, momentum=0.9, weight_decay=5e-4, schedule="cosine", augment=True, seed=0)
    at = PGDAT(eps=EPS, alpha=EPS / 5, steps=7)
    advprop, robmask = AdvProp(eps=EPS, steps=7), RobMask(eps_max=EPS, steps=7)
    # Table 6.4: "For ImageNet, we follow the PyTorch implementation" of AdvProp
    # (tingxueronghua/pytorch-classification-advprop, run.sh): 105 epochs, batch 256, SGD lr 0.1,
    # momentum 0.9, weight decay 1e-4, lr / 10 after 30, 60, 90 and 100 epochs (its 5 warm-up
    # epochs are not among TrainConfig's schedules); the crops are the streamed loader's. AdvProp
    # and RobMask keep the chapter's attack (PGD-7, ε = 8/255, step ε/5): "for RobMask, we set
    # k = 2 and ε_max = 8/255 in all our experiments", with AdvProp's "same regularization
    # strength" (run.sh's own attack is one targeted step of 1/255).
    imagenet = TrainConfig(model="resnet18_imagenet", dataset="imagenet", epochs=105, batch_size=256, optimizer="sgd",
                           lr=0.1, momentum=0.9, weight_decay=1e-4, schedule="multistep",
                           milestones=(30, 60, 90, 100), gamma=0.1, augment=False, seed=0)
    return MaskingSettings(
        chapter4=chapter4, network="ResNet-18", natural=resnet, robust=resnet, at_defense=at, baseline_at=at,
        finetune=replace(resnet, trainable="norm"), generalization=resnet,
        architectures=(("ResNet-18", "resnet18_cifar"), ("DenseNet-121", "densenet121_cifar"),
                       ("Preact-18", "preact_resnet18_cifar"), ("ResNeXt-29", "resnext29_cifar")),
        datasets=("cifar10", "cifar100"), epochs=(20, 100), seeds=(0,), advprop=advprop, robmask=robmask,
        variants={"AdvProp": Variant("dual_bn", advprop),
                  "with random perturbation strength": Variant("dual_bn", replace(advprop, strength_draw="batch")),
                  "with 2 auxiliary BNs": Variant("dual_bn_aux2", replace(advprop, extra_eps=(4 / 255,))),
                  "RobMask (k = 2)": Variant("robmask", robmask), "RobMask (k = 3)": Variant("robmask_k3", robmask)},
        n_eval=10_000, n_robust=10_000, pgd_steps=100, autoattack=AttackSpec(AutoAttack, eps=EPS, version="standard"),
        # the thesis measures the whole validation set (50,000 images); the evaluation stacks its
        # images in memory (30 GB at 50,000), so a seeded fifth of it
        imagenet_train=imagenet, n_imagenet=10_000,
    )


QUICK_GENERALIZATION_SUBSET = 10_000  # Table 6.3's training images at quick (half the shared subset)


def _quick(chapter4: DefenseSettings) -> MaskingSettings:
    steps = chapter4.defenses["Adv train"].steps  # type: ignore[attr-defined]  # 3 at quick
    # AdvProp, RobMask and Table 6.5's AT with the thesis's step ε/5 and Chapter 4's quick number of PGD steps.
    advprop, robmask = AdvProp(eps=EPS, steps=steps), RobMask(eps_max=EPS, steps=steps)
    generalization = replace(chapter4.robust_train, train_subset=QUICK_GENERALIZATION_SUBSET)
    return MaskingSettings(
        chapter4=chapter4, network="small VGG (quick stand-in for ResNet-18)", natural=chapter4.train,
        robust=chapter4.robust_train, at_defense=chapter4.defenses["Adv train"],
        baseline_at=PGDAT(eps=EPS, alpha=EPS / 5, steps=steps),
        finetune=replace(chapter4.robust_train, trainable="norm", epochs=2),
        generalization=generalization,
        architectures=(("small VGG", chapter4.train.model),), datasets=("cifar10",),
        epochs=(generalization.epochs,), seeds=(0, 1), advprop=advprop, robmask=robmask, variants={},
        # Table 6.5 runs 20 attacks per row; AutoAttack shortened as Chapter 5's quick one
        n_eval=200, n_robust=100, pgd_steps=20,
        autoattack=AttackSpec(AutoAttack, eps=EPS, version="standard", steps=20, n_target_classes=2, n_queries=200),
        # AutoAttack at ε_max only, the column of Table 6.5's claim: the page then fits its 10-minute budget
        autoattack_levels=(EPS,),
        note=f"small VGG: Chapter 4's natural and 'Adv train' models ({chapter4.train.train_subset:,} CIFAR-10 "
             f"training images), BN-only fine-tuning 2 epochs; Table 6.3's runs and Table 6.5's AT "
             f"{generalization.epochs} epochs of {QUICK_GENERALIZATION_SUBSET:,} images with {steps} PGD steps "
             f"(step ε/5) from two seeds; Table 6.6's variants not trained; 200 test images and PGD-20 (Table 6.5: "
             "100, with a shortened AutoAttack at ε = 8/255 only)",
    )


def _smoke(chapter4: DefenseSettings) -> MaskingSettings:
    quick = _quick(chapter4)
    advprop, robmask = replace(quick.advprop, steps=1), replace(quick.robmask, steps=1)
    return replace(
        quick, finetune=replace(chapter4.robust_train, trainable="norm", epochs=1),
        generalization=chapter4.robust_train, epochs=(chapter4.robust_train.epochs,),
        advprop=advprop, robmask=robmask, baseline_at=PGDAT(eps=EPS, alpha=EPS / 5, steps=1),
        variants={"with 2 auxiliary BNs": Variant("dual_bn_aux2", replace(advprop, extra_eps=(4 / 255,))),
                  "RobMask (k = 3)": Variant("robmask_k3", robmask)},
        n_eval=24, n_robust=24, pgd_steps=3, autoattack=chapter4.columns.autoattack,
        note=chapter4.note,
    )


def masking(profile: str, data_root: str | Path | None = None) -> MaskingSettings:
    """Settings of Chapter 6 at ``profile``, on Chapter 4's settings at the same profile."""
    profile = check_profile(profile)
    chapter4 = cifar10_defenses(profile, "Chapter 6", data_root)
    return {"paper": _paper, "quick": _quick, "smoke": _smoke}[profile](chapter4)
