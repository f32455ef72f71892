"""Gradient boosting decision trees (LightGBM) as score functions, the discrete-decision victims of
thesis §2.5.0.5.

:class:`GBDTScores` turns a trained ``lightgbm.Booster`` into a function from a torch batch to
per-class raw scores, the form every black-box oracle wraps (``argmax`` = the booster's predicted
class). Training (the thesis's LightGBM settings, the cache) is :mod:`advrobust.training.gbdt`.
"""
from __future__ import annotations

import lightgbm
import numpy as np
import torch
from scipy.stats import rankdata
from torch import Tensor

from ..errors import require


class GBDTScores:
    """A LightGBM booster as a score function: (B, ...) torch inputs -> (B, K) raw scores.

    Inputs are flattened to (B, D) rows. A multiclass booster gives its K raw scores; a binary one
    gives (B, 2) = [0, raw score], so ``argmax`` is the booster's predicted class in both cases and
    the black-box oracles wrap it like a torch model. One ``booster.predict`` call per batch (the
    oracle's chunk); scores are float64, LightGBM's own precision, so ``argmax`` never meets a tie
    that LightGBM would not. The result is on the input's device.

    Args:
        booster: a trained LightGBM booster.
        num_threads: threads per prediction (0: LightGBM's default, all cores).
    """

    def __init__(self, booster: lightgbm.Booster, num_threads: int = 0) -> None:
        self.booster = booster
        self.num_threads = num_threads
        self.num_features = booster.num_feature()
        self.num_classes = max(2, booster.num_model_per_iteration())

    def __call__(self, x: Tensor) -> Tensor:
        rows = x.detach().flatten(1)
        require(rows.shape[1] == self.num_features,
                f"the booster expects {self.num_features} features per row, got {rows.shape[1]}")
        raw = self.booster.predict(rows.cpu().numpy(), raw_score=True, num_threads=self.num_threads)
        scores = torch.from_numpy(np.asarray(raw, dtype=np.float64))
        if self.num_classes == 2:
            scores = torch.stack([torch.zeros_like(scores), scores], dim=1)
        return scores.reshape(rows.shape[0], self.num_classes).to(x.device)

    def __repr__(self) -> str:
        return (f"GBDTScores({self.booster.num_trees()} trees, {self.num_features} features, "
                f"{self.num_classes} classes)")


def roc_auc(scores: Tensor, labels: Tensor) -> float:
    """Area under the ROC curve of ``scores`` (N,) for 0/1 ``labels`` (N,) (Mann-Whitney U; ties count 1/2)."""
    positive = labels.cpu().numpy() == 1
    count_pos, count_neg = int(positive.sum()), int((~positive).sum())
    require(count_pos > 0 and count_neg > 0, "the AUC needs both classes among the labels")
    ranks = rankdata(scores.cpu().double().numpy())
    return float((ranks[positive].sum() - count_pos * (count_pos + 1) / 2) / (count_pos * count_neg))
