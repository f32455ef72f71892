"""Transfer attacks (thesis §4.2.4.2, Table 4.4; Athalye, Carlini & Wagner 2018, "ACW18").

Adversarial examples are crafted once on a source model (the thesis: PGD at eps = 8/255 on a
naturally trained network) and then shown to each target model. A defense whose white-box
robust accuracy is far below its transfer accuracy is consistent with real robustness; the
opposite (transfer breaking more than white-box) is a sign of masked gradients.

Crafting and scoring are separate so that one set of examples fills a whole row of targets:

    >>> x_adv = craft_transfer_examples(PGD(natural, eps=8 / 255), x, y)
    >>> {name: accuracy_on(model, x, x_adv, y) for name, model in targets.items()}
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from ..attacks.base import Attack
from ..errors import require
from .accuracy import model_device, predict


def craft_transfer_examples(
    source_attack: Attack,
    x: Tensor,
    y: Tensor,
    *,
    target: Tensor | None = None,
    batch_size: int = 256,
) -> Tensor:
    """Adversarial inputs (N, ...) for ``x`` crafted by ``source_attack`` on its own model.

    ``target`` (N,) makes the source attack targeted (thesis §5.3 uses random targets). Runs in
    batches on the source model's device and returns the inputs on ``x``'s device. Examples the
    source model already misclassifies are attacked too: only the target model's answer counts.
    """
    require(batch_size >= 1, f"batch_size must be >= 1, got {batch_size}")
    require(y.shape == (x.shape[0],), f"y must have shape ({x.shape[0]},), got {tuple(y.shape)}")
    device = model_device(source_attack.model)
    chunks = []
    for rows in torch.arange(x.shape[0]).split(batch_size):
        goal = None if target is None else target[rows].to(device)
        chunks.append(source_attack(x[rows].to(device), y[rows].to(device), goal).to(x.device))
    return torch.cat(chunks)


def accuracy_on(
    target_model: nn.Module, x: Tensor, x_adv: Tensor, y: Tensor, *, batch_size: int = 512
) -> float:
    """Transfer robust accuracy: share of examples ``target_model`` gets right on both ``x`` and
    ``x_adv``, so it never exceeds the clean accuracy (Table 4.4's entries)."""
    require(x_adv.shape == x.shape, f"x_adv has shape {tuple(x_adv.shape)}, x {tuple(x.shape)}")
    y = y.to(x.device)
    clean = predict(target_model, x, batch_size=batch_size) == y
    adversarial = predict(target_model, x_adv, batch_size=batch_size) == y
    return float((clean & adversarial).float().mean())


def transfer_accuracy(
    source_attack: Attack, target_model: nn.Module, x: Tensor, y: Tensor, *, batch_size: int = 256
) -> float:
    """Robust accuracy of ``target_model`` against examples crafted by ``source_attack``."""
    x_adv = craft_transfer_examples(source_attack, x, y, batch_size=batch_size)
    return accuracy_on(target_model, x, x_adv, y, batch_size=batch_size)
