"""The one trainer of every defense, resumable epoch by epoch.

A defense (:class:`advrobust.defenses.Defense`) supplies the vicinal pairs (x~, y~) and the loss
(5.4) of each batch; this loop does the rest: optimiser, learning-rate schedule, bfloat16 autocast
and data on the device on CUDA, per-example state (e.g. CAT's eps_i) kept on the device and saved
in checkpoints, the defense's own learned parameters (e.g. SPROUT's β, Free AT's δ) stepped by
their optimiser after every optimizer step of the model and saved with it, resume, progress bar
and seeds. Natural training (the default defense) is Eq. (5.4) with x~ = x, y~ = y and g = h =
identity.

The examples come from a :class:`~advrobust.training.sources.BatchSource`: tensors in memory
(:func:`train`, MNIST and CIFAR) or a dataset streamed from disk by DataLoader workers
(:func:`train_on` with :class:`~advrobust.training.sources.Streamed`, ImageNet). One epoch =
``N // batch_size`` batches (at least one) over a fresh permutation; the last incomplete batch is
dropped, so every step sees ``batch_size`` examples. Each batch is replayed
``defense.replays`` times (1 but for Free AT), each replay one forward/backward pass and one step
of every optimizer, so an epoch takes ``replays`` optimizer steps per batch and the schedules
count those steps.

Reproducibility: epoch ``e`` draws all its randomness (shuffle order, augmentation, dropout and
anything random inside the defense: random starts, Dirichlet labels) from streams seeded with
``(config.seed, e)``. An interrupted run resumed from ``last.pt`` therefore continues exactly as
the uninterrupted run, and the checkpoint needs no RNG state.

Data parallelism: under ``torchrun`` (:mod:`advrobust.training.distributed`) each of W processes
takes 1/W of every global batch of ``batch_size`` and DistributedDataParallel averages the
gradients, so a step is one process's step on the same examples; :class:`~.shard.Shard` keeps the
per-example state and the learned parameters identical on every rank, rank 0 writes the
checkpoints, and a checkpoint resumes on any number of processes. The randomness of the model and
the defense (dropout, random starts) is then drawn per rank, from ``(config.seed, e, rank)``.

BN-only fine-tuning (thesis §6.2.1, Table 6.1): with ``config.trainable == "norm"`` the model's
optimizer holds only its norm layers' parameters (:func:`advrobust.norms.norm_parameters`); every
other parameter has its gradient switched off for the call (restored after) and stays bit-identical.
The norm layers' running statistics keep updating in train mode, as in the thesis.

Learning-rate schedules are one factor per optimizer step: ``constant``; ``cosine``, annealed per
step from ``lr`` to 0 over the whole run; ``multistep``, ``lr * gamma**k`` after the k-th milestone
epoch; ``onecycle`` (Smith & Topin 2019), a linear warm-up from 0 to ``lr`` over the first
:data:`ONECYCLE_WARMUP` of the steps, then cosine annealing to 0.
"""
from __future__ import annotations

import bisect
import hashlib
import logging
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.optim import SGD, Adam, Optimizer
from torch.optim.lr_scheduler import LambdaLR
from tqdm import tqdm

from ..defenses import Defense, Natural, State
from ..errors import ConfigError, require
from ..norms import norm_parameters
from .checkpoint import load_checkpoint
from .config import TrainConfig
from .shard import Shard
from .sources import BatchSource, Epoch, InMemory

logger = logging.getLogger(__name__)

History = dict[str, list[float]]

LAST_CHECKPOINT = "last.pt"
ONECYCLE_WARMUP = 0.25  # the fraction of a one-cycle run's steps spent warming up


@dataclass(frozen=True)
class StartFrom:
    """The trained run whose final weights another run starts from instead of a random
    initialisation: SPROUT's default start from a natural model (§5.3.4.1) and the "A+B"
    initialisations of Figure 5.6b."""

    config: TrainConfig  # the starting run's config
    defense: Defense | None = None  # and its defense (None: natural training)

    def key(self) -> str:
        """The starting run's :func:`run_key`."""
        return run_key(self.config, self.defense)


