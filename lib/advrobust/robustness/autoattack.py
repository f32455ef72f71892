"""AutoAttack (Croce & Hein 2020, https://arxiv.org/abs/2003.01690, "CH20b" in thesis Ch. 6).

Table 4.2 predates it; the book adds it as a last column, the parameter-free check that the
thesis itself uses for RobMask (Table 6.5).

The standard version runs four attacks in order, each only on the examples the earlier ones left
robust, so an example counts as broken if any of them breaks it (the per-example worst case):

1. APGD-CE: step-size-free PGD on the cross-entropy, ``steps`` iterations;
2. APGD-T: APGD on the targeted DLR loss, once toward each of the ``n_target_classes`` classes
   ranked highest after the label, ``steps`` iterations each;
3. FAB-T: the targeted Fast Adaptive Boundary attack toward the same classes, ``steps`` iterations
   each; a point counts only when it lies inside the eps-ball;
4. Square: score-based random search with ``n_queries`` queries (gradient-free, so it still works
   when gradients are masked).

The components are torchattacks 3.5.1's ports (``APGD``, ``APGDT``, ``FAB``, ``Square``).
torchattacks' own ``AutoAttack`` is not used: it fixes 10 iterations for APGD, APGD-T and FAB
(Croce & Hein's standard uses 100) and exposes none of the budgets. Defaults here are the
standard version's (100 iterations, 9 target classes, 5000 Square queries, one restart each);
a CPU profile may lower them and must then report the values it used.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from types import ModuleType

import torch
from torch import Tensor, nn

from ..attacks.base import BudgetedAttack, goal_reached, require_count
from ..attacks.threat import L2Ball, LinfBall, ThreatModel
from ..errors import ConfigError, require
from ..registry import register

NORMS = ("Linf", "L2")
_DLR_TARGETED_MIN_CLASSES = 4  # APGD-T's targeted DLR loss reads the 4th-largest logit


@register("attack", "autoattack")
class AutoAttack(BudgetedAttack):
    """AutoAttack, standard version: APGD-CE, APGD-T, FAB-T, Square (Croce & Hein 2020).

    Distance measure: L∞ or L2.

    Args:
        model: maps inputs in ``bounds`` to logits.
        eps: radius of the ball. Default 8/255.
        norm: ``"Linf"`` or ``"L2"``. Default ``"Linf"``.
        version: ``"standard"`` (the only version implemented).
        steps: iterations of APGD-CE, and of APGD-T and FAB-T per target class. Default 100.
        n_target_classes: target classes of APGD-T and FAB-T (capped at K - 1). Default 9.
        n_queries: queries of the Square attack. Default 5000.
        seed: seed of every component's random start, as in AutoAttack. Default 0. The global
            torch generator is restored afterwards.
        bounds: input domain; torchattacks' components assume (0, 1).

    Shape: x (N, C, H, W); other inputs (N, ...) are shown to the components as one pixel with
    D channels, (N, D, 1, 1), so each Square update then redraws every coordinate. y, target (N,).

    Queries: per example, the forward passes of every component it took part in, counted per
    batch call: an upper bound, since the components shrink their batches internally.

    Deviations: with fewer than 4 classes APGD-T is skipped (its loss needs 4 logits). The paper
    defines no targeted AutoAttack; given a ``target`` t, the same sequence attacks the two-class
    model ``(max_{j≠t} Z_j, Z_t)``, whose decision flips exactly when the model predicts t.

    Examples::

        >>> atk = AutoAttack(model, eps=8 / 255, steps=20, n_queries=500)
        >>> x_adv = atk(x, y)
    """

    name = "autoattack"

    def __init__(
        self,
        model: nn.Module,
        *,
        eps: float = 8 / 255,
        norm: str = "Linf",
        version: str = "standard",
        steps: int = 100,
        n_target_classes: int = 9,
        n_queries: int = 5000,
        seed: int = 0,
        bounds: tuple[float, float] = (0.0, 1.0),
    ) -> None:
        require(norm in NORMS, f"norm must be one of {', '.join(NORMS)}, got {norm!r}")
        require(version == "standard", f"only version 'standard' is implemented, got {version!r}")
        require(bounds == (0.0, 1.0), f"torchattacks' components need bounds (0, 1), got {bounds}")
        threat: ThreatModel = LinfBall(eps) if norm == "Linf" else L2Ball(eps)
        super().__init__(model, threat=threat, bounds=bounds)
        require_count(steps, "steps")
        require_count(n_target_classes, "n_target_classes")
        require_count(n_queries, "n_queries")
        require(isinstance(seed, int), f"seed must be an int, got {seed!r}")
        self.norm = norm
        self.version = version
        self.steps = steps
        self.n_target_classes = n_target_classes
        self.n_queries = n_queries
        self.seed = seed

    def _perturb(self, x0: Tensor, labels: Tensor, target: Tensor | None) -> tuple[Tensor, Tensor]:
        shape = x0.shape[1:]
        images = x0 if x0.dim() == 4 else x0.reshape(x0.shape[0], -1, 1, 1)
        devices = [x0.device] if x0.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):  # the components reseed the global generator
            if target is None:
                x_adv, queries = self._sequence(_Net(self.model, shape), images, labels)
            else:
                x_adv, queries = images.clone(), torch.zeros_like(labels)
                for t in target.unique().tolist():
                    rows = (target == t).nonzero().squeeze(1)
                    net = _Net(self.model, shape, target_class=t)
                    not_t = torch.zeros_like(rows)  # class 0 of the reduced model
                    x_adv[rows], queries[rows] = self._sequence(net, images[rows], not_t)
        return x_adv.reshape(x0.shape), queries

    def _sequence(self, net: _Net, x: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
        """Run the components in order, each on the examples still robust: (x_adv, queries)."""
        with torch.no_grad():
            logits = net(x)
        x_adv = x.clone()
        queries = torch.full_like(labels, net.calls_and_reset())
        todo = (logits.argmax(dim=1) == labels).nonzero().squeeze(1)
        for component in self._components(net, n_classes=logits.shape[1]):
            if todo.numel() == 0:
                break
            candidate = component(x[todo], labels[todo]).detach()
            with torch.no_grad():
                broken = goal_reached(net(candidate).argmax(dim=1), labels[todo], None)
            broken &= torch.isfinite(candidate).flatten(1).all(dim=1)
            queries[todo] += net.calls_and_reset()
            x_adv[todo[broken]] = candidate[broken]
            todo = todo[~broken]
        return x_adv, queries

    def _components(self, net: _Net, n_classes: int) -> Iterator[Callable[[Tensor, Tensor], Tensor]]:
        """The torchattacks attacks of the standard version, built lazily in order."""
        ta = _torchattacks()
        common = {"norm": self.norm, "eps": self.eps, "seed": self.seed, "n_restarts": 1}
        targets = min(self.n_target_classes, n_classes - 1)
        yield ta.APGD(net, steps=self.steps, loss="ce", **common)
        if n_classes >= _DLR_TARGETED_MIN_CLASSES:
            yield ta.APGDT(net, steps=self.steps, n_classes=targets + 1, **common)
        yield ta.FAB(net, steps=self.steps, multi_targeted=True, n_classes=targets + 1, **common)
        yield ta.Square(net, n_queries=self.n_queries, **common)


class _Net(nn.Module):
    """The model as the components see it: 4-D inputs, optionally reduced to "target t or not".

    It reshapes inputs back to the model's ``shape`` and counts its forward calls. It is built in
    eval mode, so torchattacks (which restores the mode it found) never puts the model back into
    training mode.
    """

    def __init__(self, model: nn.Module, shape: torch.Size, target_class: int | None = None):
        super().__init__()
        self.model = model
        self.shape = shape
        self.target_class = target_class
        self.calls = 0
        self.eval()

    def forward(self, x: Tensor) -> Tensor:
        self.calls += 1
        logits = self.model(x.reshape(x.shape[0], *self.shape))
        if self.target_class is None:
            return logits
        t = self.target_class
        rest = torch.cat([logits[:, :t], logits[:, t + 1 :]], dim=1).amax(dim=1)
        return torch.stack([rest, logits[:, t]], dim=1)  # class 0: not t, class 1: t

    def calls_and_reset(self) -> int:
        """Forward calls since the last reset."""
        calls, self.calls = self.calls, 0
        return calls


def _torchattacks() -> ModuleType:
    """torchattacks, imported on first use: ``make env`` installs it (``pip install --no-deps``)."""
    try:
        import torchattacks
    except ImportError as error:
        raise ConfigError(
            "AutoAttack needs torchattacks 3.5.1: pip install --no-deps torchattacks==3.5.1"
        ) from error
    return torchattacks
