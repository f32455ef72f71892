"""Supervised training of §3.2's negotiation agent (the "SV agent"), resumable epoch by epoch, and
its on-disk cache.

The thesis trains the target agents with the code of Lewis et al. (2017) "following their
instructions" (§3.2.5): first by supervised learning on the human dialogues of ``train.txt`` (the
SV agent, validation perplexity 5.47), then by reinforcement learning in self-play (the RL agent,
5.86). This module is the first step, the 2017 ``train.py``/``Engine`` recipe as the README of
the time gives it:

* loss = the language model's token cross-entropy over the whole dialogue (both agents' turns)
  + ``sel_weight`` (0.5) x the selection cross-entropy over the 6 output positions, in which the
  targets ``<disagree>`` and ``<disconnect>`` weigh 0;
* SGD, lr 1.0, momentum 0.1 with Nesterov, gradient-norm clipping at 0.5, batches of 16, dropout
  0.5 (in the model), 30 epochs, each over the dialogues in a fresh random order, sorted by
  length and cut into batches taken in random order (the 2017 ``_split_into_batches``; the last
  batch may be smaller);
* then annealing: the weights of the epoch with the lowest validation selection loss are taken
  back and trained one more epoch at a time with plain SGD (no momentum) at lr / 5, lr / 25, ...
  while the lr stays at least ``min_lr`` (0.01): two more epochs, at 0.2 and 0.04. The final
  weights are the last annealed ones.

Departures: padding is ignored in the language-model loss (the 2017 code scores the padding of
its length-sorted batches too); a batch whose selection targets all weigh 0 adds no selection
loss (the 2017 mean would be 0/0); validation perplexity is exp(mean negative log-likelihood per
predicted token) — every token after the first of each dialogue — where the 2017 code divides
the summed loss by all tokens, the first included. The notes (chapters-3-5-6.md) quote lr 5e-4 and
min_lr 5e-5 from the README as changed in February 2019 (commits 20fd2f1, 0246d24, with the later
hierarchical code); the thesis's code (cmhcbb/Robustness-of-Dialogue-systems) copies the 2018
code, and its RL script uses the earlier README's RL lr 0.5, so it most likely trained with the
earlier recipe used here (lr 1, min_lr 0.01), an inference.

Epoch ``e`` draws its order and dropout from streams seeded with ``(config.seed, e)``, so a run
resumed from ``last.pt`` equals the uninterrupted run bit for bit. Training runs in float32.

Cache: ``<cache_root>/<model>-<data_key>-<key>/`` holds ``config.json``, ``last.pt`` (the
resumable state, the best weights so far and the history, rewritten every epoch) and
``final.pt`` (the weights), all read with ``weights_only=True``.

:class:`SupervisedAgentSettings` sizes a run; each profile's are in
:mod:`advrobust.profiles.dialogue` (``paper``: the recipe; ``quick``: torch's default
initialisation and Adam, which learn the selection many times faster, measurements there).
"""
from __future__ import annotations

import inspect
import logging
import math
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.optim import SGD, Adam, Optimizer
from tqdm import tqdm

from ..data.negotiation import (
    INPUT_LENGTH,
    MAX_COUNT,
    OUTPUT_TOKENS,
    SELECTION_LENGTH,
    TOTAL_VALUE,
    NegotiationData,
)
from ..data.vocab import SPECIALS
from ..errors import require
from ..models.dialogue_agent import DialogueAgent, dialogue_losses, selection_weights
from ..models.seq2seq import evaluating
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
from .text import PROBE_STEPS, timed_rate

logger = logging.getLogger(__name__)

DIALOGUE_FAMILY = "dialogue_agent"
DIALOGUE_OPTIMIZERS = ("sgd", "adam")

ModelOption = tuple[str, int | float | bool]


