"""This process's share of data-parallel training, and the collectives that keep the ranks equal.

Under ``torchrun`` (``torch.distributed`` initialised, world size W > 1) every rank draws the same
permutation of the epoch (it is seeded by ``(config.seed, e)``) and, of each global batch of
``config.batch_size`` = B examples, takes the rows ``[r b, (r + 1) b)``, b = B / W. The model is
wrapped in DistributedDataParallel, whose all-reduce averages the gradients over the ranks; with
equal local batches the average of the local mean losses is the mean loss of the global batch, so
every step is one process's step on the same B examples up to floating-point order. Everything else
a rank holds is kept identical by :class:`Shard`:

* a defense's learned parameters (SPROUT's β) are broadcast from rank 0 at the start and their
  gradients averaged like the model's before their optimiser steps. One with the shape of the
  training batch (Free AT's δ, one row per position of the batch) stays the whole global batch's
  tensor on every rank; each rank's loss sees its own rows, so the averaged gradient is again one
  process's;
* per-example state (CAT's ε_i) is updated by each rank for its own examples only; an example
  belongs to one rank in an epoch and the defense reads the rows of its batch alone, so the rows
  are exchanged once, at the end of the epoch (:meth:`Shard.share_rows`), before the history and
  the checkpoint see them;
* checkpoints are written by rank 0 between two barriers (:meth:`Shard.save`).

Normalisation layers stay per rank (no SyncBatchNorm): batch statistics come from the rank's b
examples, and DistributedDataParallel broadcasts rank 0's running statistics with every forward
pass, the practice of data-parallel ImageNet training (and of ``nn.DataParallel``). Only models
without BatchNorm therefore train exactly as one process does.

DistributedDataParallel runs with its defaults: every trainable parameter must take part in each
step's loss (it names any that does not), and attack steps that take gradients of the input only
(``torch.autograd.grad``) communicate nothing.

On one process (no process group, or W = 1) every method is the identity and nothing is
communicated, so single-process training is unchanged.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from ..errors import ConfigError, require
from ..runtime import resolve_device
from .checkpoint import save_atomic

TORCHRUN_VARIABLES = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


@dataclass(frozen=True)
class Shard:
    """Rank ``rank`` of ``world`` data-parallel processes (0 of 1: a single process)."""

    rank: int = 0
    world: int = 1

    @classmethod
    def current(cls) -> Shard:
        """This process's shard: from the initialised process group, else a single process."""
        if dist.is_available() and dist.is_initialized():
            return cls(dist.get_rank(), dist.get_world_size())
        return cls()

    @property
    def parallel(self) -> bool:
        """True when there are several ranks to keep in step."""
        return self.world > 1

    @property
    def main(self) -> bool:
        """True on rank 0, the one that writes files and shows progress."""
        return self.rank == 0

    def check(self, batch_size: int, examples: int) -> None:
        """One-line ConfigErrors unless every rank gets an equal share of full global batches."""
        if self.parallel:
            require(batch_size % self.world == 0,
                    f"batch_size {batch_size} must be divisible by the {self.world} processes")
            require(examples >= batch_size,
                    f"{examples} training examples are fewer than one global batch of {batch_size}")

    def local(self, rows: Tensor) -> Tensor:
        """This rank's share of a global batch ``rows`` (its rows ``[r b, (r + 1) b)``)."""
        if not self.parallel:
            return rows
        size = len(rows) // self.world
        return rows[self.rank * size : (self.rank + 1) * size]

    def rank_seed(self, seed: int) -> int:
        """The seed of this rank's own random stream (dropout, random starts, Dirichlet labels):
        ``seed`` itself on one process, else a seed derived from ``(seed, rank)``, so that ranks do
        not draw the same noise for different examples."""
        if not self.parallel:
            return seed
        return int(np.random.SeedSequence([seed, self.rank]).generate_state(1)[0])

    def replicate(self, model: nn.Module) -> nn.Module:
        """``model`` wrapped in DistributedDataParallel (``model`` itself on one process); its
        parameters must already say whether they train (``requires_grad``)."""
        if not self.parallel:
            return model
        device = next(model.parameters()).device
        return _Replicated(model, device_ids=[device] if device.type == "cuda" else None)

    def broadcast(self, tensors: Iterable[Tensor]) -> None:
        """Overwrite ``tensors`` with rank 0's values."""
        if self.parallel:
            for tensor in tensors:
                dist.broadcast(tensor.detach(), src=0)

    def local_parameters(self, learned: dict[str, Tensor], batch_shape: tuple[int, ...]) -> dict[str, Tensor]:
        """``learned`` as this rank's loss sees it: a parameter of the training batch's shape
        ``batch_shape`` (one row per position of the global batch, Free AT's δ) by its
        :meth:`local` rows, every other one whole."""
        if not self.parallel:
            return learned
        return {name: self.local(tensor) if tuple(tensor.shape) == batch_shape else tensor
                for name, tensor in learned.items()}

    def average_gradients(self, parameters: Iterable[Tensor]) -> None:
        """Replace each parameter's gradient by its mean over the ranks (a parameter that no
        rank's loss reached gets a zero gradient)."""
        if not self.parallel:
            return
        for parameter in parameters:
            if parameter.grad is None:
                parameter.grad = torch.zeros_like(parameter)
            dist.all_reduce(parameter.grad)
            parameter.grad.div_(self.world)

    def share_rows(self, state: dict[str, Tensor], order: Tensor, steps: int, batch_size: int) -> None:
        """After an epoch of ``steps`` global batches of ``batch_size`` taken in ``order``: give
        every rank the rows of ``state`` that the other ranks updated, in place."""
        if not self.parallel:
            return
        owners = order[: steps * batch_size].view(steps, self.world, -1).transpose(0, 1).reshape(self.world, -1)
        for values in state.values():
            owners = owners.to(values.device)
            gathered = [torch.empty_like(values[owners[0]]) for _ in range(self.world)]
            dist.all_gather(gathered, values[owners[self.rank]])
            values[owners.reshape(-1)] = torch.cat(gathered)

    def total(self, *tensors: Tensor) -> tuple[Tensor, ...]:
        """Each tensor summed over the ranks (the tensors themselves on one process)."""
        if not self.parallel:
            return tensors
        summed = tuple(tensor.clone() for tensor in tensors)
        for tensor in summed:
            dist.all_reduce(tensor)
        return summed

    def save(self, state: Any, path: Path) -> None:
        """Write ``state`` to ``path`` from rank 0 (:func:`save_atomic`) once every rank has
        arrived; every rank returns once the file is complete."""
        self.barrier()
        if self.main:
            save_atomic(state, path)
        self.barrier()

    def barrier(self) -> None:
        """Wait for every rank."""
        if self.parallel:
            dist.barrier()


