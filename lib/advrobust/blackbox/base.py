"""The black-box attack contract (thesis §2.3-2.4): attacks that see the model only through an oracle.

``atk = SignOPT(model, budget=4000); x_adv = atk(x, y)`` or ``result = atk.run(x, y, target)``.
The template method :meth:`BlackBoxAttack.run` does what must never differ between attacks:

1. check the inputs and put a torch model in eval mode (restored afterwards);
2. take the clean predictions (not charged to the budget) and leave out the examples that already
   reach the goal (misclassified, or already the target class), as the thesis does (§2.5);
3. build the oracle (:class:`~advrobust.blackbox.oracle.HardLabelOracle` or
   :class:`~advrobust.blackbox.oracle.ScoreOracle`) and hand it to the subclass's ``_attack``;
4. return per example the oracle's best adversarial input, settled beyond the decision boundary
   (below), with the query counts and the :class:`~advrobust.blackbox.oracle.QueryTrace`.

Every returned input is a point the oracle itself saw to be adversarial, so an attack cannot report
a distortion it did not verify, and distances are always measured after clipping. Success is that
verdict of a query. The hard-label attacks end within a bisection tolerance (~1e-6) of the decision
boundary, and ZOO (C&W's objective at κ = 0) on it too, where the logits tie to float precision:
their best point, judged adversarial in the batch of its query, could round back to the true class
when the model alone evaluates it in a batch of another size (measured: 3-25% of Sign-OPT's
examples on a 784-dimensional linear model). So one query of every budget is held back, and at the
end it verifies the point a relative ``boundary_margin`` = 1e-4 farther from x0 on the same ray,
x0 + (1 + 1e-4)·g(θ)·θ/‖θ‖ where the thesis returns x0 + g(θ)·θ/‖θ‖ (§2.4.2, after Eq. (2.15));
that point is returned where the query finds it adversarial, else the best point itself
(:meth:`~advrobust.blackbox.oracle.QueryOracle.settle`; on linear models none of ~1,200 measured
examples fell back). The margin multiplies the L2 distortion by at most 1 + 1e-4; the trace keeps
the distortions verified during the search. NES keeps its best point as found: a step past it
could leave the L∞ ball of radius ε.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import nullcontext
from dataclasses import dataclass
from typing import ClassVar, Generic, TypeVar, cast

import torch
from torch import Tensor, nn

from ..attacks.base import eval_mode, goal_reached, require_count
from ..attacks.result import AttackResult
from ..attacks.threat import l2_distance, linf_distance
from ..errors import require
from ..runtime import cpu_threads
from .oracle import Bounds, HardLabelOracle, QueryOracle, QueryTrace, ScoreFunction


OracleT = TypeVar("OracleT", bound=QueryOracle)  # the oracle an attack is written for


@dataclass(frozen=True)
class BlackBoxResult(AttackResult):
    """:class:`~advrobust.attacks.result.AttackResult` plus the query trace of the run."""

    trace: QueryTrace

    def best_at(self, budgets: list[int]) -> Tensor:
        """(N, len(budgets)) best distortion within each budget (``inf`` where none found)."""
        return self.trace.best_at(budgets)


class BlackBoxAttack(ABC, Generic[OracleT]):
    """Base of the black-box attacks. Subclasses implement :meth:`_attack` only.

    Args:
        model: a torch module or any function mapping (B, ...) inputs to (B, K) scores; the
            attack sees it only through the oracle (labels, or probabilities for score attacks).
        budget: queries allowed per example, the final verification included; never exceeded.
        bounds: input domain, floats or per-feature tensors. Default (0, 1).
        seed: seeds the attack's private random generator; equal seeds give identical runs.
        max_batch: rows per forward pass (default 256 on the CPU, 8192 on a GPU).
        cpu_threads: torch threads while attacking on the CPU (restored afterwards). Default 1:
            the lock-step search rounds send small batches, for which one thread is as fast as
            two and, unlike two, does not collapse when another process competes for the cores
            (measured 10× slower with 2 threads under load). ``None`` keeps torch's setting.
    """

    name: ClassVar[str]
    oracle_class: ClassVar[type[QueryOracle]] = HardLabelOracle
    # Relative step past the best point verified by the last query of the budget (module docstring);
    # None returns the best point as found.
    boundary_margin: ClassVar[float | None] = 1e-4
    norm: str = "l2"  # the distortion the oracle's trace records

    def __init__(
        self,
        model: nn.Module | ScoreFunction,
        *,
        budget: int,
        bounds: Bounds = (0.0, 1.0),
        seed: int = 0,
        max_batch: int | None = None,
        cpu_threads: int | None = 1,
    ) -> None:
        require_count(budget, "budget", minimum=1)
        if cpu_threads is not None:
            require_count(cpu_threads, "cpu_threads")
        self.cpu_threads = cpu_threads
        self.model = model
        self.budget = budget
        self.bounds = bounds
        self.seed = seed
        self.max_batch = max_batch

    def __call__(self, x: Tensor, y: Tensor, target: Tensor | None = None) -> Tensor:
        """Adversarial inputs for ``x`` with labels ``y`` (toward ``target`` when given)."""
        return self.run(x, y, target).x_adv

    def run(
        self, x: Tensor, y: Tensor, target: Tensor | None = None, starts: Tensor | None = None
    ) -> BlackBoxResult:
        """Attack ``x`` (N, ...) with labels ``y`` (N,); a ``target`` (N,) makes it targeted.

        ``starts`` (N, M, ...) are optional candidate starting points per example (for a targeted
        attack: images of the target class, §2.5.0.2).
        """
        require(x.dim() >= 2 and x.shape[0] > 0, f"x must be a non-empty (N, ...) batch, got {tuple(x.shape)}")
        require(tuple(y.shape) == (x.shape[0],), f"y must have shape ({x.shape[0]},), got {tuple(y.shape)}")
        if target is not None:
            require(tuple(target.shape) == (x.shape[0],), "target must have one label per example")
        if starts is not None:
            require(starts.shape[0] == x.shape[0] and starts.shape[2:] == x.shape[1:],
                    f"starts must have shape (N, M, {tuple(x.shape[1:])}), got {tuple(starts.shape)}")
        x0 = x.detach().clone()
        labels = y.to(device=x0.device, dtype=torch.long)
        target = None if target is None else target.to(device=x0.device, dtype=torch.long)
        mode = eval_mode(self.model) if isinstance(self.model, nn.Module) else nullcontext()
        threads = cpu_threads(self.cpu_threads) if not x0.is_cuda and self.cpu_threads else nullcontext()
        with mode, threads, torch.no_grad():
            clean_scores = self.model(x0)
            clean = clean_scores.argmax(dim=1)
            oracle = self.oracle_class(
                self.model, x0, labels, target, budget=self.budget,
                reserve=int(self.boundary_margin is not None), bounds=self.bounds, norm=self.norm,
                max_batch=self.max_batch or (8192 if x0.is_cuda else 256),
                num_classes=clean_scores.shape[1],
            )
            active = ~goal_reached(clean, labels, target)
            generator = torch.Generator(device=x0.device).manual_seed(self.seed)
            if bool(active.any()):
                self._attack(cast(OracleT, oracle), active, starts, generator)
            success = ~active | (oracle.best_distance < float("inf"))
            x_adv = oracle.best_x if self.boundary_margin is None else oracle.settle(self.boundary_margin)
        return BlackBoxResult(
            x_adv=x_adv,
            success=success,
            l2=l2_distance(x_adv, x0),
            linf=linf_distance(x_adv, x0),
            queries=oracle.queries.clone(),
            original_correct=clean == labels,
            trace=oracle.trace(),
        )

    @abstractmethod
    def _attack(
        self, oracle: OracleT, active: Tensor, starts: Tensor | None, generator: torch.Generator
    ) -> None:
        """Spend the oracle's queries on the examples where ``active`` (N,) is True.

        Everything the attack finds is kept by the oracle; nothing is returned.
        """

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if k != "model" and not k.startswith("_"))
        return f"{type(self).__name__}({settings})"
