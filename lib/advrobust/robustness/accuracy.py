"""Clean and robust accuracy, distortion statistics and accuracy-versus-eps curves.

Robust accuracy follows AutoAttack's protocol (Croce & Hein 2020): the attacks of a fixed,
named list run in order, each only on the examples that are still classified correctly, so an
example counts as broken once any attack breaks it (the per-example worst case over the list) at
the cost of attacking each example only until it falls. The report keeps the accuracy after
each attack, which attack broke each example, and the largest perturbation of each attack, and
the evaluation fails loudly if any attack left its eps-ball or returned NaNs.

Everything runs in batches of ``batch_size`` on the model's device; data may stay on the CPU.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from ..attacks.base import Attack, BudgetedAttack, eval_mode
from ..attacks.result import AttackResult
from ..errors import require

log = logging.getLogger(__name__)

# A torch classifier, or any function from a batch to (B, K) scores (a GBDT's GBDTScores).
Classifier = nn.Module | Callable[[Tensor], Tensor]
CLEAN = "clean"  # name used for the clean stage and for examples misclassified without attack
PERCENTILES = (10, 25, 75, 90)
_BUDGET_RTOL = 1e-6  # float32 slack allowed when checking ||x_adv - x||_p <= eps


def predict(model: Classifier, x: Tensor, *, batch_size: int = 512) -> Tensor:
    """(N,) predicted labels of ``x`` (N, ...): eval mode, no gradients, on ``x``'s device."""
    require(batch_size >= 1, f"batch_size must be >= 1, got {batch_size}")
    device = model_device(model)
    with eval_mode(model) if isinstance(model, nn.Module) else nullcontext(), torch.no_grad():
        preds = [
            model(chunk.to(device)).argmax(dim=1).to(x.device) for chunk in x.split(batch_size)
        ]
    return torch.cat(preds) if preds else torch.empty(0, dtype=torch.long, device=x.device)


def clean_accuracy(model: Classifier, x: Tensor, y: Tensor, *, batch_size: int = 512) -> float:
    """Share of ``x`` whose prediction equals ``y``."""
    return float((predict(model, x, batch_size=batch_size) == y.to(x.device)).float().mean())


def top1(model: nn.Module, x: Tensor, *, batch_size: int = 512) -> tuple[Tensor, Tensor]:
    """(N,) predicted labels and (N,) their softmax confidence, in eval mode without gradients."""
    require(batch_size >= 1, f"batch_size must be >= 1, got {batch_size}")
    device = model_device(model)
    with eval_mode(model), torch.no_grad():
        probs = torch.cat([model(chunk.to(device)).softmax(dim=1).to(x.device) for chunk in x.split(batch_size)])
    confidence, labels = probs.max(dim=1)
    return labels, confidence


def correctly_classified(model: Classifier, x: Tensor, y: Tensor, *, batch_size: int = 512) -> Tensor:
    """Indices (ascending) of the examples the model classifies correctly.

    The thesis attacks only such examples (§2.5: "we only consider examples that are correctly
    predicted by model"); the others are skipped and reported.
    """
    return torch.nonzero(predict(model, x, batch_size=batch_size) == y.to(x.device)).flatten()


def choose_correct(
    model: Classifier, x: Tensor, y: Tensor, n: int, *, seed: int | None = None, batch_size: int = 512
) -> Tensor:
    """Indices of ``n`` examples the model classifies correctly: the first ``n`` in dataset order,
    or, with ``seed``, a seeded random choice among all of them (in the order drawn).

    The thesis attacks only correctly classified examples (§2.5); every page picks its attacked
    examples here, so equal settings pick equal examples on every page.
    """
    require(n >= 1, f"need at least one example, got n={n}")
    pool = correctly_classified(model, x, y, batch_size=batch_size)
    if seed is None:
        return pool[:n]
    order = torch.randperm(len(pool), generator=torch.Generator().manual_seed(seed))
    return pool[order.to(pool.device)[:n]]


def one_per_class(y: Tensor, candidates: Tensor, n: int) -> Tensor:
    """The first candidate index of each of the first ``n`` classes met, in candidate order."""
    labels = y[candidates]
    first = [int(torch.nonzero(labels == c)[0]) for c in labels.unique(sorted=False)]
    chosen = candidates[sorted(first)[:n]]
    return chosen


