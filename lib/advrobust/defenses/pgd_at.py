"""PGD adversarial training (Madry et al. 2018, "MMS18"): Eq. (4.1), the fourth row of Table 5.1."""
from __future__ import annotations

from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import require
from ..registry import register
from .base import Defense, class_count, State, VicinalBatch, one_hot
from .inner import linf_ascent
from .vicinal_form import IDENTITY, VicinalForm


@register("defense", "pgd_at")
@dataclass(frozen=True)
class PGDAT(Defense):
    """x~ = PGD_eps(x): ``steps`` sign-gradient steps of size ``alpha`` on the cross-entropy from a
    uniform random start in the L∞ ball; y~ = y, g = h = I.

    Thesis §4.2.4.1: eps = 8/255 and 10 steps in training; the step 2/255 is Madry et al.'s.
    """

    eps: float = 8 / 255
    alpha: float = 2 / 255
    steps: int = 10
    random_start: bool = True
    bounds: tuple[float, float] = (0.0, 1.0)  # the input domain x~ stays in

    name = "pgd_at"

    def __post_init__(self) -> None:
        require(self.eps >= 0 and self.alpha > 0 and self.steps >= 1,
                f"need eps >= 0, alpha > 0, steps >= 1; got {self.eps}, {self.alpha}, {self.steps}")

    def vicinal(self, model: nn.Module, x: Tensor, y: Tensor, state: State) -> VicinalBatch:
        x_tilde = linf_ascent(
            model, x, lambda logits: F.cross_entropy(logits.float(), y, reduction="none"),
            eps=self.eps, alpha=self.alpha, steps=self.steps, bounds=self.bounds,
            start="uniform" if self.random_start else "zero",
        )
        return VicinalBatch(x=x_tilde, y=one_hot(y, class_count(model)))

    def vicinal_form(self) -> VicinalForm:
        return VicinalForm(
            "Adversarial training", "MMS18", IDENTITY, IDENTITY, "PGD_ε(x)", "y", attack_specific=True
        )
