"""Settings of Chapter 4: the defended models (Tables 4.1-4.6, Figure 4.2) and how they are attacked.

``paper`` is §4.2.4.1: CIFAR-10, VGG-16 (lr 0.01) and WRN-34-10 (lr 0.1), SGD with momentum 0.9
and weight decay 5e-4, lr decayed by 90% at epochs 80, 140 and 180 (of 200), 10 PGD steps in
training, eps = 8/255; CAT with eta = 0.005, eps_max = 8/255, c = 10, beta = 1, kappa = 10; TRADES
with its official settings; evaluation as in Table 4.2 (PGD-100 and C&W-100 with step eps/5,
20 restarts of PGD-1000 and C&W-1000, DeepFool) on the whole test set, transfer from the natural
model on 10,000 examples, and standard AutoAttack.

``quick`` keeps every ingredient at laptop scale: the small VGG shared with Chapters 5 and 6
(BatchNorm, crop-and-flip augmentation, one-cycle schedule) on a 20k CIFAR-10 subset, 8 epochs of
natural training and 2 of each defense with 3 PGD steps in training, fewer attack steps and
restarts, a few hundred test images, and AutoAttack with fewer target classes and Square queries. Without CIFAR-10 on disk it falls back to
MNIST at eps = 0.3 (the C&W MNIST CNN), as the chapter says.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from ..attacks import PGD, CWLinf, DeepFool
from ..attacks.spec import AttackSpec
from ..defenses import CAT, PGDAT, TRADES, Defense, Natural, adp_adv, adv_ls
from ..errors import require
from ..robustness.autoattack import AutoAttack
from ..training import TrainConfig
from .base import check_profile


@dataclass(frozen=True)
class AttackColumns:
    """The attacks of Table 4.2's columns, at the L∞ budget ``eps``."""

    eps: float  # the budget of every column (8/255 on CIFAR-10)
    n_eval: int  # test images evaluated (thesis: the whole test set)
    deepfool: AttackSpec[DeepFool]  # L∞ DeepFool; an example is robust if it needs more than eps
    pgd_steps: int  # "PGD100" / "C&W100": steps with step size eps/5
    restarts: int  # "20 PGD1000": random restarts, worst case per example
    restart_steps: int  # steps per restart
    autoattack: AttackSpec[AutoAttack]  # the added column, at eps; below paper with fewer
    # iterations, target classes and Square queries than the standard version

    def __post_init__(self) -> None:
        require(self.autoattack.settings.get("eps") == self.eps, "autoattack must run at the columns' eps")

    def pgd(self, steps: int, restarts: int = 1, eps: float | None = None) -> AttackSpec[PGD]:
        """PGD-k as Table 4.2 evaluates it: ``steps`` steps of size eps/5 from a random start,
        ``restarts`` restarts (worst case per example), at ``eps`` (default: the columns' eps)."""
        eps = self.eps if eps is None else eps
        return AttackSpec(PGD, eps=eps, alpha=eps / 5, steps=steps, restarts=restarts, random_start=True, seed=0)

    def cw(self, steps: int, restarts: int = 1) -> AttackSpec[CWLinf]:
        """C&W-k: :meth:`pgd`'s iterations on the C&W margin loss (2.6) instead of cross-entropy."""
        return AttackSpec(CWLinf, **self.pgd(steps, restarts).settings)


@dataclass(frozen=True)
class Method:
    """A row of Tables 4.2-4.4: a training method, under the names the thesis gives it."""

    name: str  # its name in Tables 4.2, 4.4 and 4.6, e.g. "Adv train"
    wide_name: str  # its name in Table 4.3, where the thesis cites each method's paper
    defense: Defense  # how its model is trained (x~, y~ and the loss of thesis Table 5.1)