@dataclass(frozen=True)
class DialogueTrainConfig:
    """Everything that determines a trained dialogue agent, given the data ``data_key`` names
    (training and validation dialogues and the vocabulary); bad values raise a one-line
    ConfigError. Defaults: the 2017 supervised recipe (module docstring).

    >>> DialogueTrainConfig("negotiator_gru", "negotiate-unk20", (("vocab_size", 465),))  # doctest: +SKIP
    """

    model: str  # a registered model of family "dialogue_agent"
    data_key: str  # names the dialogues and the vocabulary: different data never share a cache entry
    model_options: tuple[ModelOption, ...] = ()  # (name, value) arguments of the model's factory, sorted
    epochs: int = 30  # max_epoch: epochs before annealing
    batch_size: int = 16  # bsz
    optimizer: str = "sgd"  # "sgd" (the recipe) or "adam" (a CPU-budget departure, see profiles.dialogue)
    lr: float = 1.0  # the learning rate before annealing
    momentum: float = 0.1  # SGD's
    nesterov: bool = True  # SGD's
    max_grad_norm: float = 0.5  # clip
    sel_weight: float = 0.5  # weight of the selection loss
    decay_rate: float = 5.0  # annealing divides the lr by this each epoch ...
    min_lr: float = 0.01  # ... while it stays at least this (none when lr / decay_rate < min_lr)
    seed: int = 1  # seeds the initial weights, the batches and dropout (the 2017 default seed)

    def __post_init__(self) -> None:
        require(all(isinstance(o, tuple) and len(o) == 2 and isinstance(o[0], str) for o in self.model_options),
                f"model_options must be (name, value) pairs, got {self.model_options!r}")
        object.__setattr__(self, "model_options", tuple(sorted(self.model_options, key=lambda o: o[0])))
        require(family("model", self.model) == DIALOGUE_FAMILY,
                f"model {self.model!r} is not a dialogue agent (family {DIALOGUE_FAMILY!r})")
        accepted = inspect.signature(lookup("model", self.model)).parameters
        names = [name for name, _ in self.model_options]
        require(len(set(names)) == len(names), f"model_options repeat a name: {names}")
        unknown = sorted(set(names) - set(accepted))
        require(not unknown, f"model {self.model!r} takes no {unknown}; it takes {', '.join(accepted)}")
        require(bool(self.data_key) and "/" not in self.data_key,
                f"data_key must be a non-empty name without '/', got {self.data_key!r}")
        require(self.optimizer in DIALOGUE_OPTIMIZERS,
                f"unknown optimizer {self.optimizer!r}; use one of: {', '.join(DIALOGUE_OPTIMIZERS)}")
        require(self.epochs > 0, f"epochs must be positive, got {self.epochs}")
        require(self.batch_size > 0, f"batch_size must be positive, got {self.batch_size}")
        require(self.lr > 0 and self.min_lr > 0, f"lr and min_lr must be positive, got {self.lr}, {self.min_lr}")
        require(0 <= self.momentum < 1, f"momentum must be in [0, 1), got {self.momentum}")
        require(self.max_grad_norm > 0, f"max_grad_norm must be positive, got {self.max_grad_norm}")
        require(self.sel_weight >= 0, f"sel_weight must be >= 0, got {self.sel_weight}")
        require(self.decay_rate > 1, f"decay_rate must be above 1, got {self.decay_rate}")
        require(self.seed >= 0, f"seed must be >= 0, got {self.seed}")

    @property
    def anneal_lrs(self) -> tuple[float, ...]:
        """The learning rate of each annealing epoch: lr / decay^k while at least ``min_lr``."""
        lrs = []
        lr = self.lr / self.decay_rate
        while lr >= self.min_lr:
            lrs.append(lr)
            lr /= self.decay_rate
        return tuple(lrs)

    @property
    def total_epochs(self) -> int:
        """Training epochs plus annealing epochs."""
        return self.epochs + len(self.anneal_lrs)

    def to_dict(self) -> dict[str, Any]:
        """The fields as JSON-ready primitives (``model_options`` as a dict)."""
        return {**asdict(self), "model_options": dict(self.model_options)}

    def build_model(self) -> DialogueAgent:
        """A fresh instance of the model (initialised from torch's global random state)."""
        model = create("model", self.model, **dict(self.model_options))
        require(isinstance(model, DialogueAgent), f"model {self.model!r} is not a DialogueAgent")
        return model

    def key(self) -> str:
        """A 12-hex-digit hash of :meth:`to_dict`: equal configs share it, any change alters it."""
        return config_key(self.to_dict())