@dataclass(frozen=True)
class RobustReport:
    """Outcome of :func:`robust_accuracy` on N examples.

    Attributes:
        accuracy: ``"clean"`` accuracy, then the robust accuracy after each attack, in order
            (cumulative: an example broken by an earlier attack stays broken).
        broken_by: per example, ``"clean"`` when misclassified without attack, else the name of
            the first attack that broke it, or ``None`` when it is still robust.
        x_adv: per example, the adversarial input of the attack that broke it, else the clean
            input.
        max_l2, max_linf: per attack, the largest L2 / L∞ perturbation among the inputs it
            returned (0.0 when it ran on no example).
    """

    accuracy: dict[str, float]
    broken_by: list[str | None]
    x_adv: Tensor
    max_l2: dict[str, float]
    max_linf: dict[str, float]

    @property
    def clean_accuracy(self) -> float:
        return self.accuracy[CLEAN]

    @property
    def robust_accuracy(self) -> float:
        """Accuracy after the last attack: the per-example worst case over the whole list."""
        return list(self.accuracy.values())[-1]

    @property
    def correct(self) -> np.ndarray:
        """(N,) bool: classified correctly without attack (the examples a paired claim compares)."""
        return np.array([stage != CLEAN for stage in self.broken_by], dtype=bool)

    @property
    def robust(self) -> np.ndarray:
        """(N,) bool: still classified correctly after every attack."""
        return np.array([stage is None for stage in self.broken_by], dtype=bool)

    def table(self) -> pd.DataFrame:
        """One row per stage: stage, accuracy, examples broken at that stage, max L2 and L∞."""
        broken = pd.Series(self.broken_by, dtype=object).value_counts()
        return pd.DataFrame(
            {
                "stage": list(self.accuracy),
                "accuracy": list(self.accuracy.values()),
                "broken": [int(broken.get(stage, 0)) for stage in self.accuracy],
                "max_l2": [self.max_l2.get(stage, 0.0) for stage in self.accuracy],
                "max_linf": [self.max_linf.get(stage, 0.0) for stage in self.accuracy],
            }
        )


def robust_accuracy(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    attacks: Sequence[Attack] | Mapping[str, Attack],
    *,
    batch_size: int = 256,
) -> RobustReport:
    """Robust accuracy of ``model`` on (``x``, ``y``) under the worst case over ``attacks``.

    Args:
        model: the classifier the attacks were built for.
        x: (N, ...) clean inputs; y: (N,) labels. They may live on the CPU.
        attacks: applied in order; a sequence is named by each attack's ``name`` (names must be
            unique), a mapping by its keys. Success is judged by ``model`` on the returned
            inputs, so an attack built on another model (a transfer attack) is scored correctly.
        batch_size: examples per attack call.

    Raises:
        RuntimeError: an attack returned NaNs or an input outside its eps-ball.
    """
    named = _named(attacks)
    require(batch_size >= 1, f"batch_size must be >= 1, got {batch_size}")
    require(y.shape == (x.shape[0],), f"y must have shape ({x.shape[0]},), got {tuple(y.shape)}")
    device = model_device(model)
    y = y.to(x.device)
    robust = predict(model, x, batch_size=batch_size) == y
    stage = torch.where(robust, -1, 0)  # -1 robust, 0 clean error, k: broken by attack k
    x_adv = x.clone()
    accuracy = {CLEAN: _share(robust)}
    max_l2: dict[str, float] = {}
    max_linf: dict[str, float] = {}
    for k, (name, attack) in enumerate(named.items(), start=1):
        max_l2[name] = max_linf[name] = 0.0
        for chunk in _chunks(robust.nonzero().squeeze(1), batch_size, desc=name):
            x0 = x[chunk].to(device)
            result = attack.run(x0, y[chunk].to(device))
            _check_threat_model(name, attack, result, x0)
            max_l2[name] = max(max_l2[name], float(result.l2.max()))
            max_linf[name] = max(max_linf[name], float(result.linf.max()))
            hit = predict(model, result.x_adv, batch_size=batch_size) != y[chunk].to(device)
            hit = hit.to(x.device)
            x_adv[chunk[hit]] = result.x_adv.to(x.device)[hit]
            robust[chunk[hit]] = False
            stage[chunk[hit]] = k
        accuracy[name] = _share(robust)
        log.info("robust accuracy after %s: %.4f", name, accuracy[name])
    names = [CLEAN, *named]
    broken_by = [None if s < 0 else names[s] for s in stage.tolist()]
    return RobustReport(accuracy, broken_by, x_adv, max_l2, max_linf)


