"""The attack contract shared by every attack (thesis §2.1, Eqs. (2.1)-(2.2)).

``atk = PGD(model, eps=0.3); x_adv = atk(x, y)`` gives adversarial inputs;
``atk.run(x, y, target=None)`` gives an :class:`AttackResult`. The template method
:meth:`Attack.run` does everything that must never differ between attacks, so no attack can get
it wrong on its own:

1. check the inputs (shapes, labels, inputs inside ``bounds``);
2. put the model in eval mode and restore its previous mode afterwards;
3. call the subclass's ``_perturb`` on a detached copy of ``x`` (``x`` is never modified);
4. clip to ``bounds`` and, for budgeted attacks, project onto the eps-ball around ``x``;
5. judge success on that returned input: untargeted ``pred != y`` (Eq. (2.1)), targeted
   ``pred == target`` (Eq. (2.2)).

Two families, as in Foolbox: :class:`BudgetedAttack` (largest loss inside an eps-ball: FGSM, PGD)
and :class:`MinimizationAttack` (smallest distortion that succeeds: C&W L2, DeepFool).
Targeting is an argument of ``run``, never a mode of the attack object.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from numbers import Integral
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from ..errors import require
from .result import AttackResult
from .threat import ThreatModel, l2_distance, linf_distance


class Attack(ABC):
    """Base of all attacks. Subclasses implement :meth:`_perturb` only.

    Args:
        model: maps inputs in ``bounds`` ((N, C, H, W) images or (N, D) vectors) to logits (N, K).
        bounds: (lower, upper) of the input domain. Default (0, 1).
        seed: seeds the attack's private random generator (random starts); ``None`` uses torch's
            global generator. Two attacks built with the same seed give identical results.
    """

    name: ClassVar[str]  # the registry name

    def __init__(
        self,
        model: nn.Module,
        *,
        bounds: tuple[float, float] = (0.0, 1.0),
        seed: int | None = None,
    ) -> None:
        require(bounds[0] < bounds[1], f"bounds must satisfy lower < upper, got {bounds}")
        self.model = model
        self.bounds = (float(bounds[0]), float(bounds[1]))
        self._generator = None if seed is None else torch.Generator().manual_seed(seed)

    def __call__(self, x: Tensor, y: Tensor, target: Tensor | None = None) -> Tensor:
        """Adversarial inputs for ``x`` with labels ``y`` (toward ``target`` when given)."""
        return self.run(x, y, target).x_adv

    def run(self, x: Tensor, y: Tensor, target: Tensor | None = None) -> AttackResult:
        """Attack ``x`` (N, ...) with labels ``y`` (N,); a ``target`` (N,) makes it targeted."""
        self._check_inputs(x, y, target)
        x0 = x.detach().clone()
        labels = y.to(device=x0.device, dtype=torch.long)
        target = None if target is None else target.to(device=x0.device, dtype=torch.long)
        with eval_mode(self.model):
            with torch.no_grad():
                original_correct = self.model(x0).argmax(dim=1) == labels
            with torch.enable_grad():
                x_adv, queries = self._perturb(x0, labels, target)
            x_adv = self._finish(x_adv.detach(), x0)
            with torch.no_grad():
                success = goal_reached(self.model(x_adv).argmax(dim=1), labels, target)
        return AttackResult(
            x_adv=x_adv,
            success=success,
            l2=l2_distance(x_adv, x0),
            linf=linf_distance(x_adv, x0),
            queries=queries,
            original_correct=original_correct,
        )

    @abstractmethod
    def _perturb(self, x0: Tensor, labels: Tensor, target: Tensor | None) -> tuple[Tensor, Tensor]:
        """Return (x_adv (N, ...), queries (N,) int64). ``x0`` must not be modified in place."""

    def _finish(self, x_adv: Tensor, x0: Tensor) -> Tensor:
        """The input the model is judged on: ``x_adv`` clipped to the bounds."""
        return self._clip(x_adv)

    def _clip(self, x: Tensor) -> Tensor:
        return x.clamp(*self.bounds)

    def _check_inputs(self, x: Tensor, y: Tensor, target: Tensor | None) -> None:
        shape = tuple(x.shape)
        require(x.dim() >= 2 and shape[0] > 0, f"x must be a non-empty (N, ...) batch, got {shape}")
        require(x.is_floating_point(), f"x must be a floating-point tensor, got {x.dtype}")
        n = x.shape[0]
        for what, labels in (("y", y), ("target", target)):
            if labels is not None:
                got = tuple(labels.shape)
                require(got == (n,), f"{what} must have shape ({n},), got {got}")
                require(not labels.is_floating_point(), f"{what} must hold integer class labels")
        lower, upper = self.bounds
        lo, hi = float(x.min()), float(x.max())
        require(
            lower <= lo and hi <= upper,
            f"x must lie in {self.bounds}, got values in [{lo:.4g}, {hi:.4g}]",
        )

    def __repr__(self) -> str:
        settings = ", ".join(
            f"{key}={value!r}"
            for key, value in vars(self).items()
            if key != "model" and not key.startswith("_")
        )
        return f"{type(self).__name__}({settings})"


class BudgetedAttack(Attack):
    """An attack that searches inside the ball ``threat`` (fixed eps), like FGSM and PGD.

    The base projects every returned input onto the ball around the clean input and then clips
    it to ``bounds``; both constraints hold after that order (clipping only moves coordinates
    toward the clean input, which lies inside the bounds).
    """

    def __init__(self, model: nn.Module, *, threat: ThreatModel, **base: Any) -> None:
        super().__init__(model, **base)
        self.threat = threat

    @property
    def eps(self) -> float:
        """Radius of the threat ball."""
        return self.threat.eps

    def _finish(self, x_adv: Tensor, x0: Tensor) -> Tensor:
        return self._clip(self.threat.project(x_adv, x0))


class MinimizationAttack(Attack):
    """An attack that looks for the smallest perturbation that succeeds (C&W L2, DeepFool).

    It has no budget: the returned input is only clipped to ``bounds``. Its quality is the
    distortion (``AttackResult.l2``) on the examples it breaks.
    """


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Eval mode for ``model`` inside the block; every submodule's own mode is restored after."""
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for module, training in modes:
            module.train(training)


def require_count(value: int, name: str, minimum: int = 1) -> None:
    """ConfigError unless ``value`` is an int >= ``minimum`` (steps, restarts, search steps)."""
    require(
        isinstance(value, Integral) and not isinstance(value, bool) and value >= minimum,
        f"{name} must be an integer >= {minimum}, got {value!r}",
    )


def require_positive(value: float, name: str) -> None:
    """ConfigError unless ``value`` > 0 (step sizes, learning rates, constants)."""
    require(value > 0, f"{name} must be > 0, got {value!r}")


def require_nonnegative(value: float, name: str) -> None:
    """ConfigError unless ``value`` >= 0 (confidences, overshoots)."""
    require(value >= 0, f"{name} must be >= 0, got {value!r}")


def rows(mask: Tensor, like: Tensor) -> Tensor:
    """View an (N,) per-example ``mask`` so that it broadcasts against (N, ...) ``like``."""
    return mask.view(-1, *[1] * (like.dim() - 1))


def goal_reached(pred: Tensor, labels: Tensor, target: Tensor | None) -> Tensor:
    """(N,) bool: untargeted ``pred != labels`` (Eq. (2.1)), targeted ``pred == target`` (2.2)."""
    return pred != labels if target is None else pred == target