@dataclass(frozen=True)
class SupervisedAgentSettings:
    """How much of the recipe a profile runs; :meth:`config` fills a :class:`DialogueTrainConfig`."""

    epochs: int  # epochs before annealing (the recipe: 30)
    train_dialogues: int | None = None  # training lines used (None: all 10,095), a seeded subset
    optimizer: str = "sgd"  # the recipe's SGD, or Adam
    lr: float = 1.0  # the recipe's SGD lr
    min_lr: float = 0.01  # annealing epochs run at lr / 5, lr / 25, ... while >= min_lr
    model_options: tuple[ModelOption, ...] = ()  # size overrides (the recipe's sizes when empty)

    def config(self, vocab_size: int, data_key: str, seed: int = 1) -> DialogueTrainConfig:
        """The training config for a vocabulary of ``vocab_size`` words and the data ``data_key``
        (which must name the subset when ``train_dialogues`` is set)."""
        return DialogueTrainConfig("negotiator_gru", data_key, (("vocab_size", vocab_size), *self.model_options),
                                   epochs=self.epochs, optimizer=self.optimizer, lr=self.lr, min_lr=self.min_lr,
                                   seed=seed)


def dialogue_run_directory(config: DialogueTrainConfig, cache_dir: Path | str | None = None) -> Path:
    """``<cache_root>/<model>-<data_key>-<key>``: where ``config``'s checkpoints live."""
    return run_directory(config.model, config.data_key, config.key(), cache_dir)


def train_dialogue_model(
    model: DialogueAgent,
    train: NegotiationData,
    valid: NegotiationData,
    config: DialogueTrainConfig,
    device: torch.device | str,
    checkpoint_dir: Path | None = None,
    progress: bool | None = None,
    stop_after_epoch: int | None = None,
) -> History:
    """Train ``model`` (built by ``config``) in place on ``train``, validating on ``valid`` after
    every epoch (see the module docstring).

    With ``checkpoint_dir``, ``last.pt`` there is rewritten after every epoch and, if present at
    the start, training resumes from it. ``stop_after_epoch`` ends the call once that many epochs
    (annealing ones included) are done. Returns per epoch: ``lr``, ``loss`` (training token
    cross-entropy), ``select_loss`` (training selection cross-entropy), ``valid_loss`` and
    ``valid_perplexity`` (validation tokens), ``valid_select_loss``, ``seconds``. The model is
    left in eval mode.
    """
    device = resolve_device(device) if isinstance(device, str) else device
    require(len(train) > 0 and len(valid) > 0, "training and validation data must be non-empty")
    require(model.vocab_size == len(train.words), f"the model has {model.vocab_size} words, the data {len(train.words)}")
    train, valid = train.to(device), valid.to(device)
    model.to(device)
    optimizer = _optimizer(model, config, 0)
    history: History = {name: [] for name in ("lr", "loss", "select_loss", "valid_loss", "valid_perplexity",
                                              "valid_select_loss", "seconds")}
    best: dict[str, Tensor] | None = None
    best_loss = math.inf
    checkpoint = checkpoint_dir / LAST_CHECKPOINT if checkpoint_dir is not None else None
    first_epoch = 0
    if checkpoint is not None and checkpoint.exists():
        state = resume_state(checkpoint, config.key(), device)
        model.load_state_dict(state["model"])
        first_epoch, history, best, best_loss = state["epoch"], state["history"], state["best"], state["best_loss"]
        optimizer = _optimizer(model, config, first_epoch)
        if first_epoch < config.epochs:
            optimizer.load_state_dict(state["optimizer"])
    end = config.total_epochs if stop_after_epoch is None else min(config.total_epochs, stop_after_epoch)
    steps = math.ceil(len(train) / config.batch_size)
    weights = selection_weights(device)
    bar = tqdm(total=max(0, end - first_epoch) * steps, desc=f"train {config.model}", unit="batch",
               disable=None if progress is None else not progress)
    with bar:
        for epoch in range(first_epoch, end):
            if epoch == config.epochs and best is not None:  # annealing starts from the best weights
                model.load_state_dict(best)
            if epoch >= config.epochs:
                optimizer = _optimizer(model, config, epoch)
            started = time.perf_counter()
            loss, select_loss = _train_epoch(model, optimizer, train, config, epoch, weights, bar)
            valid_loss, valid_select = evaluate_dialogue_model(model, valid, weights=weights)
            stats = {"lr": optimizer.param_groups[0]["lr"], "loss": loss, "select_loss": select_loss,
                     "valid_loss": valid_loss, "valid_perplexity": math.exp(valid_loss),
                     "valid_select_loss": valid_select, "seconds": time.perf_counter() - started}
            for name, value in stats.items():
                history[name].append(value)
            if epoch < config.epochs and valid_select < best_loss:
                best_loss = valid_select
                best = {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}
            logger.info("epoch %d/%d: lr %.3g, loss %.3f, valid perplexity %.2f, valid select loss %.3f, %.0f s",
                        epoch + 1, config.total_epochs, stats["lr"], loss, stats["valid_perplexity"],
                        valid_select, stats["seconds"])
            bar.set_postfix(ppl=f"{stats['valid_perplexity']:.2f}")
            if checkpoint is not None:
                checkpoint.parent.mkdir(parents=True, exist_ok=True)
                save_atomic({"config_key": config.key(), "epoch": epoch + 1, "model": model.state_dict(),
                             "optimizer": optimizer.state_dict(), "best": best, "best_loss": best_loss,
                             "history": history}, checkpoint)
    model.eval()
    return history


