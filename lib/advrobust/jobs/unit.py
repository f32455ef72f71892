"""A unit of work: one cached product of the book and what it needs.

Every expensive step already caches its result under :func:`advrobust.runtime.cache_root`: a
trained model's ``final.pt``, a finished attack run's file. A :class:`Unit` names those files
(``products``, relative to the cache root), how to make them (``run``, which calls the very
function a chapter calls, so a chapter run afterwards finds them cached) and the units whose
products it reads (``needs``: an attack needs its model). A unit is done when its products exist;
``run`` is idempotent and resumes an interrupted run from its checkpoint.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..errors import require
from ..runtime import cache_root

KINDS = ("train", "text-train", "dialogue-train", "self-play", "attack", "cpu")


@dataclass(frozen=True)
class Resources:
    """What one job of a kind asks of a cluster (set per profile in :mod:`advrobust.profiles.jobs`)."""

    gpus: int  # GPUs per job (0: a CPU job); more than 1 runs the trainer under torchrun
    cpus: int  # CPU cores per job (data loading, CPU-bound attacks)
    minutes: int  # wall-clock limit of one attempt; a preempted or timed-out job is requeued

    def __post_init__(self) -> None:
        require(self.gpus >= 0 and self.cpus >= 1 and self.minutes >= 1,
                f"need gpus >= 0, cpus >= 1 and minutes >= 1, got {self.gpus}, {self.cpus}, {self.minutes}")


@dataclass(frozen=True)
class Work:
    """How much a unit computes, for ``plan --estimate``: ``amount`` items (training images, model
    queries, sentence pairs) at the rate ``probe`` measures on a device, in items per second.
    Units whose probes share a ``label`` share one measurement."""

    amount: float  # items the whole unit processes, e.g. epochs x training images
    what: str  # the items, for people: "images", "queries", "sentence pairs"
    label: str  # names the measurement, e.g. "train wrn34_10 cifar10 PGD-AT, batch 128"
    probe: Callable[[torch.device], float] = field(compare=False, repr=False)  # items per second


@dataclass(frozen=True)
class Unit:
    """One cached product of a chapter (see the module docstring)."""

    name: str  # unique in a plan: the product's directory or file name in the cache
    kind: str  # one of KINDS: picks the job's Resources
    chapter: str  # the chapter page that uses it (the first one, when several share it)
    products: tuple[str, ...]  # files it writes, relative to the cache root
    run: Callable[[torch.device], object] = field(compare=False, repr=False)  # makes the products
    needs: tuple[str, ...] = ()  # names of the units whose products ``run`` reads
    work: Work | None = field(default=None, compare=False)  # its cost, for --estimate (None: not estimated)
    # makes the products in N processes (torchrun, one per GPU of a multi-GPU job); None: one process only
    distributed: Callable[[int], object] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        require(self.kind in KINDS, f"unknown job kind {self.kind!r}; use one of {', '.join(KINDS)}")
        require(len(self.products) >= 1, f"unit {self.name!r} names no product")

    def paths(self, cache_dir: Path | str | None = None) -> list[Path]:
        """Its products' paths under the cache root."""
        return [cache_root(cache_dir) / product for product in self.products]

    def done(self, cache_dir: Path | str | None = None) -> bool:
        """Whether every product is in the cache."""
        return all(path.exists() for path in self.paths(cache_dir))

