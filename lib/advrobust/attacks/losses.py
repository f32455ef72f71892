"""Attack losses on logits Z(x): cross-entropy and the C&W margin loss, Eqs. (2.6)-(2.7).

All functions work per example: ``logits`` is (N, K), labels/targets are (N,) int64, and the
result is (N,), so summing it over the batch never couples examples.
"""
from __future__ import annotations

from typing import Literal

import torch.nn.functional as F
from torch import Tensor

LossName = Literal["ce", "cw"]
LOSSES: tuple[str, ...] = ("ce", "cw")


def cross_entropy(logits: Tensor, labels: Tensor) -> Tensor:
    """(N,) cross-entropy of the softmax of ``logits`` against ``labels``."""
    return F.cross_entropy(logits, labels, reduction="none")


def cw_margin(logits: Tensor, classes: Tensor, *, targeted: bool = False) -> Tensor:
    """(N,) logit margin that is negative exactly when the attack goal is reached.

    Untargeted (``classes`` = true labels y0): :math:`Z_{y_0} - \\max_{i \\ne y_0} Z_i`.
    Targeted (``classes`` = targets t): :math:`\\max_{i \\ne t} Z_i - Z_t`.
    The competing maximum masks the excluded class with -inf (a one-hot product would be wrong
    for negative logits).
    """
    own = logits.gather(1, classes[:, None]).squeeze(1)
    best_other = logits.scatter(1, classes[:, None], float("-inf")).amax(dim=1)
    return best_other - own if targeted else own - best_other


def cw_loss(
    logits: Tensor, classes: Tensor, *, kappa: float = 0.0, targeted: bool = False
) -> Tensor:
    """C&W hinge loss L(Z(x)) = max{margin, -kappa}: Eq. (2.6) untargeted, Eq. (2.7) targeted.

    Minimising it pushes the margin of :func:`cw_margin` below ``-kappa`` (confidence kappa) and
    then stops pulling.

    Deviations: the thesis prints Eq. (2.7) as
    :math:`\\max\\{Z_t - \\max_{i \\ne t} Z_i, -\\kappa\\}`, whose minimisation would push away
    from t; we use the form of Carlini & Wagner (2017),
    :math:`\\max\\{\\max_{i \\ne t} Z_i - Z_t, -\\kappa\\}`. In Eq. (2.6), y0 is the true label
    (equal to the clean prediction on the originally correct examples that are attacked).
    """
    return cw_margin(logits, classes, targeted=targeted).clamp(min=-kappa)


def attack_objective(
    logits: Tensor,
    labels: Tensor,
    target: Tensor | None,
    *,
    loss: LossName = "ce",
    kappa: float = 0.0,
) -> Tensor:
    """(N,) the quantity a budgeted attack ascends; larger means closer to the attack goal.

    ``"ce"``: cross-entropy to the label (untargeted) or minus cross-entropy to the target.
    ``"cw"``: minus :func:`cw_loss` (Eq. (2.6) untargeted, (2.7) targeted), confidence ``kappa``.
    """
    if loss == "ce":
        return cross_entropy(logits, labels) if target is None else -cross_entropy(logits, target)
    classes = labels if target is None else target
    return -cw_loss(logits, classes, kappa=kappa, targeted=target is not None)
