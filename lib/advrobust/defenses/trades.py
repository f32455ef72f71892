"""TRADES (Zhang et al. 2019, "ZYJ19"): the fifth row of Table 5.1.

Objective, per example (Zhang et al., Eq. (5)):

    CE(f(x), y) + beta · KL( f(x) || f(x~) ),   x~ = argmax_{||x' - x||_inf <= eps} KL( f(x) || f(x') ).

Table 5.1 reads it as label mapping h(y~) = (1 - alpha) y + alpha f(x~); that reading is a
description of the family, not the exact objective, so :meth:`TRADES.per_example_loss` returns
the objective above verbatim (Zhang et al.'s code averages the KL over the batch, as here).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..attacks.base import eval_mode
from ..errors import require
from ..registry import register
from .base import Defense, class_count, State, VicinalBatch, one_hot
from .inner import linf_ascent
from .vicinal_form import IDENTITY, VicinalForm


@register("defense", "trades")
@dataclass(frozen=True)
class TRADES(Defense):
    """x~ from ``steps`` sign-gradient steps on KL(f(x) || f(x~)) started at x + 0.001·N(0, I).

    Defaults are the official CIFAR-10 settings (eps 0.031, step 0.007, 10 steps, beta 6), which
    the thesis used ("we train TRADES with the official implementation").
    """

    eps: float = 0.031
    alpha: float = 0.007
    steps: int = 10
    beta: float = 6.0
    bounds: tuple[float, float] = (0.0, 1.0)  # the input domain x~ stays in

    name = "trades"

    def __post_init__(self) -> None:
        require(self.eps >= 0 and self.alpha > 0 and self.steps >= 1 and self.beta >= 0,
                f"need eps >= 0, alpha > 0, steps >= 1, beta >= 0; got {self.eps}, "
                f"{self.alpha}, {self.steps}, {self.beta}")

    def vicinal(self, model: nn.Module, x: Tensor, y: Tensor, state: State) -> VicinalBatch:
        with eval_mode(model), torch.no_grad():
            clean_log_probs = F.log_softmax(model(x).float(), dim=1)
        x_tilde = linf_ascent(
            model, x, lambda logits: kl_divergence(clean_log_probs, logits),
            eps=self.eps, alpha=self.alpha, steps=self.steps, start="normal", start_scale=1e-3,
            bounds=self.bounds,
        )
        return VicinalBatch(x=x_tilde, y=one_hot(y, class_count(model)))

    def per_example_loss(
        self, model: nn.Module, x: Tensor, y: Tensor, batch: VicinalBatch
    ) -> tuple[Tensor, Tensor]:
        """CE(f(x), y) + beta · KL(f(x) || f(x~)) per example, and the logits on x~."""
        clean_logits = model(x)
        adversarial_logits = model(batch.x)
        clean_log_probs = F.log_softmax(clean_logits.float(), dim=1)
        natural = -(batch.y * clean_log_probs).sum(dim=1)
        return natural + self.beta * kl_divergence(clean_log_probs, adversarial_logits), adversarial_logits

    def vicinal_form(self) -> VicinalForm:
        """Table 5.1's reading of TRADES (see the module docstring)."""
        return VicinalForm(
            "TRADES", "ZYJ19", IDENTITY, "(1−α)y + αf(x̃)", "PGD_ε(x)", "y", attack_specific=True
        )


def kl_divergence(clean_log_probs: Tensor, logits: Tensor) -> Tensor:
    """(N,) KL(p || q) with p = exp(``clean_log_probs``) and q = softmax(``logits``)."""
    log_q = F.log_softmax(logits.float(), dim=1)
    return (clean_log_probs.exp() * (clean_log_probs - log_q)).sum(dim=1)

