"""Training gradient boosting decision trees (LightGBM), the discrete-decision victims of thesis §2.5.0.5.

The thesis trains them with LightGBM and "the suggested parameters in
github.com/Koziev/MNIST_Boosting": MNIST 100 trees of at most 100 leaves, HIGGS 255 trees of at
most 500 leaves, no depth limit. The other settings below are that repository's ``lgb_solver.py``
(learning rate 0.05, at least 100 examples per leaf, 70% of the features per tree, 70% of the
examples re-drawn every iteration, 256 histogram bins, no L1/L2 penalty); that repository tunes
them for MNIST, and the thesis uses them for HIGGS too. Its early stopping is not used: the tree
counts are the thesis's.

* :class:`GBDTConfig` describes one training run; its :meth:`~GBDTConfig.key` names the cached model.
* :func:`train_gbdt` returns the trained ``lightgbm.Booster``, from the cache when it is there;
  :class:`advrobust.models.gbdt.GBDTScores` makes it a score function for the oracles.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import lightgbm
from torch import Tensor

from ..data import load_dataset
from ..data.higgs import higgs_source
from ..errors import require
from ..registry import lookup
from ..runtime import cache_root

MODEL_FILE = "model.txt"
KOZIEV_PARAMS: dict[str, Any] = {  # github.com/Koziev/MNIST_Boosting, lgb_solver.py
    "boosting_type": "gbdt",
    "min_data_in_leaf": 100,
    "min_sum_hessian_in_leaf": 1e-3,
    "max_depth": -1,  # "we don't limit the max depth" (§2.5.0.5)
    "lambda_l1": 0.0,
    "lambda_l2": 0.0,
    "max_bin": 256,
    "feature_fraction": 0.7,
    "bagging_fraction": 0.7,
    "bagging_freq": 1,
}


@dataclass(frozen=True)
class GBDTConfig:
    """Everything that determines a trained GBDT (given the data); bad values raise ConfigError."""

    dataset: str  # registered dataset name, "mnist" or "higgs"
    num_trees: int  # boosting iterations (one tree per class per iteration for multiclass)
    num_leaves: int  # maximum leaves per tree
    learning_rate: float = 0.05  # Koziev's shrinkage
    train_subset: int | None = None  # train on this many examples (seeded choice); None = all
    seed: int = 0  # seeds LightGBM's feature and example sampling, and the subset

    def __post_init__(self) -> None:
        lookup("dataset", self.dataset)
        require(self.num_trees > 0, f"num_trees must be positive, got {self.num_trees}")
        require(self.num_leaves > 1, f"num_leaves must be at least 2, got {self.num_leaves}")
        require(self.learning_rate > 0, f"learning_rate must be positive, got {self.learning_rate}")
        require(self.train_subset is None or self.train_subset > 0,
                f"train_subset must be positive or None, got {self.train_subset}")
        require(self.seed >= 0, f"seed must be >= 0, got {self.seed}")

    def lightgbm_params(self, num_classes: int) -> dict[str, Any]:
        """LightGBM's parameters: Koziev's, this config's sizes, a binary or multiclass objective."""
        objective = {"objective": "binary"} if num_classes == 2 else {
            "objective": "multiclass", "num_class": num_classes}
        return {**KOZIEV_PARAMS, **objective, "num_leaves": self.num_leaves,
                "learning_rate": self.learning_rate, "seed": self.seed, "deterministic": True,
                "verbose": -1}

    def key(self) -> str:
        """A 12-hex-digit hash of the config and the fixed parameters: any change alters it."""
        text = json.dumps({**asdict(self), "fixed": KOZIEV_PARAMS}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


def train_gbdt(
    config: GBDTConfig,
    data_root: Path | str | None = None,
    cache_dir: Path | str | None = None,
    num_threads: int = 0,
) -> lightgbm.Booster:
    """The booster trained by ``config``: from the cache, else trained now and cached.

    The model lives in ``<cache>/gbdt-<data>-<key>/model.txt`` (LightGBM's text format) beside
    ``config.json``; ``<cache>`` is ``cache_dir``, else ``$ADVROBUST_CACHE``, else
    ``<repo>/data/checkpoints``, and ``<data>`` names the files read (for HIGGS: the UCI file or
    LightGBM's sample, which give different models). A fresh model and a cached one are both read
    back from the file, so they are the same. ``num_threads`` (0: LightGBM's default, all cores)
    sets only the speed.
    """
    directory = gbdt_run_directory(config, data_root, cache_dir)
    model_file = directory / MODEL_FILE
    if not model_file.exists():
        train = load_dataset(config.dataset, "train", root=data_root, device="cpu")
        train = train.subset(config.train_subset, config.seed)
        params = {**config.lightgbm_params(len(train.classes)), "num_threads": num_threads}
        booster = fit_booster(params, train.x, train.y, config.num_trees)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "config.json").write_text(
            json.dumps({**asdict(config), "data": train.name, "lightgbm_params": params}, indent=2, sort_keys=True))
        partial = directory / f"{MODEL_FILE}.part"
        booster.save_model(str(partial))
        partial.replace(model_file)
    return lightgbm.Booster(model_file=str(model_file))


def gbdt_run_directory(config: GBDTConfig, data_root: Path | str | None = None,
                       cache_dir: Path | str | None = None) -> Path:
    """``<cache>/gbdt-<data>-<key>``, where :func:`train_gbdt` keeps ``config``'s model, found
    without reading the data: ``<data>`` is the dataset, or for HIGGS the files the loader reads
    (:func:`~advrobust.data.higgs.higgs_source`)."""
    data = higgs_source(data_root) if config.dataset == "higgs" else config.dataset
    return cache_root(cache_dir) / f"gbdt-{data}-{config.key()}"


def fit_booster(params: dict[str, Any], x: Tensor, y: Tensor, num_trees: int) -> lightgbm.Booster:
    """LightGBM trained with ``params`` for ``num_trees`` rounds on rows ``x.flatten(1)`` (N, D)
    with labels ``y`` (N,): the one LightGBM trainer (the cached models above and the 2-D toy)."""
    rows = lightgbm.Dataset(x.flatten(1).cpu().numpy(), label=y.cpu().numpy(), free_raw_data=True)
    return lightgbm.train(params, rows, num_boost_round=num_trees)
