"""The vicinal-risk frame of thesis §5.2 that every robust-training method here is written in.

Eq. (5.4) writes the training loss of a whole family of defenses (Table 5.1) as one generalised
cross-entropy over a virtual pair (x~, y~) drawn from the vicinity (5.3) of a training pair (x, y):

    H(x~, y~, f) = - sum_k  h(y~)_k · log g(f(x~))_k .

A :class:`Defense` therefore supplies, per batch, exactly these four things:

* :meth:`Defense.vicinal` — the virtual samples x~ and labels y~ (and, for methods with memory
  such as CAT, the updated per-example state);
* :meth:`Defense.log_g` — log g(f(x~)), the mapping of the predicted probabilities (identity
  for every method of Chapter 4);
* :meth:`Defense.h` — the mapping of the label distribution (identity unless a method says
  otherwise);
* :meth:`Defense.per_example_loss` — (5.4) itself, overridden only by methods whose objective has
  extra terms (TRADES' KL term, CAT's margin term (4.6)).

A defense may also *learn* parameters of its own (SPROUT's Dirichlet β, §5.3; Free AT's
perturbation δ): it declares them in :meth:`Defense.learned_parameters` with their optimiser
(:meth:`Defense.parameter_optimizer`, e.g. gradient ascent with ``maximize=True``) and schedule
(:meth:`Defense.parameter_lr_factor`). The trainer steps them after every optimiser step of the
model, from the same backward pass, saves them with their optimiser in every checkpoint and
restores them on resume; :meth:`vicinal` and the loss see them in ``state`` beside the batch's
per-example rows. A defense may also replay each batch (:attr:`Defense.replays`, Free AT's m): the
trainer then takes that many forward/backward passes and optimiser steps on every batch.

Every defense declares its row of Table 5.1 (:meth:`Defense.vicinal_form`), from which
:func:`~advrobust.defenses.vicinal_form.vicinal_risk_table` builds the table.

The trainer (:func:`advrobust.training.train`) does everything else: optimiser, schedule,
autocast, checkpoints, resume, progress and seeds. Randomness inside a defense uses torch's global
generator, which the trainer seeds per epoch, so runs are reproducible and resumable.

A defense is a frozen dataclass of its hyper-parameters; :meth:`Defense.key` hashes them and
names the checkpoints of a run.
"""
from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import ConfigError
from .vicinal_form import VicinalForm

State = dict[str, Tensor]  # per-example tensors (first dimension = training-set size) or learned parameters


@dataclass(frozen=True)
class VicinalBatch:
    """One batch of virtual pairs (x~, y~) from the vicinity distribution (5.3).

    ``state`` holds the batch's rows of any per-example state after this batch (e.g. CAT's eps_i);
    the trainer writes them back.
    """

    x: Tensor  # x~ (N, C, H, W), inside the input bounds
    y: Tensor  # y~ (N, K), every row a probability vector
    state: Mapping[str, Tensor] = field(default_factory=dict)
    extra: tuple[Tensor, ...] = ()  # further virtual inputs of the same examples, each like x (AdvProp's extra BNs)


