"""C&W L∞ as the thesis evaluates it: L∞ PGD on the C&W margin loss, Eq. (2.6)/(2.7)."""
from __future__ import annotations

from typing import Any

from torch import nn

from ..registry import register
from .pgd import PGD


@register("attack", "cw_linf")
class CWLinf(PGD):
    r"""C&W L∞: L∞ PGD on the loss :math:`\max\{Z_{y_0} - \max_{i \ne y_0} Z_i, -\kappa\}`.

    Thesis §2.2: "eq (2.5) can also be turned into a constrained optimization problem, which can
    then be solved by projected gradient descent". Same arguments and defaults as
    :class:`~advrobust.attacks.pgd.PGD` (eps 8/255, alpha 2/255, 10 steps, random start), with
    the loss fixed to ``"cw"`` and confidence ``kappa`` (default 0).

    Deviations: Carlini & Wagner's own L∞ attack (2017) iterates a penalised problem with a
    shrinking threshold tau; following the thesis we use the projected form, as is common in the
    adversarial-training literature (e.g. Madry et al. 2018, Zhang et al. 2019).
    """

    name = "cw_linf"

    def __init__(self, model: nn.Module, *, kappa: float = 0.0, **pgd: Any) -> None:
        super().__init__(model, loss="cw", kappa=kappa, **pgd)