def trained_dialogue_model(
    config: DialogueTrainConfig,
    train: NegotiationData,
    valid: NegotiationData,
    device: torch.device | str = "auto",
    cache_dir: Path | str | None = None,
    progress: bool | None = None,
) -> DialogueAgent:
    """The agent trained by ``config``, in eval mode on ``device``: from the cache, else trained now
    (resuming an interrupted run from its ``last.pt``). The weights always come from ``final.pt``,
    so a fresh run and a cache hit return the same model.

    ``train`` and ``valid`` must be the data ``config.data_key`` names; the cache cannot check it.
    """
    device = resolve_device(device) if isinstance(device, str) else device
    return cached_model(dialogue_run_directory(config, cache_dir), config.to_dict(), config.seed, config.build_model,
                        lambda model, directory: train_dialogue_model(model, train, valid, config, device, directory,
                                                                      progress), device)


def dialogue_training_rate(config: DialogueTrainConfig, dialogue_length: int, device: torch.device | str) -> float:
    """Training dialogues per second of ``config``'s run on ``device``, for ``plan --estimate``:
    :func:`train_dialogue_model` itself for :data:`~.text.PROBE_STEPS` batches (after one
    untimed batch), on random dialogues of ``dialogue_length`` tokens in a vocabulary of
    ``config``'s ``vocab_size``. The validation after each epoch reads one dialogue here, so a
    run's validation passes (forward only) are not in the rate."""
    vocab_size = int(dict(config.model_options)["vocab_size"])
    generator = torch.Generator().manual_seed(0)
    model = config.build_model()
    one_epoch = replace(config, epochs=1, min_lr=config.lr)  # no annealing epochs

    def dialogues(count: int) -> NegotiationData:
        counts = torch.randint(1, MAX_COUNT + 1, (count, INPUT_LENGTH // 2), generator=generator)
        values = torch.randint(0, TOTAL_VALUE + 1, (count, INPUT_LENGTH // 2), generator=generator)
        return NegotiationData(torch.stack([counts, values], dim=2).flatten(1),
                               torch.randint(len(SPECIALS), vocab_size, (count, dialogue_length), generator=generator),
                               torch.randint(0, len(OUTPUT_TOKENS), (count, SELECTION_LENGTH), generator=generator),
                               ("",) * vocab_size, "rate probe")

    def train_on(count: int) -> None:
        train_dialogue_model(model, dialogues(count), dialogues(1), one_epoch, device, progress=False)

    return timed_rate(train_on, config.batch_size, PROBE_STEPS * config.batch_size, device)


def dialogue_training_history(config: DialogueTrainConfig, cache_dir: Path | str | None = None) -> History:
    """The per-epoch history of a cached run (from its ``last.pt``)."""
    return recorded_history(dialogue_run_directory(config, cache_dir), "trained_dialogue_model")


def evaluate_dialogue_model(model: DialogueAgent, data: NegotiationData, batch_size: int = 256,
                            weights: Tensor | None = None) -> tuple[float, float]:
    """(mean token negative log-likelihood, mean selection loss) of ``data`` in eval mode;
    ``exp`` of the first is the validation perplexity the thesis reports (SV agent 5.47)."""
    device = next(model.parameters()).device
    nll = tokens = select = weight = 0.0
    order = torch.argsort(data.lengths().cpu(), stable=True)  # similar lengths together: less padding
    with evaluating(model):
        for start in range(0, len(data), batch_size):
            rows = order[start:start + batch_size].to(data.dialogue.device)
            sums = dialogue_losses(model, data.context[rows].to(device), data.dialogue[rows].to(device),
                                   data.selection[rows].to(device), weights)
            nll, tokens, select, weight = (a + float(b) for a, b in zip((nll, tokens, select, weight), sums))
    return nll / max(tokens, 1.0), select / max(weight, 1e-12)


def _train_epoch(model: DialogueAgent, optimizer: Optimizer, data: NegotiationData, config: DialogueTrainConfig,
                 epoch: int, weights: Tensor, bar: tqdm) -> tuple[float, float]:
    """One pass in the 2017 batch order: mean token loss and mean selection loss."""
    data_seed, global_seed = np.random.SeedSequence([config.seed, epoch]).generate_state(2)
    generator = torch.Generator().manual_seed(int(data_seed))
    torch.manual_seed(int(global_seed))  # dropout
    order = torch.randperm(len(data), generator=generator)
    order = order[torch.argsort(data.lengths().cpu()[order], stable=True)]
    batches = list(order.split(config.batch_size))
    nll_sum = select_sum = 0.0
    token_count = weight_count = 0.0
    model.train()
    for index in torch.randperm(len(batches), generator=generator).tolist():
        rows = batches[index].to(data.dialogue.device)
        nll, tokens, select, weight = dialogue_losses(model, data.context[rows], data.dialogue[rows],
                                                      data.selection[rows], weights)
        loss = nll / tokens.clamp(min=1) + config.sel_weight * select / weight.clamp(min=1e-12)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
        optimizer.step()
        nll_sum += float(nll.detach())
        token_count += float(tokens)
        select_sum += float(select.detach())
        weight_count += float(weight)
        bar.update()
    return nll_sum / max(token_count, 1.0), select_sum / max(weight_count, 1e-12)


def _optimizer(model: nn.Module, config: DialogueTrainConfig, epoch: int) -> Optimizer:
    """The recipe's SGD with momentum before annealing, plain SGD at the annealed lr after; with
    ``"adam"``, Adam throughout (a fresh one at each annealed lr)."""
    lr = config.lr if epoch < config.epochs else config.anneal_lrs[epoch - config.epochs]
    if config.optimizer == "adam":
        return Adam(model.parameters(), lr=lr)
    if epoch < config.epochs:
        return SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                   nesterov=config.nesterov and config.momentum > 0)
    return SGD(model.parameters(), lr=config.anneal_lrs[epoch - config.epochs])