class _Replicated(DistributedDataParallel):
    """DistributedDataParallel that answers the wrapped model's own attributes (``num_classes``,
    ``input_shape``), which the defenses ask of the model they are given."""

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            if name == "module":
                raise
            return getattr(self.module, name)


def save_from_main(state: Any, path: Path) -> None:
    """:meth:`Shard.save` for the current process: write from rank 0, every rank waits."""
    Shard.current().save(state, path)


@contextmanager
def process_group(device: str = "auto") -> Iterator[torch.device]:
    """The process group of a ``torchrun`` launch, for the block; yields this rank's device.

    Reads torchrun's variables (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``,
    ``MASTER_PORT``). On ``device`` "cuda" (or "auto" where CUDA is present) every rank takes the
    GPU of its local rank and talks over NCCL; on "cpu" the ranks talk over gloo.
    """
    require(device in ("auto", "cpu", "cuda"), f"device must be 'auto', 'cpu' or 'cuda', got {device!r}")
    missing = [name for name in TORCHRUN_VARIABLES if name not in os.environ]
    if missing:
        raise ConfigError(f"not launched by torchrun: {', '.join(missing)} unset; run "
                          f"torchrun --nproc_per_node=<GPUs> -m advrobust.training.distributed <run.json>")
    if device == "cuda" or (device == "auto" and torch.cuda.is_available()):
        chosen = resolve_device(f"cuda:{os.environ.get('LOCAL_RANK', '0')}")
        torch.cuda.set_device(chosen)
        dist.init_process_group("nccl", device_id=chosen)
    else:
        chosen = torch.device("cpu")
        dist.init_process_group("gloo")
    try:
        yield chosen
    finally:
        dist.destroy_process_group()
