"""Query oracles: the only door through which a black-box attack touches the model (thesis §2.3-2.4).

An oracle holds N clean examples ``x0`` with their labels (and targets, for a targeted attack) and
answers queries about points near them. It is the single place where queries are counted:

* every query point is clipped to the input bounds before the model sees it;
* one query = one input row; rows are charged to the example named by ``index``;
* each example has a budget that is never exceeded: rows beyond it are not evaluated and come
  back unanswered (``answered`` is False), after which the attack must leave that example alone;
* many rows (of many examples) are evaluated in one batched forward pass (chunked by
  ``max_batch``);
* whenever a query turns out adversarial, the oracle measures its distortion (on the clipped
  point the model saw) and keeps the best one per example, with its input and the query number
  at which it was found. That record, :class:`QueryTrace`, gives the best distortion at *every*
  budget from one run, which is how the thesis's median-distortion-vs-queries curves are defined
  (§2.5: "the median adversarial perturbation ... achieved ... using less than x queries").
* an attack that ends on the decision boundary asks the oracle to hold one query of every
  budget in ``reserve`` and, when it is done, to :meth:`~QueryOracle.settle`: to spend that query
  verifying a point just beyond the best one, which is what it returns.

:class:`HardLabelOracle` answers with the top-1 label only (§2.4); :class:`ScoreOracle` with the
class probabilities (§2.3). Both wrap any function from a batch of inputs to per-class scores
(a torch model's logits, or a LightGBM booster's raw scores).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from ..errors import ConfigError, require

ScoreFunction = Callable[[Tensor], Tensor]  # (B, ...) inputs -> (B, K) scores (logits)
Bounds = tuple[float, float] | tuple[Tensor, Tensor]


def distance(x: Tensor, x0: Tensor, norm: str) -> Tensor:
    """(B,) per-row distance ``||x - x0||`` in ``norm`` (``"l2"`` or ``"linf"``)."""
    diff = (x - x0).flatten(1)
    return diff.norm(dim=1) if norm == "l2" else diff.abs().amax(dim=1)


@dataclass(frozen=True)
class QueryTrace:
    """Every improvement of the best adversarial distortion, as (example, query number, distance).

    ``query`` is the 1-based number of the query (of that example) that found the point, so the
    best distortion reachable within a budget B is the smallest ``distance`` with ``query <= B``.
    """

    n: int  # number of examples
    example: Tensor  # (E,) int64
    query: Tensor  # (E,) int64
    distance: Tensor  # (E,) float

    def best_at(self, budgets: list[int] | Tensor) -> Tensor:
        """(N, len(budgets)) best distortion within each budget; ``inf`` where none was found."""
        budgets = torch.as_tensor(budgets, dtype=torch.long)
        best = torch.full((self.n, len(budgets)), float("inf"), dtype=torch.float64)
        example, query, dist = self.example.cpu(), self.query.cpu(), self.distance.cpu().double()
        for j, budget in enumerate(budgets.tolist()):
            within = query <= budget
            best[:, j].scatter_reduce_(0, example[within], dist[within], reduce="amin")
        return best

    def first_success(self) -> Tensor:
        """(N,) float64 number of the first adversarial query of each example; ``inf`` where none."""
        first = torch.full((self.n,), float("inf"), dtype=torch.float64)
        return first.scatter_reduce_(0, self.example.cpu(), self.query.cpu().double(), reduce="amin")

    def subset(self, keep: Tensor) -> QueryTrace:
        """The trace of the examples where ``keep`` (N,) bool is True, renumbered 0..n'-1."""
        keep = keep.cpu()
        new_index = torch.cumsum(keep.long(), 0) - 1
        rows = keep[self.example.cpu()]
        return QueryTrace(
            int(keep.sum()), new_index[self.example.cpu()[rows]], self.query.cpu()[rows],
            self.distance.cpu()[rows],
        )


