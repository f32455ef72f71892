"""Robust accuracy against a distance budget from one minimum-norm attack: Figure 5.3 (thesis
§5.3.4.2, C&W-L2 "with 10 binary search steps and 1000 iterations per step").

A minimum-norm attack (C&W-L2 with its binary search over c, DeepFool) is run once and gives, per
example, the smallest adversarial distance it found. The example's *minimal distance* is

* 0 when the model misclassifies it without attack,
* the distance of the attack's result when the attack broke it,
* +inf when the attack failed,

and the example is robust at budget r when its minimal distance is larger than r. The whole curve
comes from one run: at r = 0 it is the clean accuracy, as r grows it falls to the share of
correct examples the attack failed on.

Departure: the thesis does not state Figure 5.3's x-axis. Its code runs C&W at a fixed constant c
and may plot against c; we run the real C&W-L2 with its binary search and plot against the L2
budget, which is what "robust accuracy under C&W-L2" means at a budget.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import torch
from torch import Tensor

from ..attacks.base import MinimizationAttack
from ..attacks.result import AttackResult
from ..errors import require
from .accuracy import correctly_classified, model_device


@dataclass(frozen=True)
class BudgetCurve:
    """``curve``: columns ``budget`` and ``robust_accuracy``, one row per budget (ascending);
    ``distances``: (N,) float64 minimal distance of each example (0: clean error, inf: the attack
    failed)."""

    curve: pd.DataFrame
    distances: Tensor


def minimal_distances(result: AttackResult, distance: str = "l2") -> Tensor:
    """(N,) float64 minimal distance of each example of ``result`` (module docstring): the
    attack's ``distance`` where it broke a correct example, +inf where it failed on one, and 0
    where the clean input is already misclassified."""
    found = result.distance(distance).double()
    missed = torch.where(result.original_correct, math.inf, 0.0).to(found)
    return torch.where(result.broken, found, missed)


def accuracy_at_budgets(distances: Tensor, budgets: Sequence[float]) -> pd.DataFrame:
    """Robust accuracy at each budget r: the share of ``distances`` larger than r, an infinite
    distance (the attack failed) counting as larger than every budget, r = inf included. Columns
    ``budget`` and ``robust_accuracy``, budgets sorted ascending (the curve never rises)."""
    require(len(budgets) > 0 and min(budgets) >= 0, f"budgets must be >= 0, got {list(budgets)}")
    require(distances.numel() > 0, "need at least one example")
    r = torch.tensor(sorted(map(float, budgets)), dtype=torch.float64, device=distances.device)
    d = distances.double()[None, :]
    robust = ((d > r[:, None]) | d.isinf()).double().mean(dim=1)
    return pd.DataFrame({"budget": r.tolist(), "robust_accuracy": robust.tolist()})


def budget_curve(
    attack: MinimizationAttack,
    x: Tensor,
    y: Tensor,
    budgets: Sequence[float],
    *,
    distance: str = "l2",
    batch_size: int = 256,
) -> BudgetCurve:
    """Robust accuracy of ``attack.model`` on (``x``, ``y``) at each of ``budgets`` under the
    minimum-norm ``attack``, run once on the correctly classified examples in batches of
    ``batch_size`` on the model's device (``x`` may stay on the CPU).

    ``distance`` names the distance of the budget (``"l2"`` for C&W-L2; any distance of
    :class:`~advrobust.attacks.AttackResult`).
    """
    require(
        isinstance(attack, MinimizationAttack),
        f"{type(attack).__name__} has a fixed budget; a budget curve needs a minimum-norm attack",
    )
    require(batch_size >= 1, f"batch_size must be >= 1, got {batch_size}")
    require(y.shape == (x.shape[0],), f"y must have shape ({x.shape[0]},), got {tuple(y.shape)}")
    device = model_device(attack.model)
    distances = torch.zeros(x.shape[0], dtype=torch.float64, device=x.device)
    for chunk in correctly_classified(attack.model, x, y).split(batch_size):
        result = attack.run(x[chunk].to(device), y[chunk].to(device))
        distances[chunk] = minimal_distances(result, distance).to(x.device)
    return BudgetCurve(accuracy_at_budgets(distances, budgets), distances)
