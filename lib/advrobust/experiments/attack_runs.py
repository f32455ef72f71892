"""Running black-box attacks side by side, resumably, and reading the thesis's metrics off them.

§2.5 compares attacks on the same examples by the *median distortion within x queries* and the
*success rate within x queries at a threshold ε* (the share of examples whose best adversarial
distortion found with at most x queries is ≤ ε), plus the average distortion of Table 2.2. All of
them come from each run's :class:`~advrobust.blackbox.oracle.QueryTrace`, so one run to the largest
budget gives every budget.

:func:`run_attacks` caches each finished attack on disk (keyed by the attack, its settings, the
model, the exact inputs and the source code of the attack's package), so an interrupted chapter
resumes with the attacks still to run, and a changed attack is run again rather than read back.
"""
from __future__ import annotations

import hashlib
import inspect
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn
from tqdm import tqdm

from ..attacks.spec import AttackSpec
from ..blackbox.base import BlackBoxAttack, BlackBoxResult
from ..blackbox.oracle import QueryTrace
from ..data import TensorData
from ..errors import require
from ..robustness.accuracy import choose_correct, clean_accuracy
from ..runtime import cache_root, source_hash
from ..training import TrainConfig, trained_model
from ..training.checkpoint import load_checkpoint, save_atomic


@dataclass(frozen=True)
class Victim:
    """A trained network and the correctly classified test images every attack of a page shares."""

    model: nn.Module  # the classifier, in eval mode
    model_key: str  # names its weights in the attack cache (its TrainConfig key)
    x: Tensor  # (n, ...) the attacked images
    y: Tensor  # (n,) their labels, all predicted correctly
    clean_accuracy: float  # the model's accuracy on the test images the attacked ones are drawn from
    n_test: int  # how many test images those are

    def describe(self, dataset: str) -> str:
        """One line for the page, e.g. "MNIST test accuracy 98.90% on 10000 images; attacking 30 ..."."""
        return (f"{dataset} test accuracy {self.clean_accuracy:.2%} on {self.n_test} images; "
                f"attacking {len(self.y)} correctly classified ones.")


def victim(
    train: TrainConfig, test: TensorData, n_test: int | None, n: int, device: torch.device | str, seed: int
) -> Victim:
    """The network trained by ``train`` (from the checkpoint cache) and ``n`` correctly classified
    images drawn by ``seed`` from ``n_test`` test images of ``test`` (a seeded subset; None: all).

    The thesis attacks only correctly classified examples (§2.5).
    """
    model = trained_model(train, device=device)
    test = test.subset(n_test, seed=seed)
    chosen = choose_correct(model, test.x, test.y, n, seed=seed)
    return Victim(model, train.key(), test.x[chosen], test.y[chosen], clean_accuracy(model, test.x, test.y),
                  len(test))


def run_attacks(
    model: Any,
    specs: Mapping[str, AttackSpec[BlackBoxAttack]],
    x: Tensor,
    y: Tensor,
    target: Tensor | None = None,
    starts: Tensor | None = None,
    *,
    model_key: str,
    cache_dir: Path | str | None = None,
    progress: bool | None = None,
) -> dict[str, BlackBoxResult]:
    """Run every attack of ``specs`` (label -> spec) on the same examples; finished runs are read
    from the cache.

    ``model_key`` must identify the model's weights (e.g. its ``TrainConfig.key()``): it is part of
    the cache key with the attack's registry name and settings and a hash of the inputs. Tensors
    among the settings (e.g. per-feature ``bounds``) enter the key with their exact values.
    """
    progress = sys.stderr.isatty() if progress is None else progress
    results = {}
    for label, spec in tqdm(specs.items(), desc="attacks", disable=not progress):
        path = _cache_path(spec, model_key, (x, y, target, starts), cache_dir)
        if path.is_file():
            results[label] = _load(path, x.device)
            continue
        result = spec.build(model).run(x, y, target, starts=starts)
        path.parent.mkdir(parents=True, exist_ok=True)
        save_atomic(_state(result), path)
        results[label] = result
    return results


