"""Settings of the soft-label (score-based) black-box attacks of §2.3: ZOO and NES on the MNIST CNN.

The thesis describes ZOO and NES (§2.3, Algorithm 1) but runs no experiment with them, so there
is no thesis scale to reproduce. ``paper`` runs the official codes' own MNIST settings on the
thesis's 100 images: ZOO-ADAM with 128 coordinates per iteration, learning rate 0.01, c = 0.5 and
3000 iterations (github.com/huanzhang12/ZOO-Attack, ``test_all.py``), i.e. 3000 × 257 queries;
NES with σ = 1e-3, 50 antithetic pairs and step 0.01 (github.com/labsix/limited-blackbox-attacks)
at MNIST's customary ε = 0.3. ``quick`` attacks 10 images with 10k ZOO queries each, far fewer
than ZOO needs at its own learning rate, so its step is raised to 0.1 (see the chapter).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..attacks.spec import AttackSpec
from ..blackbox.nes import NES
from ..blackbox.zoo import ZOO
from ..training import TrainConfig
from .base import check_profile
from .whitebox import whitebox


@dataclass(frozen=True)
class ScoreBasedSettings:
    """ZOO (L2) and NES (L∞) against the C&W MNIST CNN of the white-box page."""

    train: TrainConfig  # the victim; the same config as ``whitebox(profile).train`` (cached model reused)
    n_test: int | None  # test images the attacked ones are drawn from (None: all 10,000)
    n_examples: int  # correctly classified images attacked (thesis's hard-label experiments: 100)
    zoo_budget: int  # queries per image for ZOO
    zoo_coords: int  # coordinates per ZOO iteration (official: 128)
    zoo_lr: float  # ZOO's ADAM step size (official: 0.01)
    zoo_const: float  # c of (2.5) (official, without binary search: 0.5)
    zoo_binary_steps: int  # rounds of the search over c (official: 1)
    zoo_steps: int  # iterations per round (official on MNIST: 3000)
    nes_budget: int  # queries per image for NES
    nes_eps: float  # L∞ radius (MNIST's customary 0.3)
    nes_lr: float  # sign-step size (official: 0.01)
    nes_samples: int  # antithetic pairs per estimate
    nes_sigma: float = 1e-3  # search variance (official: 1e-3)
    l2_threshold: float = 1.5  # ZOO's success threshold in L2 (Table 2.2's on MNIST)
    seed: int = 0  # seeds both attacks' private generators

    @property
    def zoo(self) -> AttackSpec[ZOO]:
        """ZOO-ADAM (§2.3): the C&W objective (2.5) by coordinate-wise finite differences, with
        at most ``zoo_budget`` queries per image."""
        return AttackSpec(
            ZOO, budget=self.zoo_budget, coords=self.zoo_coords, lr=self.zoo_lr, initial_const=self.zoo_const,
            binary_search_steps=self.zoo_binary_steps, steps=self.zoo_steps, seed=self.seed,
        )

    @property
    def nes(self) -> AttackSpec[NES]:
        """NES (Algorithm 1) inside L∞ PGD at radius ``nes_eps``, with at most ``nes_budget`` queries
        per image."""
        return AttackSpec(
            NES, budget=self.nes_budget, eps=self.nes_eps, lr=self.nes_lr, samples=self.nes_samples,
            sigma=self.nes_sigma, seed=self.seed,
        )


_SETTINGS = {
    "smoke": ScoreBasedSettings(
        train=whitebox("smoke").train, n_test=500, n_examples=3,
        zoo_budget=1500, zoo_coords=128, zoo_lr=0.1, zoo_const=1.0, zoo_binary_steps=1, zoo_steps=3000,
        nes_budget=1000, nes_eps=0.3, nes_lr=0.05, nes_samples=20,
    ),
    "quick": ScoreBasedSettings(
        train=whitebox("quick").train, n_test=None, n_examples=10,
        zoo_budget=10_000, zoo_coords=128, zoo_lr=0.1, zoo_const=1.0, zoo_binary_steps=1, zoo_steps=3000,
        nes_budget=5000, nes_eps=0.3, nes_lr=0.02, nes_samples=50,
    ),
    "paper": ScoreBasedSettings(
        train=whitebox("paper").train, n_test=None, n_examples=100,
        zoo_budget=3000 * 257, zoo_coords=128, zoo_lr=0.01, zoo_const=0.5, zoo_binary_steps=1, zoo_steps=3000,
        nes_budget=10_000, nes_eps=0.3, nes_lr=0.01, nes_samples=50,
    ),
}


def score_based(profile: str) -> ScoreBasedSettings:
    """Settings of the §2.3 experiments at ``profile``."""
    return _SETTINGS[check_profile(profile)]
