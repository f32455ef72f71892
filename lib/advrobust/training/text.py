"""The trainer of Chapter 3.1's text models, resumable epoch by epoch, and their on-disk cache.

Two families train here (thesis §3.1.3): the attacked sequence-to-sequence model (family
``"seq2seq"``, :class:`~advrobust.models.Seq2Seq`), by teacher-forced token cross-entropy, and
Table 3.5's language model (family ``"language_model"``, :class:`~advrobust.models.LanguageModel`)
on the source side of the same pairs, by next-token cross-entropy. Both losses average over the
target tokens and ignore padding.

Data: a :class:`~advrobust.data.TensorData` whose ``x`` (N, S) holds the source sentences (ids
without BOS/EOS, right-padded with PAD) and, for a seq2seq model, whose ``y`` (N, T) holds the
targets as OpenNMT's ``tgt`` field, ``BOS w_1 .. w_M EOS`` then PAD
(``Vocabulary.encode(words, bos=True, eos=True)``); a language model reads ``x`` only.

One epoch = ``len(data) // batch_size`` batches (at least one) over a fresh permutation, the last
incomplete batch dropped as in :mod:`.loop`. Batches are bucketed by length: each window of
:data:`BUCKET_BATCHES` batches of the permutation is sorted by target length (source length for a
language model) before it is cut into batches, the batches are then shuffled, and each is cut to
its longest sentence, so little time goes to padding (about a quarter of a batch otherwise).
Epoch ``e`` draws its order and dropout from streams seeded with ``(config.seed, e)``, so a run
resumed from ``last.pt`` equals the uninterrupted run bit for bit.

Departure from the author's OpenNMT-py recipe (SGD, lr 1.0, halved per epoch after epoch 8,
13 epochs): Adam with a constant lr of 1e-3 (torch's fused implementation, 4x faster than the
default on the CPU), which converges in the few epochs a CPU allows; OpenNMT's gradient-norm
clipping at 5 is kept. Training runs in float32 on every device.

Cache: ``<cache_root>/<model>-<data_key>-<key>/`` holds ``config.json``, ``last.pt`` (the
resumable state and history, rewritten every epoch) and ``final.pt`` (the weights), all read with
``weights_only=True``.
"""
from __future__ import annotations

import inspect
import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.optim import Adam
from tqdm import tqdm

from ..data import TensorData
from ..data.vocab import BOS, EOS, PAD, SPECIALS
from ..errors import require
from ..models import next_token_pairs
from ..registry import create, family, lookup
from ..runtime import resolve_device
from .cached_runs import (
    LAST_CHECKPOINT,
    History,
    cached_model,
    config_key,
    recorded_history,
    resume_state,
    run_directory,
)
from .checkpoint import save_atomic

logger = logging.getLogger(__name__)

TEXT_FAMILIES = ("seq2seq", "language_model")
BUCKET_BATCHES = 100  # batches per window sorted by length
PROBE_STEPS = 4  # optimizer steps a rate probe times, after one untimed warm-up step
ModelOption = tuple[str, int | float | bool]