class Defense(ABC):
    """A robust-training method in the form (5.4); subclasses are frozen dataclasses.

    Subclasses implement :meth:`vicinal` and :meth:`vicinal_form` and may override :meth:`log_g`,
    :meth:`h`, :meth:`per_example_loss`, :meth:`initial_state`, :meth:`learned_parameters` (with
    :meth:`parameter_optimizer`), :attr:`replays` and :meth:`summary`.
    """

    name: ClassVar[str]  # the registry name

    @abstractmethod
    def vicinal(self, model: nn.Module, x: Tensor, y: Tensor, state: State) -> VicinalBatch:
        """(x~, y~) for the clean batch ``x`` (N, C, H, W) with labels ``y`` (N,)."""

    @abstractmethod
    def vicinal_form(self) -> VicinalForm:
        """This defense's row of Table 5.1 (g, h, x~, y~ of Eq. (5.4)) under its settings."""

    @property
    def replays(self) -> int:
        """How many times the trainer replays each batch (one forward/backward pass and one
        step of every optimiser each time); 1 unless a defense says otherwise (Free AT's m)."""
        return 1

    def log_g(self, logits: Tensor, batch: VicinalBatch) -> Tensor:
        """log g(f(x~)) (N, K): the identity mapping g = I gives the log-softmax."""
        return F.log_softmax(logits.float(), dim=1)

    def h(self, batch: VicinalBatch) -> Tensor:
        """h(y~) (N, K): the identity mapping h = I returns the label distribution unchanged."""
        return batch.y

    def per_example_loss(
        self, model: nn.Module, x: Tensor, y: Tensor, batch: VicinalBatch
    ) -> tuple[Tensor, Tensor]:
        """Eq. (5.4) per example (N,), and the logits on x~ (scored as training accuracy)."""
        logits = model(batch.x)
        return generalized_cross_entropy(self.log_g(logits, batch), self.h(batch)), logits

    def initial_state(self, n: int, device: torch.device) -> State:
        """Per-example state at the start of training (none by default)."""
        return {}

    def learned_parameters(
        self, model: nn.Module, device: torch.device, batch_shape: tuple[int, ...]
    ) -> State:
        """The defense's own learned tensors for training ``model`` (leaf tensors with
        ``requires_grad``, e.g. one entry per class: :func:`class_count`, or one per input of a
        training batch of shape ``batch_shape`` = (batch size, *input shape)), by name; none by
        default. Their names must differ from the per-example state's."""
        return {}

    def parameter_optimizer(self, parameters: list[Tensor]) -> torch.optim.Optimizer:
        """The optimiser of :meth:`learned_parameters` (called only when there are some)."""
        raise NotImplementedError(f"{type(self).__name__} learns parameters but names no optimiser")

    def parameter_lr_factor(self, step: int, total_steps: int) -> float:
        """The multiplier of the learned parameters' learning rate at optimiser step ``step`` of
        ``total_steps`` (constant by default)."""
        return 1.0

    def summary(self, state: State) -> dict[str, float]:
        """Per-epoch statistics of the per-example state and the learned parameters (both in
        ``state``), kept in the training history."""
        return {}

    def batch_loss(
        self, model: nn.Module, x: Tensor, y: Tensor, state: State
    ) -> tuple[Tensor, Tensor, Mapping[str, Tensor]]:
        """One training step's (mean loss, logits on x~, updated state rows)."""
        batch = self.vicinal(model, x, y, state)
        losses, logits = self.per_example_loss(model, x, y, batch)
        return losses.mean(), logits, batch.state

    def to_dict(self) -> dict[str, Any]:
        """The defense's name and hyper-parameters as JSON-ready primitives."""
        return {"defense": self.name, **asdict(self)}  # type: ignore[call-overload]

    def key(self) -> str:
        """A 12-hex-digit hash of :meth:`to_dict`: equal settings share it."""
        text = json.dumps(self.to_dict(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


def generalized_cross_entropy(log_g: Tensor, h: Tensor) -> Tensor:
    """Eq. (5.4) per example: ``-sum_k h_k log g_k`` for (N, K) inputs; returns (N,)."""
    return -(h.float() * log_g).sum(dim=1)


def class_count(model: nn.Module) -> int:
    """K for label distributions: ``model.num_classes`` (every registered model has it), else the
    output width of the model's last linear layer."""
    declared = getattr(model, "num_classes", None)
    if isinstance(declared, int):
        return declared
    linear = [module for module in model.modules() if isinstance(module, nn.Linear)]
    if not linear:
        raise ConfigError("cannot tell the number of classes: give the model a num_classes attribute")
    return linear[-1].out_features


def one_hot(y: Tensor, num_classes: int) -> Tensor:
    """(N, K) float one-hot rows of the labels ``y`` (N,)."""
    return F.one_hot(y, num_classes).float()
