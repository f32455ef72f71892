"""Settings of the hard-label experiments of §2.5 (Table 2.2, Figures 2.5-2.9) per dataset.

The thesis attacks 100 correctly classified test images per dataset with budgets of 4k/8k/14k
(MNIST) and 4k/8k/12k (CIFAR-10) for Table 2.2 and curves up to 40k, Q = 200 for Sign-OPT and a
Q sweep on CIFAR-10 (Figure 2.5). ``quick`` keeps MNIST at 30 images and 14k queries (the
attacks are query-bound: about 5,000 MNIST queries per second on 2 CPU cores) and runs the side
experiments (SVM-OPT, ZO-SignSGD, the Q sweep, targeted attacks) on 10 of them; CIFAR-10 gets
10 images and 4k queries. Table 2.2's ImageNet rows (torchvision's pretrained ResNet-50, budgets
4k/30k/160k, SR(ε = 3.0)) run at ``paper`` only (:func:`imagenet_hard_label`).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..attacks.spec import AttackSpec
from ..blackbox.base import BlackBoxAttack
from ..blackbox.boundary import BoundaryAttack
from ..blackbox.guessing_smart import GuessingSmart
from ..blackbox.opt import OPTAttack
from ..blackbox.sign_opt import SVMOPT, SignOPT, ZOSignSGD
from ..errors import ConfigError
from ..training import TrainConfig
from .base import check_profile
from .whitebox import whitebox

# Table 2.2's rows, under the thesis's names.
TABLE_2_2: dict[str, type[BlackBoxAttack]] = {
    "Sign-OPT attack": SignOPT,
    "OPT attack": OPTAttack,
    "Boundary attack": BoundaryAttack,
    "Guessing Smart": GuessingSmart,
}
# Table 2.2's attacks less Guessing Smart: what CIFAR-10 runs below the paper profile.
WITHOUT_GUESSING_SMART: dict[str, type[BlackBoxAttack]] = {
    name: attack for name, attack in TABLE_2_2.items() if attack is not GuessingSmart
}


@dataclass(frozen=True)
class HardLabelSettings:
    """One dataset's hard-label experiments. Every attack runs with :attr:`seed` and sees the model
    through an oracle that refuses queries beyond its ``budget`` (``max_budget`` or ``side_budget``)."""

    dataset: str  # "mnist", "cifar10" or "imagenet"
    train: TrainConfig  # the victim CNN (the C&W architecture of §2.5); with ``pretrained``, only the
    # architecture whose forward passes price the queries (``plan --estimate``), never trained
    n_test: int | None  # test images for the clean accuracy (None: all)
    n_examples: int  # correctly classified images attacked (thesis: 100)
    budgets: tuple[int, ...]  # Table 2.2's query budgets
    max_budget: int  # the curves run to this many queries
    sr_threshold: float  # Table 2.2's success-rate threshold ε (MNIST 1.5, CIFAR-10 0.5)
    attacks: dict[str, type[BlackBoxAttack]]  # Table 2.2 / Figure 2.6: the thesis's name -> attack
    n_side: int  # images for SVM-OPT, ZO-SignSGD, the Q sweep and the targeted attacks
    side_budget: int  # their query budget
    q_values: tuple[int, ...]  # extra Q values of the Sign-OPT sweep (Q = 200 is the main run)
    n_starts: int  # target-class training images tried as targeted starts (thesis: 100)
    n_start_pool: int = 5000  # training images (a seeded subset) searched for those starts
    targeted_threshold: float = 2.0  # the success threshold of Figure 2.8's targeted MNIST panel
    seed: int = 0  # seeds every attack's private generator
    pretrained: str | None = None  # torchvision's ImageNet network attacked instead of ``train``'s
    # (its weights from the user's torch hub cache: :func:`~advrobust.training.pretrained.pretrained_imagenet_model`)

    def untargeted_specs(self) -> dict[str, AttackSpec[BlackBoxAttack]]:
        """Table 2.2 / Figure 2.6: each attack at ``max_budget`` queries per image."""
        return {name: self._spec(attack, self.max_budget) for name, attack in self.attacks.items()}

    def svm_specs(self) -> dict[str, AttackSpec[BlackBoxAttack]]:
        """Figure 2.5 (first two panels): Sign-OPT (Algorithm 4) against SVM-OPT (Algorithm 5)."""
        return {"Sign-OPT attack": self._spec(SignOPT, self.side_budget),
                "SVM-OPT": self._spec(SVMOPT, self.side_budget)}

    def zo_specs(self) -> dict[str, AttackSpec[BlackBoxAttack]]:
        """Figure 2.7b: Sign-OPT against ZO-SignSGD with and without the single-query oracle (2.17)."""
        return {
            "Sign-OPT attack": self._spec(SignOPT, self.side_budget),
            "ZO-SignSGD with SQO": self._spec(ZOSignSGD, self.side_budget, single_query=True),
            "ZO-SignSGD without SQO": self._spec(ZOSignSGD, self.side_budget, single_query=False),
        }

    def q_specs(self) -> dict[str, AttackSpec[BlackBoxAttack]]:
        """Figure 2.5 (third panel): Sign-OPT with Q directions per gradient estimate (2.18).

        Q = 200 is Sign-OPT's default and is left out of its settings, so that its cached run is
        the side runs' Sign-OPT."""
        return {f"Q={q}": self._spec(SignOPT, self.side_budget) if q == 200 else
                self._spec(SignOPT, self.side_budget, q=q) for q in sorted({*self.q_values, 200})}

    def targeted_specs(self) -> dict[str, AttackSpec[BlackBoxAttack]]:
        """Figure 2.7a: targeted attacks at ``side_budget``, started from target-class training
        images (§2.5.0.2)."""
        attacks: dict[str, type[BlackBoxAttack]] = {**WITHOUT_GUESSING_SMART, "SVM-OPT": SVMOPT}
        return {name: self._spec(attack, self.side_budget) for name, attack in attacks.items()}

    def _spec(self, attack: type[BlackBoxAttack], budget: int, **settings: object) -> AttackSpec[BlackBoxAttack]:
        return AttackSpec(attack, budget=budget, seed=self.seed, **settings)