@dataclass(frozen=True)
class TextTrainConfig:
    """Everything that determines a trained text model, given the data ``data_key`` names; bad
    values raise a one-line ConfigError.

    >>> TextTrainConfig("seq2seq_lstm", "multi30k-min3",
    ...                 model_options=(("src_vocab_size", 4568), ("tgt_vocab_size", 5382)))  # doctest: +SKIP
    """

    model: str  # a registered model of family "seq2seq" or "language_model"
    data_key: str  # names the corpus and its vocabularies: different data never share a cache entry
    model_options: tuple[ModelOption, ...] = ()  # (name, value) arguments of the model's factory
    # (vocabulary sizes, embedding_dim, hidden_size, ...), kept sorted by name
    epochs: int = 5  # passes over the training pairs
    batch_size: int = 64  # sentences per optimizer step (OpenNMT's default)
    lr: float = 1e-3  # Adam's learning rate, constant
    max_grad_norm: float = 5.0  # gradient-norm clipping (OpenNMT's default)
    seed: int = 0  # seeds the initial weights, the shuffling and dropout

    def __post_init__(self) -> None:
        require(all(isinstance(o, tuple) and len(o) == 2 and isinstance(o[0], str) for o in self.model_options),
                f"model_options must be (name, value) pairs, got {self.model_options!r}")
        object.__setattr__(self, "model_options", tuple(sorted(self.model_options, key=lambda o: o[0])))
        require(family("model", self.model) in TEXT_FAMILIES,
                f"model {self.model!r} is not a text model; text families: {', '.join(TEXT_FAMILIES)}")
        accepted = inspect.signature(lookup("model", self.model)).parameters
        names = [name for name, _ in self.model_options]
        require(len(set(names)) == len(names), f"model_options repeat a name: {names}")
        unknown = sorted(set(names) - set(accepted))
        require(not unknown, f"model {self.model!r} takes no {unknown}; it takes {', '.join(accepted)}")
        require(bool(self.data_key) and "/" not in self.data_key,
                f"data_key must be a non-empty name without '/', got {self.data_key!r}")
        require(self.epochs > 0, f"epochs must be positive, got {self.epochs}")
        require(self.batch_size > 0, f"batch_size must be positive, got {self.batch_size}")
        require(self.lr > 0, f"lr must be positive, got {self.lr}")
        require(self.max_grad_norm > 0, f"max_grad_norm must be positive, got {self.max_grad_norm}")
        require(self.seed >= 0, f"seed must be >= 0, got {self.seed}")

    @property
    def family(self) -> str:
        """The model's family, ``"seq2seq"`` or ``"language_model"``."""
        return family("model", self.model)

    def to_dict(self) -> dict[str, Any]:
        """The fields as JSON-ready primitives (``model_options`` as a dict)."""
        return {**asdict(self), "model_options": dict(self.model_options)}

    def build_model(self) -> nn.Module:
        """A fresh instance of the model (initialised from torch's global random state)."""
        return create("model", self.model, **dict(self.model_options))

    def key(self) -> str:
        """A 12-hex-digit hash of :meth:`to_dict`: equal configs share it, any change alters it."""
        return config_key(self.to_dict())


def text_run_directory(config: TextTrainConfig, cache_dir: Path | str | None = None) -> Path:
    """``<cache_root>/<model>-<data_key>-<key>``: where ``config``'s checkpoints live."""
    return run_directory(config.model, config.data_key, config.key(), cache_dir)