@dataclass(frozen=True)
class DefenseSettings:
    """Chapter 4 at one profile."""

    dataset: str  # "cifar10", or "mnist" when CIFAR-10 is missing at quick
    eps: float  # the threat model: L∞ radius (8/255 on CIFAR-10, 0.3 on MNIST)
    network: str  # the network of Tables 4.1, 4.2, 4.4 and 4.6 as the pages name it (thesis: VGG-16)
    train: TrainConfig  # the natural training run of Table 4.2's (VGG-16) network
    robust_train: TrainConfig  # the run of its defended models (at paper the same; below, fewer
    # epochs on the same training subset, since each of their steps costs 1 + k passes)
    wide_network: str  # the network of Table 4.3 (thesis: WRN-34-10; below paper, ``network``)
    wide_train: TrainConfig | None  # Table 4.3's WRN-34-10 run (paper only; None: Table 4.2's models)
    methods: tuple[Method, ...]  # Table 4.2's rows, in the thesis's order
    ablations: dict[str, Defense]  # Table 4.6's extra rows, under the thesis's names
    fixed_eps_train: tuple[float, ...]  # Table 4.1: training eps of plain adversarial training
    fixed_eps_test: float  # Table 4.1: the eps robust accuracy is measured at
    fixed_eps_config: TrainConfig  # Table 4.1's training run
    n_fixed_eps: int  # Table 4.1: training and test images evaluated (the training images are among
    # those the models were trained on: a seeded subset of fixed_eps_config's training subset)
    columns: AttackColumns
    n_transfer: int  # Table 4.4: test images attacked on the natural model (thesis: 10,000)
    landscape_points: int  # Figure 4.2: grid points per axis
    landscape_span: float  # Figure 4.2: the grid covers [-span, span] in each direction (L∞ units)
    landscape_examples: int  # Figure 4.2: examples averaged
    masking_eps: tuple[float, ...]  # gradient-masking check: the eps sweep (last: "large")
    masking_steps: int  # PGD steps of the sweep
    n_masking: int  # test images of the checks
    note: str = field(default="")  # what this profile changes, for the pages
    # Table 4.5: CAT's ResNet-50 on Restricted ImageNet, streamed from the user's ImageNet folders
    # (paper only; None: the thesis's table as printed), and the validation images it is measured on
    restricted_train: TrainConfig | None = None
    n_restricted: int = 0

    def __post_init__(self) -> None:
        require(self.dataset in ("cifar10", "mnist"), f"unknown dataset {self.dataset!r}")
        require(self.masking_eps == tuple(sorted(self.masking_eps)), "masking_eps must increase")
        require(self.columns.eps == self.eps, "the attack columns must run at the threat model's eps")

    def train_config(self, defense: Defense) -> TrainConfig:
        """The training run of Table 4.2's model trained with ``defense``."""
        return self.train if isinstance(defense, Natural) else self.robust_train

    @property
    def defenses(self) -> dict[str, Defense]:
        """Table 4.2's rows: the thesis's name -> the defense its model is trained with."""
        return {method.name: method.defense for method in self.methods}

    def fixed_eps_defenses(self) -> dict[float, Defense]:
        """Table 4.1's rows: PGD adversarial training at each fixed training eps, with the inner
        steps of Table 4.2's "Adv train" and step size 2.5 eps / steps (Madry et al.'s rule)."""
        steps = self.defenses["Adv train"].steps  # type: ignore[attr-defined]
        return {eps: PGDAT(eps=eps, alpha=2.5 * eps / steps, steps=steps) for eps in self.fixed_eps_train}

    def describe(self) -> str:
        """One line for the pages: dataset, network, eps and what this profile changes."""
        return f"{self.dataset}, {self.network}, eps = {self.eps:.4g}" + (f" ({self.note})" if self.note else "")


_EPS = 8 / 255


_STANDARD_AUTOATTACK = AttackSpec(AutoAttack, eps=_EPS, version="standard")


def _methods(natural: Defense, adv: Defense, trades: Defense, cat: Defense) -> tuple[Method, ...]:
    """Table 4.2's rows under the thesis's names (Table 4.3 cites each method's paper)."""
    return (
        Method("Natural train", "Natural training", natural),
        Method("Adv train", "Adversarial training (MMS18)", adv),
        Method("TRADES", "TRADES (ZYJ19)", trades),
        Method("CAT", "CAT (ours)", cat),
    )


def _cat_and_ablations(
    eta: float, eps_max: float, c: float, alpha: float, steps: int
) -> tuple[CAT, dict[str, Defense]]:
    """CAT (Algorithm 8, beta = 1, kappa = 10) and Table 4.6's ablations with the same settings."""
    same = {"eta": eta, "eps_max": eps_max, "c": c, "beta": 1.0, "kappa": 10.0, "alpha": alpha, "steps": steps}
    cat = CAT(eta=eta, eps_max=eps_max, c=c, beta=1.0, kappa=10.0, alpha=alpha, steps=steps)
    return cat, {"Adv+LS": adv_ls(**same), "Adp-Adv": adp_adv(**same)}


def _cifar_defenses(steps: int, alpha: float) -> tuple[tuple[Method, ...], dict[str, Defense]]:
    """Table 4.2's rows and Table 4.6's ablations at eps = 8/255 with ``steps`` inner steps."""
    cat, ablations = _cat_and_ablations(eta=0.005, eps_max=_EPS, c=10.0, alpha=alpha, steps=steps)
    rows = _methods(
        Natural(),
        PGDAT(eps=_EPS, alpha=alpha, steps=steps),
        TRADES(eps=0.031, alpha=0.007 * 10 / steps, steps=steps, beta=6.0),
        cat,
    )
    return rows, ablations