def run_key(config: TrainConfig, defense: Defense | None = None, start_from: StartFrom | None = None) -> str:
    """The hash naming a training run: ``config.key()`` for natural training from a random start
    (so natural runs keep their names), else a hash of the config's, the defense's and the starting
    run's keys."""
    if (defense is None or isinstance(defense, Natural)) and start_from is None:
        return config.key()
    text = f"{config.key()}-{(defense or Natural()).key()}"
    if start_from is not None:
        text += f"-from-{start_from.key()}"
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def place_model(model: nn.Module, device: torch.device) -> nn.Module:
    """Move ``model`` to ``device``, with channels-last weights on CUDA (and on the CPU for models
    whose ``channels_last_on_cpu`` is true); convolutions then run channels-last on any input."""
    if device.type == "cuda" or getattr(model, "channels_last_on_cpu", False):
        model.to(memory_format=torch.channels_last)
    return model.to(device)


def train(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    config: TrainConfig,
    device: torch.device | str,
    checkpoint_dir: Path | None = None,
    defense: Defense | None = None,
    progress: bool | None = None,
    stop_after_epoch: int | None = None,
    start_from: StartFrom | None = None,
) -> History:
    """Train ``model`` in place with ``defense`` (default natural training) on inputs ``x``
    (N, ...) (images (N, C, H, W) in [0, 1]) with labels ``y`` (N,), both moved to ``device``.

    With ``checkpoint_dir``, ``last.pt`` there is rewritten after every epoch (weights, optimizer,
    schedule, history and the defense's per-example state) and, if present at the start, training
    resumes from it. ``stop_after_epoch`` ends the call once that many epochs are done (the run can
    be continued later by calling again). ``start_from`` names the run whose weights ``model``
    already holds (it only enters the checkpoint's key). ``progress``: None shows a bar only on a
    terminal, True/False force it on/off. Returns the per-epoch history of every epoch done so
    far: ``loss`` and ``accuracy`` on the training batches (on x~), ``lr`` at the epoch start,
    ``seconds``, and the defense's :meth:`~advrobust.defenses.Defense.summary` of its state.
    """
    require(
        x.ndim >= 2 and len(x) == len(y) > 0,
        f"need x (N, ...) and y (N,), got {tuple(x.shape)} and {tuple(y.shape)}",
    )
    return train_on(model, InMemory(x, y), config, device, checkpoint_dir, defense, progress,
                    stop_after_epoch, start_from)