def train_text_model(
    model: nn.Module,
    data: TensorData,
    config: TextTrainConfig,
    device: torch.device | str,
    checkpoint_dir: Path | None = None,
    progress: bool | None = None,
    stop_after_epoch: int | None = None,
) -> History:
    """Train ``model`` (built by ``config``) in place on ``data`` (see the module docstring).

    With ``checkpoint_dir``, ``last.pt`` there is rewritten after every epoch and, if present at
    the start, training resumes from it. ``stop_after_epoch`` ends the call once that many epochs
    are done. ``progress``: None shows a bar only on a terminal, True/False force it. Returns the
    per-epoch ``loss`` (mean token cross-entropy), ``accuracy`` (teacher-forced token accuracy),
    ``seconds`` of every epoch done so far. The model is left in eval mode.
    """
    device = resolve_device(device) if isinstance(device, str) else device
    x, y = _check_data(data, config)
    x, y = x.to(device), y.to(device)
    model.to(device)
    steps = max(1, len(x) // config.batch_size)
    optimizer = Adam(model.parameters(), lr=config.lr, fused=True)
    history: History = {"loss": [], "accuracy": [], "seconds": []}
    checkpoint = checkpoint_dir / LAST_CHECKPOINT if checkpoint_dir is not None else None
    first_epoch = 0
    if checkpoint is not None and checkpoint.exists():
        first_epoch, history = _resume(checkpoint, config, model, optimizer, device)
    end = config.epochs if stop_after_epoch is None else min(config.epochs, stop_after_epoch)
    bar = tqdm(total=max(0, end - first_epoch) * steps, desc=f"train {config.model}", unit="batch",
               disable=None if progress is None else not progress)
    with bar:
        for epoch in range(first_epoch, end):
            stats = _run_epoch(model, optimizer, x, y, config, epoch, steps, bar)
            for name, value in stats.items():
                history[name].append(value)
            logger.info("epoch %d/%d: loss %.4f (perplexity %.1f), token accuracy %.4f, %.0f s",
                        epoch + 1, config.epochs, stats["loss"], math.exp(stats["loss"]),
                        stats["accuracy"], stats["seconds"])
            bar.set_postfix(loss=f"{stats['loss']:.3f}", acc=f"{stats['accuracy']:.3f}")
            if checkpoint is not None:
                checkpoint.parent.mkdir(parents=True, exist_ok=True)
                save_atomic({"config_key": config.key(), "epoch": epoch + 1, "model": model.state_dict(),
                             "optimizer": optimizer.state_dict(), "history": history}, checkpoint)
    model.eval()
    return history


def trained_text_model(
    config: TextTrainConfig,
    data: TensorData,
    device: torch.device | str = "auto",
    cache_dir: Path | str | None = None,
    progress: bool | None = None,
) -> nn.Module:
    """The model trained by ``config`` on ``data``, in eval mode on ``device``: from the cache,
    else trained now (resuming an interrupted run from its ``last.pt``). The weights always come
    from ``final.pt``, so a fresh run and a cache hit return the same model.

    ``data`` must be the corpus ``config.data_key`` names; the cache cannot check it.
    """
    device = resolve_device(device) if isinstance(device, str) else device
    return cached_model(text_run_directory(config, cache_dir), config.to_dict(), config.seed, config.build_model,
                        lambda model, directory: train_text_model(model, data, config, device, directory, progress),
                        device)


def text_training_rate(config: TextTrainConfig, source_length: int, target_length: int,
                       device: torch.device | str) -> float:
    """Training sentence pairs per second of ``config``'s run on ``device``, for ``plan
    --estimate``: :func:`train_text_model` itself for :data:`PROBE_STEPS` optimizer steps (after
    one untimed step), on random sentences of ``source_length`` words and targets of
    ``target_length`` words, in vocabularies of the sizes in ``config``'s model options."""
    options = dict(config.model_options)
    source_words = int(options.get("src_vocab_size", options.get("vocab_size", 0)))
    target_words = int(options.get("tgt_vocab_size", source_words))
    generator = torch.Generator().manual_seed(0)
    model = config.build_model()
    one_epoch = replace(config, epochs=1)

    def train_on(pairs: int) -> None:
        words = torch.randint(len(SPECIALS), target_words, (pairs, target_length), generator=generator)
        y = torch.cat([torch.full((pairs, 1), BOS), words, torch.full((pairs, 1), EOS)], dim=1)
        x = torch.randint(len(SPECIALS), source_words, (pairs, source_length), generator=generator)
        train_text_model(model, TensorData(x, y, (), "rate probe", PAD), one_epoch, device, progress=False)

    return timed_rate(train_on, config.batch_size, PROBE_STEPS * config.batch_size, device)


def timed_rate(run: Callable[[int], object], warm_up: int, timed: int, device: torch.device | str) -> float:
    """Items per second of ``run(timed)`` on ``device``, after an untimed ``run(warm_up)``."""
    device = resolve_device(device) if isinstance(device, str) else device
    run(warm_up)
    _synchronize(device)
    start = time.perf_counter()
    run(timed)
    _synchronize(device)
    return timed / (time.perf_counter() - start)


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def text_training_history(config: TextTrainConfig, cache_dir: Path | str | None = None) -> History:
    """The per-epoch history of a cached run (from its ``last.pt``)."""
    return recorded_history(text_run_directory(config, cache_dir), "trained_text_model")


def _check_data(data: TensorData, config: TextTrainConfig) -> tuple[Tensor, Tensor]:
    """``data``'s sources (N, S) and targets (N, T) after checking the conventions above."""
    x, y = data.x, data.y
    require(x.ndim == 2 and not x.dtype.is_floating_point and len(x) > 0,
            f"{data.name}: need (N, S) token ids, got {tuple(x.shape)} {x.dtype}")
    require(bool(x[:, 0].ne(PAD).all()), f"{data.name}: every source sentence needs at least one token")
    if config.family == "seq2seq":
        require(y.ndim == 2 and y.size(1) >= 2 and bool(y[:, 0].eq(BOS).all()),
                f"{data.name}: seq2seq targets must be (N, T) ids starting with BOS, got {tuple(y.shape)}")
    return x, y


def _run_epoch(
    model: nn.Module,
    optimizer: Adam,
    x: Tensor,
    y: Tensor,
    config: TextTrainConfig,
    epoch: int,
    steps: int,
    bar: tqdm,
) -> dict[str, float]:
    """One pass over a fresh permutation: mean token loss, token accuracy and seconds."""
    started = time.perf_counter()
    data_seed, global_seed = np.random.SeedSequence([config.seed, epoch]).generate_state(2)
    batches = _bucketed_batches(x if config.family == "language_model" else y, config.batch_size, steps,
                                torch.Generator().manual_seed(int(data_seed)))
    torch.manual_seed(int(global_seed))  # dropout
    loss_sum = torch.zeros((), device=x.device, dtype=torch.float64)
    correct = torch.zeros((), device=x.device, dtype=torch.long)
    tokens = 0
    model.train()
    for batch in batches:
        logits, targets = _logits_and_targets(model, x[batch], y[batch], config.family)
        loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=PAD)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
        optimizer.step()
        real = targets.ne(PAD)
        count = int(real.sum())
        loss_sum += loss.detach().double() * count
        correct += (logits.detach().argmax(dim=2).eq(targets) & real).sum()
        tokens += count
        bar.update()
    return {"loss": loss_sum.item() / tokens, "accuracy": correct.item() / tokens,
            "seconds": time.perf_counter() - started}


