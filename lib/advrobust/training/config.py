"""The full description of one natural-training run; its hash names the run's checkpoints."""
from __future__ import annotations

import hashlib
import inspect
import json
from dataclasses import asdict, dataclass, fields
from typing import Any

from torch import nn

from ..data import CLASS_NAMES
from ..errors import require
from ..norms import norm_factory
from ..registry import create, lookup

OPTIMIZERS = ("adam", "sgd")
SCHEDULES = ("constant", "cosine", "multistep", "onecycle")
# "all": every parameter of the model trains; "norm": only its norm layers' (γ, β, RobMask's W and
# W′; advrobust.norms.norm_parameters), the BN-only fine-tuning of thesis §6.2.1 (Table 6.1).
TRAINABLE = ("all", "norm")
# Fields added after runs were cached: each enters to_dict() (and so the key) only when it differs
# from its default, so the runs cached before it keep their names.
LATE_FIELDS = ("trainable", "norm_layer")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines the trained weights (given the data); bad values raise ConfigError.

    The C&W recipe (CW17) is SGD, lr 0.01, momentum 0.9, Nesterov, batch 128, 50 epochs.

    :meth:`key` names a run's checkpoints. A field added after runs were cached (those in
    :data:`LATE_FIELDS`) enters the key only when it differs from its default, so adding a field
    never renames an existing run.
    """

    model: str  # registered model name, e.g. "cw_mnist"
    dataset: str  # dataset name for advrobust.data.load_dataset, e.g. "mnist"
    epochs: int = 10  # passes over the training set
    batch_size: int = 128  # examples per optimizer step
    optimizer: str = "sgd"  # "adam" | "sgd"
    lr: float = 0.01  # initial learning rate
    momentum: float = 0.9  # SGD momentum (Adam ignores it)
    nesterov: bool = False  # Nesterov momentum for SGD (CW17 uses it)
    weight_decay: float = 0.0  # L2 penalty added to the gradient by the optimizer
    schedule: str = "constant"  # "constant" | "cosine" (per step, to 0) | "multistep" (per epoch)
    # | "onecycle" (per step: linear warm-up from 0 to lr, then cosine to 0)
    milestones: tuple[int, ...] = ()  # multistep: after these many epochs, lr *= gamma
    gamma: float = 0.1  # multistep decay factor
    train_subset: int | None = None  # train on this many examples (seeded choice); None = all
    augment: bool = False  # random 4-pixel crop + horizontal flip per example (for CIFAR)
    seed: int = 0  # seeds the initial weights, shuffling, augmentation and dropout
    bf16: bool = True  # bfloat16 autocast on CUDA (no effect on the CPU)
    trainable: str = "all"  # "all" | "norm": the parameters the optimizer trains (see TRAINABLE)
    norm_layer: str = "bn"  # the model's normalisation layers (advrobust.norms: "bn", "dual_bn",
    # "robmask", "robmask_k<k>"); anything but "bn" is passed to the model's factory

    def __post_init__(self) -> None:
        object.__setattr__(self, "milestones", tuple(self.milestones))
        lookup("model", self.model)
        require(self.epochs > 0, f"epochs must be positive, got {self.epochs}")
        require(self.batch_size > 0, f"batch_size must be positive, got {self.batch_size}")
        require(self.lr > 0, f"lr must be positive, got {self.lr}")
        require(
            self.optimizer in OPTIMIZERS,
            f"unknown optimizer {self.optimizer!r}; available: {', '.join(OPTIMIZERS)}",
        )
        require(
            self.schedule in SCHEDULES,
            f"unknown schedule {self.schedule!r}; available: {', '.join(SCHEDULES)}",
        )
        require(self.momentum >= 0, f"momentum must be >= 0, got {self.momentum}")
        require(
            not self.nesterov or (self.optimizer == "sgd" and self.momentum > 0),
            "nesterov needs optimizer 'sgd' with momentum > 0",
        )
        require(self.weight_decay >= 0, f"weight_decay must be >= 0, got {self.weight_decay}")
        require(self.gamma > 0, f"gamma must be positive, got {self.gamma}")
        require(
            all(m > 0 for m in self.milestones)
            and list(self.milestones) == sorted(set(self.milestones)),
            f"milestones must be increasing positive epochs, got {list(self.milestones)}",
        )
        require(
            self.train_subset is None or self.train_subset > 0,
            f"train_subset must be positive or None, got {self.train_subset}",
        )
        require(self.seed >= 0, f"seed must be >= 0, got {self.seed}")
        norm_factory(self.norm_layer)  # an unknown name is a one-line ConfigError here
        require(
            self.trainable in TRAINABLE,
            f"unknown trainable {self.trainable!r}; available: {', '.join(TRAINABLE)}",
        )

    def to_dict(self) -> dict[str, Any]:
        """The fields as JSON-ready primitives (milestones as a list), less the
        :data:`LATE_FIELDS` that hold their default."""
        defaults = {field.name: field.default for field in fields(self)}
        described = {**asdict(self), "milestones": list(self.milestones)}
        return {name: value for name, value in described.items()
                if name not in LATE_FIELDS or value != defaults[name]}

    def build_model(self) -> nn.Module:
        """A fresh instance of the registered model, with ``norm_layer`` where it is not "bn" and as
        many outputs as ``dataset`` has classes (CIFAR-100: 100) where the model takes ``num_classes``."""
        options: dict[str, Any] = {} if self.norm_layer == "bn" else {"norm_layer": self.norm_layer}
        classes = CLASS_NAMES.get(self.dataset)
        if classes is not None and "num_classes" in inspect.signature(lookup("model", self.model)).parameters:
            options["num_classes"] = len(classes)
        return create("model", self.model, **options)

    def key(self) -> str:
        """A 12-hex-digit hash of :meth:`to_dict`: equal configs share it, any change alters it."""
        text = json.dumps(self.to_dict(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]