def _mnist_defenses() -> tuple[tuple[Method, ...], dict[str, Defense]]:
    """MNIST at eps = 0.3 (the fallback of quick): Madry et al.'s budget; CAT's eta and c scaled
    by 0.3 / (8/255) so that eta / eps_max and c * eps_max match the CIFAR-10 settings."""
    eps, steps, alpha = 0.3, 10, 0.075
    scale = eps / _EPS
    cat, ablations = _cat_and_ablations(eta=0.005 * scale, eps_max=eps, c=10.0 / scale, alpha=alpha, steps=steps)
    rows = _methods(
        Natural(),
        PGDAT(eps=eps, alpha=alpha, steps=steps),
        TRADES(eps=eps, alpha=alpha, steps=steps, beta=6.0),
        cat,
    )
    return rows, ablations


def _paper() -> DefenseSettings:
    vgg = TrainConfig(model="vgg16_cifar", dataset="cifar10", epochs=200, batch_size=128, optimizer="sgd",
                      lr=0.01, momentum=0.9, weight_decay=5e-4, schedule="multistep",
                      milestones=(80, 140, 180), gamma=0.1, augment=True, seed=0)
    rows, ablations = _cifar_defenses(steps=10, alpha=2 / 255)
    return DefenseSettings(
        dataset="cifar10", eps=_EPS, network="VGG-16", train=vgg, robust_train=vgg,
        wide_network="WRN-34-10", wide_train=replace(vgg, model="wrn34_10", lr=0.1),
        methods=rows, ablations=ablations,
        fixed_eps_train=(0.01, 0.02, 0.03), fixed_eps_test=0.01, fixed_eps_config=vgg, n_fixed_eps=10_000,
        columns=AttackColumns(eps=_EPS, n_eval=10_000, deepfool=AttackSpec(DeepFool, norm="linf", max_iter=50),
                              pgd_steps=100, restarts=20, restart_steps=1000, autoattack=_STANDARD_AUTOATTACK),
        n_transfer=10_000, landscape_points=41, landscape_span=2 * _EPS, landscape_examples=1,
        masking_eps=tuple(e / 255 for e in (1, 2, 4, 8, 16, 32, 64, 128)), masking_steps=100,
        n_masking=1000,
        # The thesis gives no schedule for Table 4.5: Chapter 4's CIFAR schedule with the WRN's lr,
        # torchvision's ImageNet crops in the streamed loader (``augment`` is the in-memory path's).
        restricted_train=replace(vgg, model="resnet50_rimagenet", dataset="restricted_imagenet", lr=0.1,
                                 augment=False),
        n_restricted=1000,
    )


# The quick network of Chapters 4, 5 and 6: a small VGG (four conv-BN-ReLU layers) on 20,000
# CIFAR-10 training images with crop-and-flip augmentation and a one-cycle schedule (SGD, Nesterov,
# peak lr 0.1, weight decay 5e-4). Measured on 2 cores, with other jobs running: 78.2% test
# accuracy (first 5,000 test images) after 222 s of training. All 50,000 images for 5 epochs gave
# 81.1% in 229 s, but the defended models train on the same subset at 4x the cost per image, and
# 20,000 keeps them affordable; 2 epochs of the 20,000 gave 64.1% in 62 s.
QUICK_NATURAL = TrainConfig(model="small_vgg_cifar", dataset="cifar10", epochs=8, batch_size=128,
                            optimizer="sgd", lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4,
                            schedule="onecycle", train_subset=20_000, augment=True, seed=0)
QUICK_ROBUST = replace(QUICK_NATURAL, epochs=2)  # the defended runs: 2 epochs of the same subset
QUICK_TRAINING_STEPS = 3  # PGD steps inside adversarial training at quick (paper: 10)