def _bucketed_batches(sequences: Tensor, batch_size: int, steps: int, generator: torch.Generator) -> Tensor:
    """(steps, batch_size) row indices: a random permutation, sorted by length within windows of
    :data:`BUCKET_BATCHES` batches, cut into batches taken in a random order."""
    size = min(batch_size, len(sequences))  # one smaller batch when there are too few sentences
    order = torch.randperm(len(sequences), generator=generator)[: steps * size]
    lengths = sequences.ne(PAD).sum(dim=1).cpu()[order]
    window = torch.arange(len(order)) // (size * BUCKET_BATCHES)
    order = order[torch.argsort(window * (sequences.size(1) + 1) + lengths, stable=True)]
    batches = order.view(steps, size)[torch.randperm(steps, generator=generator)]
    return batches.to(sequences.device)


def _logits_and_targets(model: nn.Module, src: Tensor, tgt: Tensor, kind: str) -> tuple[Tensor, Tensor]:
    """Logits (B, T, V) and target ids (B, T) of one batch, each cut to its longest sentence."""
    lengths = src.ne(PAD).sum(dim=1)
    src = src[:, : int(lengths.max())]
    if kind == "language_model":
        inputs, targets = next_token_pairs(src, lengths)
        return model(inputs), targets
    tgt = tgt[:, : int(tgt.ne(PAD).sum(dim=1).max())]
    return model(src, lengths, tgt[:, :-1]), tgt[:, 1:]


def _resume(path: Path, config: TextTrainConfig, model: nn.Module, optimizer: Adam,
            device: torch.device) -> tuple[int, History]:
    """Restore model and optimizer (in place) from ``path``; returns (epochs done, history)."""
    checkpoint = resume_state(path, config.key(), device)
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    return checkpoint["epoch"], checkpoint["history"]