class QueryOracle:
    """Counts, clips, budgets and batches queries about N examples; keeps their best adversarials.

    Args:
        model: (B, ...) inputs -> (B, K) scores; the oracle never exposes them itself.
        x0: (N, ...) clean inputs, inside ``bounds``.
        labels: (N,) true labels y0.
        target: (N,) target labels for a targeted attack (Eq. (2.14)), else None (Eq. (2.13)).
        budget: queries allowed per example.
        reserve: queries of every budget held back for :meth:`settle`: until then ``remaining``,
            ``exhausted`` and the answers count as if the budget were ``budget - reserve``.
        bounds: (lower, upper) floats, or tensors broadcastable to one example (per-feature
            bounds, e.g. for tabular data).
        norm: ``"l2"`` or ``"linf"``, the distortion the trace records.
        max_batch: rows per forward pass.
        num_classes: K, the width of score answers (needed only before the first answer).
    """

    def __init__(
        self,
        model: ScoreFunction,
        x0: Tensor,
        labels: Tensor,
        target: Tensor | None = None,
        *,
        budget: int,
        reserve: int = 0,
        bounds: Bounds = (0.0, 1.0),
        norm: str = "l2",
        max_batch: int = 256,
        num_classes: int | None = None,
    ) -> None:
        require(budget >= 0, f"budget must be >= 0, got {budget}")
        require(reserve >= 0, f"reserve must be >= 0, got {reserve}")
        require(norm in ("l2", "linf"), f"norm must be 'l2' or 'linf', got {norm!r}")
        self.model = model
        self.x0 = x0
        self.labels = labels
        self.target = target
        self.budget = int(budget)
        self._limit = max(self.budget - reserve, 0)  # the budget the attack sees
        self.lower, self.upper = (torch.as_tensor(b, dtype=x0.dtype, device=x0.device) for b in bounds)
        self.norm = norm
        self.max_batch = max_batch
        self.num_classes = num_classes
        n = x0.shape[0]
        self.queries = torch.zeros(n, dtype=torch.long, device=x0.device)
        self.best_distance = torch.full((n,), float("inf"), device=x0.device)
        self.best_x = x0.clone()
        self._events: list[tuple[Tensor, Tensor, Tensor]] = []

    @property
    def n(self) -> int:
        """Number of examples."""
        return self.x0.shape[0]

    @property
    def targeted(self) -> bool:
        return self.target is not None

    def remaining(self) -> Tensor:
        """(N,) queries each example may still spend."""
        return self._limit - self.queries

    def exhausted(self) -> Tensor:
        """(N,) bool: the example has no query left."""
        return self.queries >= self._limit

    def clip(self, x: Tensor) -> Tensor:
        """``x`` clipped to the input bounds (what the model sees)."""
        return torch.maximum(torch.minimum(x, self.upper), self.lower)

    def trace(self) -> QueryTrace:
        """All improvements of the best distortion so far (see :class:`QueryTrace`)."""
        if not self._events:
            empty = torch.zeros(0, dtype=torch.long)
            return QueryTrace(self.n, empty, empty, torch.zeros(0))
        example, query, dist = (torch.cat(parts).cpu() for parts in zip(*self._events))
        return QueryTrace(self.n, example, query, dist)

    def adversarial_labels(self, labels: Tensor, index: Tensor) -> Tensor:
        """(B,) bool: label ≠ y0 (untargeted, Eq. (2.1)) or label = target (targeted, Eq. (2.2))."""
        if self.target is None:
            return labels != self.labels[index]
        return labels == self.target[index]

    def _scores(self, points: Tensor, index: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Evaluate ``points`` (B, ...) charged to examples ``index`` (B,).

        Returns (clipped points, answered (B,) bool, scores (B', K) of the answered rows).
        """
        require(points.shape[0] == index.shape[0], "points and index must have the same length")
        index = index.to(self.queries.device)
        # The r-th row of an example in this call is that example's query number queries + r + 1.
        order = torch.argsort(index, stable=True)
        counts = torch.bincount(index, minlength=self.n)
        starts = torch.cumsum(counts, 0) - counts
        rank = torch.empty_like(index)
        rank[order] = torch.arange(index.numel(), device=index.device) - starts[index[order]]
        number = self.queries[index] + rank + 1
        answered = number <= self._limit
        points = self.clip(points)
        asked = points[answered]
        with torch.inference_mode():
            scores = (
                torch.cat([self.model(chunk) for chunk in asked.split(self.max_batch)])
                if asked.shape[0]
                else asked.new_zeros((0, 1))
            )
        scores = scores.clone()  # leave inference mode
        self.queries += torch.bincount(index[answered], minlength=self.n)
        if asked.shape[0]:
            self._record(asked, index[answered], number[answered], scores.argmax(dim=1))
        return points, answered, scores

    def settle(self, margin: float) -> Tensor:
        """(N, ...) the inputs to return: each best point, pushed a relative ``margin`` on if verified.

        Called once, when the attack is done. An attack that ends on the decision boundary (a
        hard-label search stops within its bisection tolerance, ~1e-6) leaves best points whose
        logits tie to float precision: judged adversarial in the batch of its query, such a point
        may round back to the true class when the model evaluates it in a batch of another size.
        The point x0 + (1 + ``margin``)(best - x0) on the same ray, clipped, is past the boundary
        by a margin that float rounding cannot undo. It is queried once, with the query held in
        ``reserve``, and returned where the query finds it adversarial; elsewhere (the ray turns
        back to the true class within the margin, or no query is left) the best point itself is
        returned. Examples without an adversarial point get x0 and spend nothing. The trace and
        ``best_distance`` keep the best points as found: a returned point's distortion exceeds
        them by at most the factor 1 + ``margin``.
        """
        self._limit = self.budget
        found = (self.best_distance < float("inf")).nonzero().squeeze(1)
        x0 = self.x0[found]
        points, answered, scores = self._scores(x0 + (1 + margin) * (self.best_x[found] - x0), found)
        adversarial = torch.zeros_like(answered)
        adversarial[answered] = self.adversarial_labels(scores.argmax(dim=1), found[answered])
        settled = self.best_x.clone()
        settled[found[adversarial]] = points[adversarial]
        return settled

    def _record(self, points: Tensor, index: Tensor, number: Tensor, labels: Tensor) -> None:
        """Keep the best adversarial point of each example and log the improvements."""
        adversarial = self.adversarial_labels(labels, index)
        if not bool(adversarial.any()):
            return
        points, index, number = points[adversarial], index[adversarial], number[adversarial]
        dist = distance(points, self.x0[index], self.norm).to(self.best_distance.dtype)
        improves = dist < self.best_distance[index]
        if not bool(improves.any()):
            return
        points, index, number, dist = points[improves], index[improves], number[improves], dist[improves]
        self._events.append((index, number, dist))
        best = self.best_distance.clone().scatter_reduce_(0, index, dist, reduce="amin")
        # The first row reaching an example's new best supplies its input (deterministic).
        is_best = dist == best[index]
        row = torch.arange(index.numel(), device=index.device)
        first = torch.full((self.n,), index.numel(), device=index.device, dtype=torch.long)
        first.scatter_reduce_(0, index[is_best], row[is_best], reduce="amin")
        winners = first[first < index.numel()]
        self.best_x[index[winners]] = points[winners]
        self.best_distance = best


class HardLabelOracle(QueryOracle):
    """The top-1 label only (thesis §2.4): ``labels, answered = oracle(points, index)``."""

    def __call__(self, points: Tensor, index: Tensor) -> tuple[Tensor, Tensor]:
        """(B,) predicted labels (-1 where unanswered) and (B,) answered."""
        _, answered, scores = self._scores(points, index)
        labels = torch.full_like(index, -1, device=self.queries.device)
        labels[answered] = scores.argmax(dim=1)
        return labels, answered

    def is_adversarial(self, points: Tensor, index: Tensor) -> tuple[Tensor, Tensor]:
        """(B,) whether each point reaches the attack's goal (False where unanswered), (B,) answered."""
        labels, answered = self(points, index)
        return self.adversarial_labels(labels, index.to(labels.device)) & answered, answered


class ScoreOracle(QueryOracle):
    """Class probabilities (thesis §2.3, the soft-label setting): ``probs, answered = oracle(points, index)``."""

    def __call__(self, points: Tensor, index: Tensor) -> tuple[Tensor, Tensor]:
        """(B, K) softmax probabilities (NaN rows where unanswered) and (B,) answered."""
        _, answered, scores = self._scores(points, index)
        k = scores.shape[1] if answered.any() else self.num_classes
        if k is None:
            raise ConfigError("ScoreOracle needs num_classes before its first answer")
        probs = torch.full((index.numel(), k), float("nan"), device=self.queries.device)
        if answered.any():
            probs[answered] = scores.softmax(dim=1).to(probs.dtype)
        return probs, answered
