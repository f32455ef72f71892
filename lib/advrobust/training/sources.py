"""Where the trainer's batches come from: tensors held in memory, or images streamed from disk.

MNIST and CIFAR fit in memory (on the GPU): :class:`InMemory` gathers each batch from the
tensors. ImageNet does not: :class:`Streamed` reads a ``Dataset`` (torchvision's ImageFolder) with
DataLoader workers that decode and transform the images on the fly, into pinned memory on CUDA.

Both serve the batches of one :class:`Epoch` identically: the global batch ``step`` is the slice
``[step B, (step + 1) B)`` of the epoch's permutation, of which this process takes its
:meth:`~advrobust.training.shard.Shard.local` rows, and ``config.augment``'s crop-and-flip
(:func:`random_crop_flip`) is drawn from the epoch's generator on the decoded tensors, batch after
batch, in the main process. A ``Dataset`` that returns the in-memory tensors therefore gives
exactly the in-memory batches. Under several processes the in-memory source augments the whole
global batch and keeps its rows (the draws of one process); a streamed rank reads only its own
images, so streamed data takes its augmentation from the dataset's transform there instead.

The dataset's own random transforms (ImageNet's random-resized crop) run in the workers. Each
image is transformed under a seed of its own, drawn from the epoch's seed and its index, so they
do not depend on the number of workers or processes and a resumed run repeats them.
"""
from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Subset

from ..data.streamed import SizedDataset, streamed_dataset
from ..data.tensors import TensorData
from ..errors import require
from .augment import random_crop_flip
from .config import TrainConfig
from .shard import Shard

Batch = tuple[Tensor, Tensor, Tensor]  # this process's example indices (on the device), inputs, labels
MAX_WORKERS = 8  # DataLoader workers per process at most


@dataclass(frozen=True)
class Epoch:
    """The batches of one epoch: ``steps`` global batches of ``batch_size`` from ``order``."""

    order: Tensor  # the epoch's permutation of the example indices (CPU)
    steps: int
    batch_size: int  # B, the global batch
    shard: Shard  # this process's rows of each global batch
    augment: torch.Generator | None  # the generator of random_crop_flip; None: no augmentation
    transform_seed: int  # seeds each example's random dataset transform (streamed data)

    def global_batches(self, device: torch.device) -> Iterator[Tensor]:
        """The example indices of each global batch, on ``device``."""
        order = self.order.to(device)
        for step in range(self.steps):
            yield order[step * self.batch_size : (step + 1) * self.batch_size]


class BatchSource(ABC):
    """Examples 0..N-1 of a training set, served as the batches of an :class:`Epoch`."""

    @abstractmethod
    def __len__(self) -> int:
        """N, the number of examples."""

    @property
    @abstractmethod
    def example_shape(self) -> tuple[int, ...]:
        """The shape of one input, e.g. (C, H, W)."""

    @abstractmethod
    def to(self, device: torch.device) -> BatchSource:
        """This source, serving its batches on ``device``."""

    @abstractmethod
    def batches(self, epoch: Epoch) -> Iterator[Batch]:
        """This process's share of each of the epoch's global batches, in order."""


@dataclass(frozen=True)
class InMemory(BatchSource):
    """Inputs ``x`` (N, ...) and labels ``y`` (N,) on one device; batches are gathered there."""

    x: Tensor
    y: Tensor

    def __len__(self) -> int:
        return len(self.x)

    @property
    def example_shape(self) -> tuple[int, ...]:
        return tuple(self.x.shape[1:])

    def to(self, device: torch.device) -> InMemory:
        return InMemory(self.x.to(device), self.y.to(device))

    def batches(self, epoch: Epoch) -> Iterator[Batch]:
        for batch in epoch.global_batches(self.x.device):
            xb, yb = self.x[batch], self.y[batch]
            if epoch.augment is not None:
                xb = random_crop_flip(xb, epoch.augment)
            yield epoch.shard.local(batch), epoch.shard.local(xb), epoch.shard.local(yb)


@dataclass(frozen=True)
class Streamed(BatchSource):
    """A ``Dataset`` of (input tensor, label) pairs read by ``workers`` DataLoader workers
    (0: in the main process) and moved to ``device``, through pinned memory on CUDA."""

    dataset: SizedDataset
    workers: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    def __post_init__(self) -> None:
        require(self.workers >= 0, f"workers must be >= 0, got {self.workers}")

    def __len__(self) -> int:
        return len(self.dataset)

    @property
    def example_shape(self) -> tuple[int, ...]:
        return tuple(_Seeded(self.dataset, 0)[0][0].shape)

    def to(self, device: torch.device) -> Streamed:
        return replace(self, device=device)

    def batches(self, epoch: Epoch) -> Iterator[Batch]:
        require(epoch.augment is None or not epoch.shard.parallel,
                "config.augment crops whole global batches; with several processes streamed images "
                "take their augmentation from the dataset's transform")
        indices = [epoch.shard.local(batch).tolist() for batch in epoch.global_batches(torch.device("cpu"))]
        loader = DataLoader(  # its own generator: starting the workers leaves torch's global one alone
            _Seeded(self.dataset, epoch.transform_seed), batch_sampler=indices, num_workers=self.workers,
            pin_memory=self.device.type == "cuda", generator=torch.Generator(),
        )
        for rows, (xb, yb) in zip(indices, loader, strict=True):
            xb = xb.to(self.device, non_blocking=True)
            if epoch.augment is not None:
                xb = random_crop_flip(xb, epoch.augment)
            yield torch.tensor(rows, device=self.device), xb, yb.to(self.device, non_blocking=True)


class _Seeded(Dataset[Any]):
    """``dataset`` whose item ``i`` is read with torch's generator seeded from ``(seed, i)``
    (restored afterwards), so its random transform does not depend on where it runs."""

    def __init__(self, dataset: SizedDataset, seed: int) -> None:
        self.dataset = dataset
        self.seed = seed

    def __getitem__(self, index: int) -> Any:
        with torch.random.fork_rng(devices=[]):  # torch seeds from 32 bits: hash (seed, i) into them
            torch.manual_seed(int(np.random.SeedSequence([self.seed, index]).generate_state(1)[0]))
            return self.dataset[index]


def streamed_training_split(config: TrainConfig, data_root: Path | str | None) -> Streamed:
    """The training split of the streamed dataset ``config.dataset`` (with its training
    augmentation), reduced to ``config.train_subset`` (the examples ``TensorData.subset`` keeps)
    and read by :func:`default_workers` workers."""
    dataset = streamed_dataset(config.dataset, "train", data_root)
    if config.train_subset is not None:
        every = torch.arange(len(dataset))
        kept = TensorData(every[:, None], every, (), config.dataset).subset(config.train_subset, config.seed).y
        dataset = Subset(cast(Dataset[Any], dataset), kept.tolist())
    return Streamed(dataset, default_workers())


def default_workers() -> int:
    """DataLoader workers per process: the CPU cores this process may use (a Slurm allocation's,
    not the node's) shared by the processes of this machine (torchrun's ``LOCAL_WORLD_SIZE``), at
    most :data:`MAX_WORKERS`."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(MAX_WORKERS, cores // int(os.environ.get("LOCAL_WORLD_SIZE", "1"))))
