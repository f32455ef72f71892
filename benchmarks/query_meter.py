"""A model wrapper that counts the queries of a peer library's attack and keeps its best adversarial.

foolbox has no query counter and adversarial-robustness-toolbox's Sign-OPT counts its own queries
loosely (reference-implementations.md), so the benchmark puts this meter between a peer and the
model. It applies our oracle's rules (:mod:`advrobust.blackbox.oracle`, thesis §2.4) from the
outside:

* every forward call must hold one row per watched image, in order (foolbox's Boundary and
  HopSkipJump query the whole batch in lock-step; ART is given one image at a time), so one call
  charges one query to each image;
* the model sees the rows clipped to [0, 1], and distances are measured on what it saw;
* among the rows of the first ``budget`` queries, the closest (L2) adversarial one per image is
  kept, which is how our oracle reads an attack "at B queries";
* with ``stop=True`` the call that would exceed the budget raises :class:`BudgetSpent` instead of
  reaching the model, which ends a foolbox attack exactly at the budget.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn


class BudgetSpent(Exception):
    """Every watched image has used its query budget."""


class QueryMeter(nn.Module):
    """Counts the forward calls on ``x0`` (N, ...) with labels ``y0`` (N,) and keeps the best adversarials.

    Args:
        model: the attacked classifier, (N, ...) inputs to (N, K) logits.
        x0: the clean images under attack.
        y0: their true labels (an untargeted attack succeeds when the top-1 label differs).
        budget: queries per image whose rows are searched for adversarial examples.
        stop: raise :class:`BudgetSpent` instead of answering beyond ``budget``.
    """

    def __init__(self, model: nn.Module, x0: Tensor, y0: Tensor, *, budget: int, stop: bool) -> None:
        super().__init__()
        self.model = model
        self.register_buffer("x0", x0.detach().clone())
        self.register_buffer("y0", y0.detach().clone())
        self.budget = budget
        self.stop = stop
        self.calls = 0
        self.best_distance = torch.full((x0.shape[0],), float("inf"), device=x0.device)
        self.best_x = x0.detach().clone()

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[0] != self.x0.shape[0]:
            raise ValueError(f"QueryMeter watches {self.x0.shape[0]} images but got a call with {x.shape[0]} rows")
        if self.stop and self.calls >= self.budget:
            raise BudgetSpent
        self.calls += 1
        x = x.clamp(0.0, 1.0)
        logits = self.model(x)
        if self.calls <= self.budget:
            self._record(x.detach(), logits.detach())
        return logits

    def _record(self, x: Tensor, logits: Tensor) -> None:
        dist = (x - self.x0).flatten(1).norm(dim=1)
        better = (logits.argmax(dim=1) != self.y0) & (dist < self.best_distance)
        self.best_distance = torch.where(better, dist, self.best_distance)
        self.best_x[better] = x[better]
