"""Projected gradient descent (PGD) and the Basic Iterative Method (BIM), thesis §2.2.

PGD (Madry et al. 2018, https://arxiv.org/abs/1706.06083) iterates

    x_{t+1} = Π_{B(x0, eps)} { x_t + alpha · step(∇_x L(x_t)) },

clipped to the input bounds, where ``step`` is the sign of the gradient in the L∞ ball and the
normalised gradient in the L2 ball. BIM (Kurakin et al. 2016, https://arxiv.org/abs/1607.02533)
is the same iteration started at x0 instead of a random point of the ball.
"""
from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from ..errors import require
from ..registry import register
from .base import BudgetedAttack, goal_reached, require_count, require_nonnegative, require_positive
from .losses import LOSSES, LossName, attack_objective
from .threat import L2Ball, LinfBall


@register("attack", "pgd")
class PGD(BudgetedAttack):
    r"""PGD in the L∞ ball (thesis §2.2; Madry et al. 2018).

    Distance measure: L∞.

    Args:
        model: maps inputs in ``bounds`` to logits.
        eps: radius of the ball. Default 8/255.
        alpha: step size per iteration. Default 2/255.
        steps: gradient steps per restart; each costs one forward and one backward pass for the
            whole batch. Default 10.
        random_start: start from a uniform point of the ball instead of x0. Default True.
        restarts: independent random starts; an example counts as broken if any restart breaks
            it. Restarts after the first run only on examples not yet broken; the returned
            input is the first successful iterate, or else the one with the largest loss.
            Default 1.
        loss: ``"ce"`` (cross-entropy) or ``"cw"`` (C&W margin loss, Eqs. (2.6)-(2.7)).
            Default ``"ce"``.
        kappa: confidence of the ``"cw"`` loss. Default 0.
        bounds, seed: see :class:`~advrobust.attacks.base.Attack`.

    Shape: x (N, ...) in ``bounds``; y and target (N,); output like x.

    Queries: ``steps`` per restart an example takes part in, plus one scoring pass per restart
    when ``restarts > 1``.

    Deviations: the thesis writes the iteration from x^0 = x0; the default here starts at a
    random point of the ball, as Madry et al. and torchattacks do. ``random_start=False`` (or
    :class:`BIM`) gives the thesis's form. The thesis's ∇f is the gradient of ``loss``.

    Examples::

        >>> atk = PGD(model, eps=0.3, alpha=0.01, steps=40)
        >>> x_adv = atk(x, y)
    """

    name = "pgd"
    ball: ClassVar[type[LinfBall | L2Ball]] = LinfBall

    def __init__(
        self,
        model: nn.Module,
        *,
        eps: float = 8 / 255,
        alpha: float = 2 / 255,
        steps: int = 10,
        random_start: bool = True,
        restarts: int = 1,
        loss: LossName = "ce",
        kappa: float = 0.0,
        bounds: tuple[float, float] = (0.0, 1.0),
        seed: int | None = None,
    ) -> None:
        super().__init__(model, threat=self.ball(eps), bounds=bounds, seed=seed)
        require_positive(alpha, "alpha")
        require_count(steps, "steps")
        require_count(restarts, "restarts")
        require(restarts == 1 or random_start, "restarts > 1 needs random_start=True")
        require(loss in LOSSES, f"unknown loss {loss!r}; available: {', '.join(LOSSES)}")
        require_nonnegative(kappa, "kappa")
        self.alpha = alpha
        self.steps = steps
        self.random_start = random_start
        self.restarts = restarts
        self.loss = loss
        self.kappa = kappa

    def _perturb(self, x0: Tensor, labels: Tensor, target: Tensor | None) -> tuple[Tensor, Tensor]:
        best = self._descend(x0, labels, target)
        queries = torch.full((x0.shape[0],), self.steps, dtype=torch.long, device=x0.device)
        if self.restarts == 1:
            return best, queries
        best_score, best_success = self._score(best, labels, target)
        queries += 1
        for _ in range(self.restarts - 1):
            todo = (~best_success).nonzero().squeeze(1)
            if todo.numel() == 0:
                break
            todo_target = None if target is None else target[todo]
            candidate = self._descend(x0[todo], labels[todo], todo_target)
            score, success = self._score(candidate, labels[todo], todo_target)
            queries[todo] += self.steps + 1
            better = success | (score > best_score[todo])
            keep = todo[better]
            best[keep] = candidate[better]
            best_score[keep] = score[better]
            best_success[keep] = success[better]
        return best, queries

    def _descend(self, x0: Tensor, labels: Tensor, target: Tensor | None) -> Tensor:
        """One PGD run of ``steps`` iterations from a random point of the ball (or from x0)."""
        x = self._clip(self.threat.random_start(x0, self._generator)) if self.random_start else x0
        for _ in range(self.steps):
            x = x.detach().requires_grad_(True)
            objective = self._objective(self.model(x), labels, target).sum()
            (grad,) = torch.autograd.grad(objective, x)
            x = self._clip(self.threat.project(self.threat.step(x.detach(), grad, self.alpha), x0))
        return x.detach()

    def _score(self, x: Tensor, labels: Tensor, target: Tensor | None) -> tuple[Tensor, Tensor]:
        """(objective (N,), goal reached (N,)) at ``x``, from one forward pass."""
        with torch.no_grad():
            logits = self.model(x)
        reached = goal_reached(logits.argmax(dim=1), labels, target)
        return self._objective(logits, labels, target), reached

    def _objective(self, logits: Tensor, labels: Tensor, target: Tensor | None) -> Tensor:
        return attack_objective(logits, labels, target, loss=self.loss, kappa=self.kappa)


@register("attack", "pgd_l2")
class PGDL2(PGD):
    """PGD in the L2 ball: normalised-gradient steps, radial projection (thesis §2.2).

    Distance measure: L2. Same arguments as :class:`PGD`, with defaults eps=1.0, alpha=0.2
    (as torchattacks' PGDL2). The random start is uniform in the L2 ball.
    """

    name = "pgd_l2"
    ball = L2Ball

    def __init__(
        self, model: nn.Module, *, eps: float = 1.0, alpha: float = 0.2, **pgd: Any
    ) -> None:
        super().__init__(model, eps=eps, alpha=alpha, **pgd)


@register("attack", "bim")
class BIM(PGD):
    """Basic Iterative Method (thesis §2.2; Kurakin et al. 2016): L∞ PGD started at x0.

    Same arguments as :class:`PGD` except ``random_start`` (always False) and ``restarts``
    (a deterministic start makes restarts identical).
    """

    name = "bim"

    def __init__(self, model: nn.Module, **pgd: Any) -> None:
        super().__init__(model, random_start=False, **pgd)