def train_on(
    model: nn.Module,
    source: BatchSource,
    config: TrainConfig,
    device: torch.device | str,
    checkpoint_dir: Path | None = None,
    defense: Defense | None = None,
    progress: bool | None = None,
    stop_after_epoch: int | None = None,
    start_from: StartFrom | None = None,
) -> History:
    """:func:`train` on the examples of ``source`` (in memory, or streamed from disk); on several
    processes, each trains on its share of every global batch (see the module docstring)."""
    device = torch.device(device)
    shard = Shard.current()
    require(len(source) > 0, "no training examples")
    shape = source.example_shape
    require(len(shape) == 3 or not config.augment,
            f"config.augment crops images (C, H, W), but the examples have shape {shape}")
    shard.check(config.batch_size, len(source))
    source = source.to(device)
    model = place_model(model, device)
    steps_per_epoch = max(1, len(source) // config.batch_size)
    images_per_epoch = min(len(source), steps_per_epoch * config.batch_size)
    defense = defense or Natural()
    batch_shape = (min(len(source), config.batch_size), *shape)
    learned = defense.learned_parameters(model, device, batch_shape)
    shard.broadcast(learned.values())
    optimizer_steps = steps_per_epoch * defense.replays  # per epoch
    trainable = _trainable_parameters(model, config)
    steppers = [_Stepper.for_model(trainable, config, optimizer_steps)]
    if learned:
        steppers.append(_Stepper.for_defense(defense, learned, config.epochs * optimizer_steps))
    key = run_key(config, defense, start_from)
    state = defense.initial_state(len(source), device)
    history: History = {"loss": [], "accuracy": [], "lr": [], "seconds": []}
    checkpoint = checkpoint_dir / LAST_CHECKPOINT if checkpoint_dir is not None else None
    first_epoch = 0
    if checkpoint is not None and checkpoint.exists():
        first_epoch, history, state = _resume(checkpoint, key, model, steppers, learned, device)
    end = config.epochs if stop_after_epoch is None else min(config.epochs, stop_after_epoch)
    bar = tqdm(
        total=max(0, end - first_epoch) * steps_per_epoch,
        desc=f"train {config.model}",
        unit="batch",
        disable=True if not shard.main else None if progress is None else not progress,
    )
    with bar, _only_trainable(model, trainable):
        run = _Run(shard.replicate(model), source, config, defense, state, learned, steppers, shard,
                   steps_per_epoch, batch_shape, device)
        for epoch in range(first_epoch, end):
            stats = _run_epoch(run, epoch, bar)
            for name, value in {**stats, **defense.summary({**state, **learned})}.items():
                history.setdefault(name, []).append(value)
            if shard.main:
                logger.info(
                    "epoch %d/%d: loss %.4f, accuracy %.4f, %.0f images/s",
                    epoch + 1, config.epochs, stats["loss"], stats["accuracy"],
                    images_per_epoch / stats["seconds"],
                )
            bar.set_postfix(loss=f"{stats['loss']:.3f}", acc=f"{stats['accuracy']:.3f}")
            if checkpoint is not None:
                _save_resume_state(checkpoint, key, epoch + 1, model, steppers, history, state, learned, shard)
    model.eval()
    return history


@dataclass(frozen=True)
class _Run:
    """What the epochs of one :func:`train_on` call share."""

    model: nn.Module  # what the defense trains: the model, wrapped for data parallelism on several processes
    source: BatchSource  # on ``device``
    config: TrainConfig
    defense: Defense
    state: State  # per-example tensors on the device, updated in place
    learned: State  # the defense's learned parameters
    steppers: list[_Stepper]  # the model's optimiser first, then the defense's
    shard: Shard
    steps: int  # global batches per epoch
    batch_shape: tuple[int, ...]  # (global batch size, *example shape)
    device: torch.device


def _run_epoch(run: _Run, epoch: int, bar: tqdm) -> dict[str, float]:
    """One pass over a fresh permutation, each batch replayed ``defense.replays`` times: the
    epoch's mean loss and accuracy (over every replay and every process), start lr and seconds.

    ``run.state`` is updated in place with the rows each replay returns; the defense sees them
    beside its learned parameters, which its own stepper updates from the same backward pass as
    the model's.
    """
    started = time.perf_counter()
    config, shard = run.config, run.shard
    data_seed, global_seed, transform_seed = np.random.SeedSequence([config.seed, epoch]).generate_state(3)
    generator = torch.Generator().manual_seed(int(data_seed))
    torch.manual_seed(shard.rank_seed(int(global_seed)))  # dropout and any randomness inside the defense
    order = torch.randperm(len(run.source), generator=generator)
    plan = Epoch(order, run.steps, config.batch_size, shard, generator if config.augment else None,
                 int(transform_seed))
    start_lr = run.steppers[0].optimizer.param_groups[0]["lr"]
    on_cuda = run.device.type == "cuda"
    autocast = torch.autocast(run.device.type, dtype=torch.bfloat16, enabled=config.bf16 and on_cuda)
    loss_sum = torch.zeros((), device=run.device)
    correct = torch.zeros((), device=run.device, dtype=torch.long)
    seen = torch.zeros((), device=run.device, dtype=torch.long)
    run.model.train()
    for batch, xb, yb in run.source.batches(plan):
        for _ in range(run.defense.replays):
            learned = shard.local_parameters(run.learned, run.batch_shape)
            with autocast:
                loss, logits, new_rows = run.defense.batch_loss(
                    run.model, xb, yb, {**{name: values[batch] for name, values in run.state.items()}, **learned}
                )
            for name, rows in new_rows.items():
                run.state[name][batch] = rows.to(run.state[name].dtype)
            for stepper in run.steppers:
                stepper.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            shard.average_gradients(run.learned.values())
            for stepper in run.steppers:
                stepper.step()
            loss_sum += loss.detach().float() * len(batch)
            correct += (logits.detach().argmax(1) == yb).sum()
            seen += len(batch)
        bar.update()
    shard.share_rows(run.state, order, run.steps, config.batch_size)
    loss_sum, correct, seen = shard.total(loss_sum, correct, seen)
    return {
        "loss": loss_sum.item() / seen.item(),
        "accuracy": correct.item() / seen.item(),
        "lr": start_lr,
        "seconds": time.perf_counter() - started,
    }


@dataclass(frozen=True)
class _Stepper:
    """An optimiser with its per-step learning-rate schedule: the model's, or a defense's own."""

    optimizer: Optimizer
    scheduler: LambdaLR

    @classmethod
    def for_model(cls, parameters: list[nn.Parameter], config: TrainConfig, steps_per_epoch: int) -> _Stepper:
        """The optimiser of the model's trained ``parameters``, its schedule spread over
        ``steps_per_epoch`` optimizer steps per epoch (batches times replays)."""
        optimizer = _optimizer(parameters, config)
        return cls(optimizer, LambdaLR(optimizer, _lr_factor(config, steps_per_epoch)))

    @classmethod
    def for_defense(cls, defense: Defense, learned: State, total_steps: int) -> _Stepper:
        optimizer = defense.parameter_optimizer(list(learned.values()))
        return cls(optimizer, LambdaLR(optimizer, lambda step: defense.parameter_lr_factor(step, total_steps)))

    def step(self) -> None:
        self.optimizer.step()
        self.scheduler.step()

    def state_dict(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])