def distortion_stats(result: AttackResult) -> dict[str, float]:
    """Success rate and L2 / L∞ distortion (mean, median, percentiles) of an attack.

    Distortions are taken over the examples the attack broke among the originally correct ones
    (``result.broken``); with none, the statistics are NaN.
    """
    stats = {"n_broken": float(result.broken.sum()), "success_rate": result.success_rate}
    for norm, distances in (("l2", result.l2), ("linf", result.linf)):
        values = distances[result.broken].double()
        empty = values.numel() == 0
        stats[f"{norm}_mean"] = float("nan") if empty else float(values.mean())
        stats[f"{norm}_median"] = float("nan") if empty else float(values.quantile(0.5))
        for p in PERCENTILES:
            stats[f"{norm}_p{p}"] = float("nan") if empty else float(values.quantile(p / 100))
    return stats


def robust_accuracy_curve(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    attack_factory: Callable[[float], Attack],
    eps_values: Sequence[float],
    *,
    batch_size: int = 256,
) -> pd.DataFrame:
    """Robust accuracy against eps: one :func:`robust_accuracy` run per ``attack_factory(eps)``.

    Returns a DataFrame with columns ``attack`` (the attack's name), ``eps``, ``clean_accuracy``
    and ``robust_accuracy``, one row per eps; concatenate the frames of several attacks to plot
    them together. The numbers are not made monotone: a curve that fails to fall with eps is a
    sign of gradient masking and should stay visible.
    """
    rows = []
    for eps in eps_values:
        attack = attack_factory(eps)
        report = robust_accuracy(model, x, y, [attack], batch_size=batch_size)
        rows.append(
            {
                "attack": attack.name,
                "eps": float(eps),
                "clean_accuracy": report.clean_accuracy,
                "robust_accuracy": report.robust_accuracy,
            }
        )
    return pd.DataFrame(rows, columns=["attack", "eps", "clean_accuracy", "robust_accuracy"])


def model_device(model: Classifier) -> torch.device:
    """Device of the model's first parameter or buffer (the CPU for a parameter-free model or a
    plain score function)."""
    if isinstance(model, nn.Module):
        for tensor in (*model.parameters(), *model.buffers()):
            return tensor.device
    return torch.device("cpu")


def _named(attacks: Sequence[Attack] | Mapping[str, Attack]) -> dict[str, Attack]:
    if isinstance(attacks, Mapping):
        named = dict(attacks)
    else:
        named = {attack.name: attack for attack in attacks}
        require(
            len(named) == len(attacks),
            "attack names repeat; pass a mapping {name: attack} to tell them apart",
        )
    require(len(named) > 0, "robust_accuracy needs at least one attack")
    require(CLEAN not in named, f"{CLEAN!r} is reserved for the clean stage; rename that attack")
    return named


def _check_threat_model(name: str, attack: Attack, result: AttackResult, x0: Tensor) -> None:
    """AutoAttack's final check: finite outputs, and inside the eps-ball for budgeted attacks."""
    if not bool(torch.isfinite(result.x_adv).all()):
        raise RuntimeError(f"attack {name!r} returned NaN or infinite inputs")
    if isinstance(attack, BudgetedAttack):
        largest = float(attack.threat.distance(result.x_adv, x0).max())
        if largest > attack.eps * (1 + _BUDGET_RTOL) + _BUDGET_RTOL:
            raise RuntimeError(
                f"attack {name!r} left its {attack.threat.norm} ball: "
                f"perturbation {largest:.6g} > eps {attack.eps:.6g}"
            )


def _chunks(indices: Tensor, batch_size: int, desc: str) -> Iterator[Tensor]:
    """Consecutive slices of ``indices`` (none when it is empty: ``split`` would give one empty
    slice), with a progress bar shown only in a terminal."""
    yield from tqdm(indices.split(batch_size) if indices.numel() else (), desc=desc, leave=False, disable=None)


def _share(mask: Tensor) -> float:
    return float(mask.float().mean()) if mask.numel() else float("nan")