_CIFAR_QUICK_TRAIN = TrainConfig(
    model="cw_cifar10", dataset="cifar10", epochs=3, batch_size=128, optimizer="adam", lr=1e-3,
    schedule="cosine", train_subset=20_000, seed=0,
)
# CW17's recipe for CIFAR-10 (train_models.py): SGD, lr 0.01, momentum 0.9, Nesterov, 50 epochs.
_CIFAR_PAPER_TRAIN = TrainConfig(
    model="cw_cifar10", dataset="cifar10", epochs=50, batch_size=128, optimizer="sgd", lr=0.01,
    momentum=0.9, nesterov=True, seed=0,
)

# §2.5 attacks torchvision's pretrained ResNet-50 on ImageNet; its queries are priced by the forward
# pass of the same (untrained) architecture. Never trained: the settings name it ``train`` only for
# ``plan --estimate``.
_RESNET50_QUERIES = TrainConfig(model="resnet50_imagenet", dataset="imagenet", epochs=1, batch_size=256)

_SETTINGS = {
    ("smoke", "mnist"): HardLabelSettings(
        "mnist", whitebox("smoke").train, n_test=500, n_examples=3, budgets=(300, 600), max_budget=600,
        sr_threshold=1.5, attacks=TABLE_2_2, n_side=2, side_budget=400, q_values=(20,), n_starts=3,
    ),
    ("smoke", "cifar10"): HardLabelSettings(
        "cifar10",
        TrainConfig(model="cw_cifar10", dataset="cifar10", epochs=1, batch_size=128, optimizer="adam",
                    lr=1e-3, train_subset=512, seed=0),
        n_test=200, n_examples=2, budgets=(200, 400), max_budget=400, sr_threshold=0.5,
        attacks=WITHOUT_GUESSING_SMART, n_side=0, side_budget=0, q_values=(),
        n_starts=0,
    ),
    ("quick", "mnist"): HardLabelSettings(
        "mnist", whitebox("quick").train, n_test=None, n_examples=30, budgets=(4000, 8000, 14_000),
        max_budget=14_000, sr_threshold=1.5, attacks=TABLE_2_2, n_side=10, side_budget=8000,
        q_values=(20, 1000), n_starts=20,
    ),
    ("quick", "cifar10"): HardLabelSettings(
        "cifar10", _CIFAR_QUICK_TRAIN, n_test=2000, n_examples=10, budgets=(2000, 4000), max_budget=4000,
        sr_threshold=0.5, attacks=WITHOUT_GUESSING_SMART, n_side=0,
        side_budget=0, q_values=(), n_starts=0,
    ),
    ("paper", "mnist"): HardLabelSettings(
        "mnist", whitebox("paper").train, n_test=None, n_examples=100, budgets=(4000, 8000, 14_000),
        max_budget=40_000, sr_threshold=1.5, attacks=TABLE_2_2, n_side=100, side_budget=20_000,
        q_values=(), n_starts=100,
    ),
    ("paper", "cifar10"): HardLabelSettings(
        "cifar10", _CIFAR_PAPER_TRAIN, n_test=None, n_examples=100, budgets=(4000, 8000, 12_000),
        max_budget=40_000, sr_threshold=0.5, attacks=TABLE_2_2, n_side=100, side_budget=20_000,
        q_values=(10, 20, 50, 100, 400, 800, 1000), n_starts=100,
    ),
    # Table 2.2's ImageNet columns: 100 correctly classified validation images (chosen among 1,000
    # drawn ones: the 50,000 do not fit in memory), budgets 4k/30k/160k, SR(ε = 3.0); no side runs.
    ("paper", "imagenet"): HardLabelSettings(
        "imagenet", _RESNET50_QUERIES, n_test=1000, n_examples=100, budgets=(4000, 30_000, 160_000),
        max_budget=160_000, sr_threshold=3.0, attacks=TABLE_2_2, n_side=0, side_budget=0, q_values=(),
        n_starts=0, pretrained="resnet50",
    ),
}


def hard_label(profile: str, dataset: str) -> HardLabelSettings:
    """Settings of the §2.5 experiments on ``dataset`` ("mnist", "cifar10", or "imagenet" at paper)
    at ``profile``."""
    key = (check_profile(profile), dataset)
    if key not in _SETTINGS:
        raise ConfigError(f"no hard-label settings for dataset {dataset!r} at {profile!r}; available: "
                          "mnist, cifar10, and imagenet at paper")
    return _SETTINGS[key]


def imagenet_hard_label(profile: str) -> HardLabelSettings | None:
    """Settings of Table 2.2's ImageNet rows at ``profile``: paper only (None below: not run)."""
    return _SETTINGS.get((check_profile(profile), "imagenet"))
