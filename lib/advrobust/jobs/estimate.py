"""What a unit costs, measured: the probes behind ``python -m advrobust.pipeline plan --estimate``.

A unit's :class:`~.unit.Work` is an amount of items and a probe that times a few of them on the
current device. Two probes cover the image units, which dominate the thesis's cost:

- :func:`image_training_work`: the trainer itself (:func:`advrobust.training.loop.train`, so the
  defense's inner attack and its per-example state are in the timing) for a few steps on random
  inputs of the dataset's shape; items are training images, epochs x examples. Data loading is
  not in the timing: in memory it is free; streamed ImageNet assumes the job's CPU workers keep up.
- :func:`query_work`: forward passes of the attacked network at the attack's batch; items are
  model queries. A black-box attack's own arithmetic beside its queries is not in the timing.

:func:`estimate` times each distinct probe once and projects every unit's hours.
"""
from __future__ import annotations

import functools
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from ..defenses import Defense, Natural
from ..defenses.base import class_count
from ..errors import require
from ..training import TrainConfig
from ..training.loop import train
from .plan import Plan
from .unit import Work

# The shape of one input and the training-set size of each image dataset the book trains on (the
# probes need them without reading the data, which may be absent where the plan is made).
DATASETS: dict[str, tuple[tuple[int, ...], int]] = {
    "mnist": ((1, 28, 28), 60_000),
    "cifar10": ((3, 32, 32), 50_000),
    "cifar100": ((3, 32, 32), 50_000),
    "restricted_imagenet": ((3, 224, 224), 257_748),  # the 9 superclasses' images of ILSVRC-2012 train
    "imagenet": ((3, 224, 224), 1_281_167),  # ILSVRC-2012 train
}
PROBE_STEPS = 8  # timed optimizer steps or forward passes per probe, after one untimed warm-up


def training_images(config: TrainConfig) -> int:
    """The images one run of ``config`` trains on: epochs x (its subset or the whole training set)."""
    require(config.dataset in DATASETS, f"no input shape known for dataset {config.dataset!r}")
    examples = DATASETS[config.dataset][1]
    return config.epochs * min(examples, config.train_subset or examples)


def image_training_work(config: TrainConfig, defense: Defense | None) -> Work | None:
    """The work of training ``config`` with ``defense``: training images, timed by the trainer
    (None for a dataset outside :data:`DATASETS`)."""
    if config.dataset not in DATASETS:
        return None
    name = (defense or Natural()).name
    return Work(training_images(config), "images", f"train {config.model} on {config.dataset} with {name}, "
                f"batch {config.batch_size}", functools.partial(_training_rate, config, defense))


def query_work(config: TrainConfig, queries: float, batch: int) -> Work:
    """The work of ``queries`` model queries to the network of ``config``, ``batch`` at a time."""
    return Work(queries, "queries", f"query {config.model} on {config.dataset}, batch {batch}",
                functools.partial(_query_rate, config, batch))


@dataclass(frozen=True)
class Projection:
    """A unit's projected device time."""

    unit: str
    chapter: str
    hours: float | None  # None: the unit has no Work
    rate: float | None  # the probe's items per second
    what: str


def estimate(plan: Plan, device: torch.device, measured: Callable[[str], None] | None = None) -> list[Projection]:
    """Every unit's projected hours on ``device``: each distinct probe timed once (``measured`` is
    told each probe's label as it starts, for progress)."""
    rates: dict[str, float] = {}
    projections = []
    for unit in plan.units:
        work = unit.work
        if work is None:
            projections.append(Projection(unit.name, unit.chapter, None, None, ""))
            continue
        if work.label not in rates:
            if measured is not None:
                measured(work.label)
            rates[work.label] = work.probe(device)
        rate = rates[work.label]
        projections.append(Projection(unit.name, unit.chapter, work.amount / rate / 3600, rate, work.what))
    return projections


def longest_chain(plan: Plan, projections: Iterable[Projection]) -> tuple[float, list[str]]:
    """The chain of needs with the most projected hours (a unit without Work counts 0): the least
    wall-clock any number of devices needs."""
    hours = {p.unit: p.hours or 0.0 for p in projections}
    best: dict[str, tuple[float, list[str]]] = {}
    for unit in plan.units:
        before = max((best[need] for need in unit.needs), default=(0.0, []), key=lambda chain: chain[0])
        best[unit.name] = (before[0] + hours[unit.name], [*before[1], unit.name])
    return max(best.values(), default=(0.0, []), key=lambda chain: chain[0])


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _training_rate(config: TrainConfig, defense: Defense | None, device: torch.device) -> float:
    """Training images per second of ``config`` with ``defense`` on ``device`` (module docstring)."""
    shape = DATASETS[config.dataset][0]
    model = config.build_model().to(device)
    classes = class_count(model)
    probe = replace(config, epochs=1, train_subset=None, schedule="constant", milestones=())
    timed = PROBE_STEPS * config.batch_size
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(config.batch_size + timed, *shape, generator=generator)
    y = torch.randint(0, classes, (len(x),), generator=generator)
    with tempfile.TemporaryDirectory() as scratch:
        train(model, x[: config.batch_size], y[: config.batch_size], probe, device, Path(scratch) / "warm-up",
              defense=defense, progress=False)
        _synchronize(device)
        start = time.perf_counter()
        train(model, x[config.batch_size:], y[config.batch_size:], probe, device, Path(scratch) / "timed",
              defense=defense, progress=False)
        _synchronize(device)
    return timed / (time.perf_counter() - start)


@torch.no_grad()
def _query_rate(config: TrainConfig, batch: int, device: torch.device) -> float:
    """Queries per second: forward passes of ``config``'s network at ``batch`` on ``device``."""
    model = config.build_model().to(device).eval()
    x = torch.rand(batch, *DATASETS[config.dataset][0], device=device)
    model(x)
    _synchronize(device)
    start = time.perf_counter()
    for _ in range(PROBE_STEPS):
        model(x)
    _synchronize(device)
    return PROBE_STEPS * batch / (time.perf_counter() - start)