def _quick_cifar() -> DefenseSettings:
    steps = QUICK_TRAINING_STEPS
    rows, ablations = _cifar_defenses(steps=steps, alpha=2.5 * _EPS / steps)
    network = "small VGG (quick stand-in for VGG-16)"
    return DefenseSettings(
        dataset="cifar10", eps=_EPS, network=network, train=QUICK_NATURAL, robust_train=QUICK_ROBUST,
        wide_network=network, wide_train=None, methods=rows, ablations=ablations,
        # Table 4.1 is about the gap between fitting the training set and the test set, so its
        # quick runs fit a small set for many epochs (without augmentation) instead of the large
        # set for few.
        fixed_eps_train=(0.01, 0.02, 0.03), fixed_eps_test=0.01,
        fixed_eps_config=replace(QUICK_ROBUST, epochs=20, train_subset=1000, augment=False), n_fixed_eps=200,
        columns=AttackColumns(eps=_EPS, n_eval=300, deepfool=AttackSpec(DeepFool, norm="linf", max_iter=30),
                              pgd_steps=20, restarts=3, restart_steps=40,
                              autoattack=_STANDARD_AUTOATTACK.replace(n_target_classes=3, n_queries=1000)),
        n_transfer=300, landscape_points=21, landscape_span=2 * _EPS, landscape_examples=8,
        masking_eps=tuple(e / 255 for e in (1, 2, 4, 8, 16, 32, 64, 128)), masking_steps=20,
        n_masking=200,
        note=f"small VGG on {QUICK_NATURAL.train_subset:,} CIFAR-10 training images: natural "
             f"training {QUICK_NATURAL.epochs} epochs, defended models {QUICK_ROBUST.epochs} epochs "
             f"with {steps} PGD steps in training; 300 test images",
    )


def _quick_mnist() -> DefenseSettings:
    quick = _quick_cifar()
    rows, ablations = _mnist_defenses()
    mnist = TrainConfig(model="cw_mnist", dataset="mnist", epochs=4, batch_size=128, optimizer="adam", lr=2e-3,
                        schedule="cosine", train_subset=10_000, seed=0)
    return replace(
        quick, dataset="mnist", eps=0.3, network="C&W MNIST CNN", train=mnist, robust_train=mnist,
        wide_network="C&W MNIST CNN",
        methods=rows, ablations=ablations,
        fixed_eps_train=(0.1, 0.2, 0.3), fixed_eps_test=0.1,
        fixed_eps_config=replace(mnist, epochs=20, train_subset=1000),
        columns=replace(quick.columns, eps=0.3, autoattack=quick.columns.autoattack.replace(eps=0.3)),
        landscape_span=0.6, masking_eps=(0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.75),
        note="CIFAR-10 is not on disk: the C&W MNIST CNN on 10,000 MNIST images at eps = 0.3",
    )


def _smoke(dataset: str) -> DefenseSettings:
    quick = _quick_cifar() if dataset == "cifar10" else _quick_mnist()
    columns = quick.columns
    return replace(
        quick, train=replace(quick.train, epochs=1, train_subset=256),
        robust_train=replace(quick.robust_train, epochs=1, train_subset=256),
        fixed_eps_train=quick.fixed_eps_train[:2], fixed_eps_config=replace(quick.train, epochs=1, train_subset=256),
        n_fixed_eps=32,
        columns=replace(columns, n_eval=32, deepfool=columns.deepfool.replace(max_iter=5), pgd_steps=3,
                        restarts=2, restart_steps=3,
                        autoattack=AttackSpec(AutoAttack, eps=columns.eps, version="standard", steps=5,
                                              n_target_classes=1, n_queries=20)),
        n_transfer=32, landscape_points=5, landscape_examples=2, masking_steps=3, n_masking=32,
        masking_eps=quick.masking_eps[2::2],
        note="smoke test: one epoch on 256 images of "
             + ("CIFAR-10" if dataset == "cifar10" else "MNIST at eps = 0.3 (CIFAR-10 is not on disk)"),
    )


def defenses(profile: str, data_root: str | Path | None = None) -> DefenseSettings:
    """Settings of Chapter 4 at ``profile``; below ``paper``, CIFAR-10 if it is on disk, else MNIST."""
    profile = check_profile(profile)
    if profile == "paper":
        return _paper()
    from ..data.loading import (
        load_if_present,  # reads nothing unless the files are there
    )

    dataset = "cifar10" if load_if_present("cifar10", "test", data_root) is not None else "mnist"
    if profile == "smoke":
        return _smoke(dataset)
    return _quick_cifar() if dataset == "cifar10" else _quick_mnist()


def cifar10_defenses(profile: str, chapter: str, data_root: str | Path | None = None) -> DefenseSettings:
    """Chapter 4's settings at ``profile`` for a chapter that builds on its CIFAR-10 runs
    (Chapters 5 and 6); without CIFAR-10 on disk, a one-line ConfigError naming ``chapter``."""
    chapter4 = defenses(profile, data_root)
    require(chapter4.dataset == "cifar10", f"{chapter} needs CIFAR-10: put cifar-10-batches-py in the data "
                                           "directory (see the README, Data)")
    return chapter4
