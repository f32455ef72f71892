"""Free adversarial training (Shafahi et al. 2019, "SNG19"), the baseline of Table 5.5 and §5.3.4.12.

Free AT gets its adversarial examples "for free" from the backward pass that trains the model:

* x~ = clip_bounds(x + δ), where δ has the shape of one training batch, starts at 0 and persists
  across batches (it is a learned parameter of the defense, saved in checkpoints);
* after each backward pass of the loss on x~, the model takes its step and δ takes a sign step of
  size ε, projected on the L∞ ball: δ <- clip(δ + ε sign(∇_δ L), -ε, ε) (:class:`SignAscent`);
* every batch is replayed m = ``replays`` times (:attr:`FreeAT.replays`), each replay one
  forward/backward pass, one model step and one δ step.

This is Shafahi et al.'s Algorithm 1 as their official code runs it (mahyarnajibi/
FreeAdversarialTraining: x + δ clamped to [0, 1], the gradient of that clamp, step = ε). One epoch
here is one pass over the data with m replays per batch, so m times the optimiser steps of a
natural epoch; Shafahi et al. divide the number of epochs by m to match natural training's steps,
while Table 5.5 times "10 epochs" of Free AT with m = 8 as here. The trainer drops the last
incomplete batch, so δ always fits the batch (the official code slices it for a smaller one).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..errors import require
from ..registry import register
from .base import Defense, State, VicinalBatch, class_count, one_hot
from .vicinal_form import IDENTITY, VicinalForm


@register("defense", "free_at")
@dataclass(frozen=True)
class FreeAT(Defense):
    """Free AT with the CIFAR-10 settings of Shafahi et al. (ε = 8/255, m = 8)."""

    eps: float = 8 / 255  # ε: the L∞ radius of δ and the size of its sign step
    replays: int = 8  # m: how many times each batch is replayed
    bounds: tuple[float, float] = (0.0, 1.0)  # the input domain x~ stays in

    name = "free_at"

    def __post_init__(self) -> None:
        require(self.eps >= 0 and self.replays >= 1,
                f"need eps >= 0 and replays >= 1; got {self.eps}, {self.replays}")

    def learned_parameters(
        self, model: nn.Module, device: torch.device, batch_shape: tuple[int, ...]
    ) -> State:
        """δ = 0 of the training batch's shape."""
        return {"delta": torch.zeros(batch_shape, device=device, requires_grad=True)}

    def parameter_optimizer(self, parameters: list[Tensor]) -> torch.optim.Optimizer:
        return SignAscent(parameters, lr=self.eps, radius=self.eps)

    def vicinal(self, model: nn.Module, x: Tensor, y: Tensor, state: State) -> VicinalBatch:
        return VicinalBatch(x=(x + state["delta"]).clamp(*self.bounds), y=one_hot(y, class_count(model)))

    def summary(self, state: State) -> dict[str, float]:
        """The mean |δ| (the perturbation's progress; at most ε)."""
        return {"delta_abs_mean": float(state["delta"].detach().abs().mean())}

    def vicinal_form(self) -> VicinalForm:
        return VicinalForm(
            "Free adversarial training", "SNG19", IDENTITY, IDENTITY,
            "x + δ, δ ← clip_ε(δ + ε·sign(∇_δ))", "y", attack_specific=True,
        )


class SignAscent(torch.optim.Optimizer):
    """Projected sign ascent: p <- clip(p + lr · sign(∇_p), -radius, radius), per parameter.

    Free AT's perturbation update; like ``SGD(maximize=True)`` it ascends the loss. Parameters
    without a gradient are left alone. It takes no closure: the step uses the gradient already
    computed by the trainer's backward pass.
    """

    def __init__(self, params: Iterable[Tensor], lr: float, radius: float) -> None:
        super().__init__(params, {"lr": lr, "radius": radius})

    @torch.no_grad()
    def step(self, closure: None = None) -> None:  # type: ignore[override]  # no closure: one gradient
        for group in self.param_groups:
            for parameter in group["params"]:
                if parameter.grad is not None:
                    parameter.add_(parameter.grad.sign(), alpha=group["lr"])
                    parameter.clamp_(-group["radius"], group["radius"])
