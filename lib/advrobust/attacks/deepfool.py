"""DeepFool, L2 and L∞ (thesis §2.2; Moosavi-Dezfooli et al. 2016, https://arxiv.org/abs/1511.04599)."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from ..errors import require
from ..registry import register
from .base import MinimizationAttack, goal_reached, require_count, require_nonnegative, rows

_PUSH = 1e-4  # added to each step's length, as in the authors' code, so a step crosses the boundary
_TINY = 1e-8  # floor for gradient norms that divide


@register("attack", "deepfool")
class DeepFool(MinimizationAttack):
    r"""DeepFool: repeatedly step to the nearest boundary of the linearised classifier.

    At the current point x_i, with source class s (the label y0) and every other class k,

    .. math::
        f_k = Z_k(x_i) - Z_s(x_i), \quad w_k = \nabla_x f_k(x_i), \quad
        l = \arg\min_k \frac{|f_k|}{\|w_k\|_2}, \quad
        r_i = \Big(\frac{|f_l|}{\|w_l\|_2} + 10^{-4}\Big)\frac{w_l}{\|w_l\|_2},

    and x_{i+1} = clip(x0 + (1 + overshoot) Σ r_i). Each example stops as soon as its prediction
    flips; the batch stops when all have flipped or after ``max_iter`` iterations. With
    ``norm="linf"`` the paper's general l_p form (its Eqs. (11)-(12)) with p = ∞ applies: the dual
    norm ||w||_1 replaces ||w||_2 and the step is (|f_l| / ||w_l||_1 + 10^{-4}) sign(w_l); Table 4.2
    reads this variant at the L∞ budget.

    Distance measure: L2 (default) or L∞.

    Args:
        model: maps inputs in ``bounds`` to logits.
        overshoot: relative overshoot of the accumulated step. Default 0.02.
        max_iter: most iterations per example. Default 50.
        top_k: consider only the ``top_k`` most likely other classes at each iteration; ``None``
            considers all. Default None.
        norm: ``"l2"`` or ``"linf"``, the distance minimised. Default ``"l2"``.
        bounds: input domain. Default (0, 1).

    Shape: x (N, ...) in ``bounds``; y and target (N,); output like x.

    Queries: one forward pass per iteration an example takes part in (the iteration that finds
    it flipped included); each iteration adds one backward pass per class considered.

    Deviations: iterates are clipped to ``bounds`` (the paper has no box); the candidate classes
    are ranked at every iteration rather than once at x0. Targeted use (not in the paper)
    linearises only f = Z_t - Z_s, with s the most likely class other than the target t.

    Examples::

        >>> result = DeepFool(model).run(x, y)
        >>> result.median_l2
    """

    name = "deepfool"

    def __init__(
        self,
        model: nn.Module,
        *,
        overshoot: float = 0.02,
        max_iter: int = 50,
        top_k: int | None = None,
        norm: str = "l2",
        bounds: tuple[float, float] = (0.0, 1.0),
    ) -> None:
        super().__init__(model, bounds=bounds)
        require(norm in ("l2", "linf"), f"norm must be 'l2' or 'linf', got {norm!r}")
        require_nonnegative(overshoot, "overshoot")
        require_count(max_iter, "max_iter")
        require(top_k is None or top_k >= 1, f"top_k must be None or >= 1, got {top_k!r}")
        self.overshoot = overshoot
        self.max_iter = max_iter
        self.top_k = top_k
        self.norm = norm

    def _perturb(self, x0: Tensor, labels: Tensor, target: Tensor | None) -> tuple[Tensor, Tensor]:
        r_total = torch.zeros_like(x0)
        queries = torch.zeros(x0.shape[0], dtype=torch.long, device=x0.device)
        todo = torch.arange(x0.shape[0], device=x0.device)  # examples not yet flipped
        for _ in range(self.max_iter):
            x = self._clip(x0[todo] + (1 + self.overshoot) * r_total[todo]).requires_grad_(True)
            logits = self.model(x)
            queries[todo] += 1
            todo_target = None if target is None else target[todo]
            running = ~goal_reached(logits.argmax(dim=1), labels[todo], todo_target)
            if not running.any():
                break
            step = self._step(x, logits, labels[todo], todo_target)
            r_total[todo[running]] += step[running]
            todo = todo[running]
        return self._clip(x0 + (1 + self.overshoot) * r_total), queries

    def _step(self, x: Tensor, logits: Tensor, labels: Tensor, target: Tensor | None) -> Tensor:
        """r_i of the docstring for every row of ``x`` (n, ...)."""
        source, goals = self._classes(logits.detach(), labels, target)  # (n,), (n, m)
        f = logits.gather(1, goals) - logits.gather(1, source[:, None])  # (n, m), < 0 before a flip
        m = goals.shape[1]
        w = torch.stack(  # (n, m, ...): one backward pass per competing class, for the whole batch
            [torch.autograd.grad(f[:, j].sum(), x, retain_graph=j < m - 1)[0] for j in range(m)],
            dim=1,
        )
        dual = 1 if self.norm == "linf" else 2  # the dual norm of the distance minimised
        w_norm = w.flatten(2).norm(p=dual, dim=2) + _TINY  # (n, m)
        distance = f.detach().abs() / w_norm
        nearest = distance.argmin(dim=1, keepdim=True)  # (n, 1)
        length = distance.gather(1, nearest).squeeze(1) + _PUSH
        w_nearest = w[torch.arange(x.shape[0], device=x.device), nearest.squeeze(1)]
        if self.norm == "linf":
            return rows(length, w_nearest) * w_nearest.sign()
        return rows(length / w_norm.gather(1, nearest).squeeze(1), w_nearest) * w_nearest

    def _classes(
        self, logits: Tensor, labels: Tensor, target: Tensor | None
    ) -> tuple[Tensor, Tensor]:
        """(source (n,), competing classes (n, m)) for this iteration."""
        if target is not None:
            return _mask(logits, target).argmax(dim=1), target[:, None]
        others = logits.shape[1] - 1
        k = others if self.top_k is None else min(self.top_k, others)
        return labels, _mask(logits, labels).topk(k, dim=1).indices


def _mask(logits: Tensor, classes: Tensor) -> Tensor:
    """``logits`` with the entry of each row's class set to -inf."""
    return logits.scatter(1, classes[:, None], float("-inf"))
