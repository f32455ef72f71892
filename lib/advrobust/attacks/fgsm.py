"""Fast Gradient Sign Method, thesis §2.2 (Goodfellow et al. 2015, arXiv:1412.6572)."""
from __future__ import annotations

from torch import nn

from ..registry import register
from .losses import LossName
from .pgd import PGD


@register("attack", "fgsm")
class FGSM(PGD):
    r"""FGSM: one signed-gradient step of size eps from the clean input (thesis §2.2).

    .. math::
        x = \Pi_{B(x_0, \varepsilon)}\{x_0 + \varepsilon \cdot \mathrm{sign}(\nabla_x L(x_0))\}

    clipped to the input bounds. This is :class:`~advrobust.attacks.pgd.PGD` with one step,
    ``alpha = eps`` and no random start (the thesis's alpha >= eps gives the same point after
    the projection).

    Distance measure: L∞.

    Args:
        model: maps inputs in ``bounds`` to logits.
        eps: radius of the L∞ ball. Default 8/255.
        loss: ``"ce"`` or ``"cw"``. Default ``"ce"``.
        kappa: confidence of the ``"cw"`` loss. Default 0.
        bounds: input domain. Default (0, 1).

    Queries: 1 per example.

    Deviations: the thesis's ∇f(x0) is taken as the gradient of the loss (cross-entropy by
    default), as in Goodfellow et al.

    Examples::

        >>> x_adv = FGSM(model, eps=0.3)(x, y)
    """

    name = "fgsm"

    def __init__(
        self,
        model: nn.Module,
        *,
        eps: float = 8 / 255,
        loss: LossName = "ce",
        kappa: float = 0.0,
        bounds: tuple[float, float] = (0.0, 1.0),
    ) -> None:
        super().__init__(
            model,
            eps=eps,
            alpha=max(eps, _TINY_STEP),
            steps=1,
            random_start=False,
            loss=loss,
            kappa=kappa,
            bounds=bounds,
        )


# PGD needs alpha > 0; with eps = 0 the projection returns x0 whatever the step.
_TINY_STEP = 1e-12