def distortion_table(
    results: Mapping[str, BlackBoxResult], budgets: Sequence[int], threshold: float
) -> pd.DataFrame:
    """Table 2.2's columns per attack and budget, over the examples the model got right.

    ``avg_l2`` averages the examples with an adversarial found within the budget (every
    direction-search and boundary attack has one from its start on), ``median_l2`` is over all of
    them (``inf`` counts as the largest), ``success_rate`` is the share with distortion ≤ ``threshold``
    and ``found`` the share with any adversarial example.
    """
    rows = []
    for label, result in results.items():
        best = result.best_at(list(budgets))[result.original_correct.cpu()]
        for j, budget in enumerate(budgets):
            values = best[:, j]
            finite = values[values < float("inf")]
            rows.append({
                "attack": label,
                "queries": int(budget),
                "avg_l2": float(finite.mean()) if finite.numel() else float("nan"),
                "median_l2": float(np.median(values.numpy())) if values.numel() else float("nan"),
                "success_rate": float((values <= threshold).double().mean()),
                "found": float((values < float("inf")).double().mean()),
            })
    return pd.DataFrame(rows)


def median_curves(results: Mapping[str, BlackBoxResult], budgets: Sequence[int]) -> pd.DataFrame:
    """Long table (attack, queries, median_l2) of the median best distortion within each budget."""
    table = distortion_table(results, budgets, threshold=float("inf"))
    return table[["attack", "queries", "median_l2"]]


def success_curves(
    results: Mapping[str, BlackBoxResult], budgets: Sequence[int], thresholds: Sequence[float]
) -> pd.DataFrame:
    """Long table (attack, threshold, queries, success_rate), as in Figure 2.8."""
    parts = [
        distortion_table(results, budgets, t).assign(threshold=t)[["attack", "threshold", "queries", "success_rate"]]
        for t in thresholds
    ]
    return pd.concat(parts, ignore_index=True)


def query_grid(max_budget: int, points: int = 40) -> list[int]:
    """``points`` evenly spaced budgets from max_budget/points to ``max_budget``."""
    return [int(round(v)) for v in np.linspace(max_budget / points, max_budget, points)]


def _cache_path(
    spec: AttackSpec[BlackBoxAttack], model_key: str, tensors: Sequence[Tensor | None],
    cache_dir: Path | str | None,
) -> Path:
    text = json.dumps([spec.name, dict(spec.settings), model_key], sort_keys=True, default=_exact)
    digest = hashlib.sha256(text.encode())
    digest.update(source_hash(Path(inspect.getfile(spec.attack)).parent).encode())
    for tensor in tensors:
        digest.update(b"none" if tensor is None else tensor.detach().cpu().contiguous().numpy().tobytes())
    return cache_root(cache_dir) / "blackbox" / f"{spec.name}-{digest.hexdigest()[:16]}.pt"


def _exact(value: Any) -> Any:
    """JSON for a setting that is not a number or string: a tensor's exact values, else ``str``."""
    return value.tolist() if isinstance(value, Tensor) else str(value)


def _state(result: BlackBoxResult) -> dict[str, Any]:
    fields = ("x_adv", "success", "l2", "linf", "queries", "original_correct")
    state: dict[str, Any] = {f: getattr(result, f).cpu() for f in fields}
    trace = result.trace
    state["trace"] = {"n": trace.n, "example": trace.example, "query": trace.query, "distance": trace.distance}
    return state


def _load(path: Path, device: torch.device) -> BlackBoxResult:
    state = load_checkpoint(path)
    trace = QueryTrace(**state.pop("trace"))
    return BlackBoxResult(**{k: v.to(device) for k, v in state.items()}, trace=trace)


def random_targets(y: Tensor, num_classes: int, seed: int) -> Tensor:
    """(N,) a target class ≠ y per example, uniform over the others (§2.5.0.2), seeded."""
    generator = torch.Generator().manual_seed(seed)
    shift = torch.randint(1, num_classes, y.shape, generator=generator).to(y.device)
    return (y + shift) % num_classes


def target_class_starts(predicted: Tensor, images: Tensor, target: Tensor, count: int) -> Tensor:
    """(N, count, ...) images predicted as each example's target class, the targeted starts of §2.5.0.2.

    ``predicted`` (M,) are the model's labels of the candidate ``images`` (M, ...) (training
    images in the thesis); the first ``count`` of each target class are used, repeated in turn
    when fewer exist (a weak model may rarely predict some class).
    """
    table = []
    for c in range(int(target.max()) + 1):  # over classes, not examples
        members = (predicted == c).nonzero().squeeze(1)
        require(members.numel() > 0 or not bool((target == c).any()),
                f"no candidate image is predicted as target class {c}; use more candidates")
        table.append(members[torch.arange(count, device=members.device) % max(members.numel(), 1)]
                     if members.numel() else torch.zeros(count, dtype=torch.long, device=predicted.device))
    return images[torch.stack(table)[target.to(predicted.device)]]
