"""The independent attack columns of Table 4.2 (thesis §4.2.4.2).

Each column of Table 4.2 (DeepFool, PGD-k, C&W-k, 20-restart PGD-k and C&W-k, and the book's
added AutoAttack column) is the robust accuracy under that attack alone, at the L∞ budget
eps = 8/255: :func:`defense_report` computes one :func:`~advrobust.robustness.accuracy.robust_accuracy`
per column.

DeepFool is a minimal-distortion attack with no budget. Its column counts an example as robust
when DeepFool fails or needs a perturbation larger than the budget (L∞ norm > eps), which is how a
minimisation attack enters a table at fixed eps; :class:`WithinBudget` implements that reading.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import Tensor, nn

from ..attacks.base import Attack, BudgetedAttack, rows
from ..attacks.threat import L2Ball, LinfBall, ThreatModel
from ..errors import require
from .accuracy import CLEAN, clean_accuracy, predict, robust_accuracy


class WithinBudget(BudgetedAttack):
    """A minimal-distortion attack read at a fixed budget: its result where it lies inside the
    eps-ball, the clean input elsewhere.

    Args:
        attack: the minimisation attack (e.g. :class:`~advrobust.attacks.DeepFool`).
        eps: the budget. Default 8/255.
        norm: ``"linf"`` or ``"l2"``; the distance the budget is measured in. Default ``"linf"``.

    Queries: those of ``attack``. Nothing is projected: a perturbation over budget is rejected.
    """

    name = "within_budget"

    def __init__(self, attack: Attack, *, eps: float = 8 / 255, norm: str = "linf") -> None:
        require(norm in ("linf", "l2"), f"norm must be one of linf, l2, got {norm!r}")
        threat: ThreatModel = LinfBall(eps) if norm == "linf" else L2Ball(eps)
        super().__init__(attack.model, threat=threat, bounds=attack.bounds)
        self.attack = attack

    def _perturb(self, x0: Tensor, labels: Tensor, target: Tensor | None) -> tuple[Tensor, Tensor]:
        result = self.attack.run(x0, labels, target)
        inside = self.threat.distance(result.x_adv, x0) <= self.eps
        return torch.where(rows(inside, x0), result.x_adv, x0), result.queries


def defense_report(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    attacks: Mapping[str, BudgetedAttack],
    *,
    batch_size: int = 256,
) -> dict[str, float]:
    """One row of Table 4.2: ``{"clean": accuracy, column: robust accuracy, ...}``.

    Every column is its own :func:`~advrobust.robustness.accuracy.robust_accuracy` run (restarts inside
    an attack are its own worst case; columns are not combined). Each attack must have a budget:
    wrap a minimisation attack in :class:`WithinBudget`.
    """
    return defense_columns(model, x, y, attacks, batch_size=batch_size)[0]


def defense_columns(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    attacks: Mapping[str, BudgetedAttack],
    *,
    batch_size: int = 256,
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """:func:`defense_report`'s row and, per column, which examples stayed correct ((N,) bool:
    ``"clean"``, correctly classified; an attack's column, robust to it), so that two models' columns
    can be compared example by example."""
    for name, attack in attacks.items():
        require(
            isinstance(attack, BudgetedAttack),
            f"column {name!r} has no budget; wrap it: WithinBudget({type(attack).__name__}(...))",
        )
    row = {CLEAN: clean_accuracy(model, x, y, batch_size=batch_size)}
    examples = {CLEAN: (predict(model, x, batch_size=batch_size) == y.to(x.device)).cpu().numpy()}
    for name, attack in attacks.items():
        report = robust_accuracy(model, x, y, {name: attack}, batch_size=batch_size)
        row[name], examples[name] = report.robust_accuracy, report.robust
    return row, examples
