"""Natural training: empirical risk minimisation, the first row of Table 5.1."""
from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from ..registry import register
from .base import Defense, class_count, State, VicinalBatch, one_hot
from .vicinal_form import IDENTITY, VicinalForm


@register("defense", "natural")
@dataclass(frozen=True)
class Natural(Defense):
    """x~ = x, y~ = y, g = h = I: Eq. (5.4) reduces to the cross-entropy (the "Natural" baseline
    of §4.2.4)."""

    name = "natural"

    def vicinal(self, model: nn.Module, x: Tensor, y: Tensor, state: State) -> VicinalBatch:
        return VicinalBatch(x=x, y=one_hot(y, class_count(model)))

    def vicinal_form(self) -> VicinalForm:
        return VicinalForm("Natural", "", IDENTITY, IDENTITY, "x", "y", attack_specific=False)