def _trainable_parameters(model: nn.Module, config: TrainConfig) -> list[nn.Parameter]:
    """The parameters ``config.trainable`` trains: all of ``model``'s, or its norm layers' only."""
    if config.trainable == "all":
        return list(model.parameters())
    chosen = norm_parameters(model)
    require(bool(chosen), f"trainable='norm': model {config.model!r} has no norm layer parameters")
    return chosen


@contextmanager
def _only_trainable(model: nn.Module, trainable: list[nn.Parameter]) -> Iterator[None]:
    """Switch off the gradient of every parameter of ``model`` outside ``trainable`` (no backward
    work, no stale ``.grad``); every ``requires_grad`` comes back afterwards."""
    chosen = {id(parameter) for parameter in trainable}
    before = [(parameter, parameter.requires_grad) for parameter in model.parameters()]
    for parameter, _ in before:
        if id(parameter) not in chosen:
            parameter.requires_grad_(False)
    try:
        yield
    finally:
        for parameter, flag in before:
            parameter.requires_grad_(flag)


def _optimizer(parameters: list[nn.Parameter], config: TrainConfig) -> Optimizer:
    if config.optimizer == "adam":
        return Adam(parameters, lr=config.lr, weight_decay=config.weight_decay)
    return SGD(
        parameters, lr=config.lr, momentum=config.momentum,
        nesterov=config.nesterov, weight_decay=config.weight_decay,
    )


def _lr_factor(config: TrainConfig, steps_per_epoch: int) -> Callable[[int], float]:
    """The multiplier of ``config.lr`` at optimizer step ``step`` (0-based)."""
    total_steps = config.epochs * steps_per_epoch
    if config.schedule == "cosine":
        return lambda step: 0.5 * (1.0 + math.cos(math.pi * min(step, total_steps) / total_steps))
    if config.schedule == "onecycle":
        warmup = max(1, round(ONECYCLE_WARMUP * total_steps))
        return lambda step: (step + 1) / warmup if step < warmup else 0.5 * (
            1.0 + math.cos(math.pi * min(step - warmup, total_steps - warmup) / max(1, total_steps - warmup)))
    if config.schedule == "multistep":
        return lambda step: config.gamma ** bisect.bisect_right(
            config.milestones, step // steps_per_epoch
        )
    return lambda step: 1.0


def _save_resume_state(
    path: Path,
    key: str,
    epochs_done: int,
    model: nn.Module,
    steppers: list[_Stepper],
    history: History,
    defense_state: State,
    learned: State,
    shard: Shard,
) -> None:
    """Write ``last.pt`` from rank 0: everything :func:`_resume` needs (tensors and primitives only)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    checkpoint = {
        "config_key": key,
        "epoch": epochs_done,
        "model": model.state_dict(),
        "steppers": [stepper.state_dict() for stepper in steppers],
        "history": history,
        "defense_state": defense_state,
        "defense_parameters": {name: tensor.detach() for name, tensor in learned.items()},
    }
    shard.save(checkpoint, path)


def _resume(
    path: Path,
    key: str,
    model: nn.Module,
    steppers: list[_Stepper],
    learned: State,
    device: torch.device,
) -> tuple[int, History, State]:
    """Restore model, optimisers, schedules and the defense's learned parameters (in place) from
    ``path``; returns (epochs done, history so far, the defense's per-example state)."""
    checkpoint = load_checkpoint(path, device)
    if checkpoint["config_key"] != key:
        raise ConfigError(
            f"{path} was written by a different training config; delete it or use another directory"
        )
    model.load_state_dict(checkpoint["model"])
    for stepper, saved in zip(steppers, checkpoint["steppers"], strict=True):
        stepper.load_state_dict(saved)
    with torch.no_grad():
        for name, tensor in learned.items():
            tensor.copy_(checkpoint["defense_parameters"][name])
    return checkpoint["epoch"], checkpoint["history"], checkpoint.get("defense_state", {})
