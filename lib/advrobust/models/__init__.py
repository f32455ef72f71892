"""Models of the thesis experiments; importing this package registers them as ``"model"`` kind.

Every model takes [0, 1] images of shape ``(N, *model.input_shape)``, normalises them itself and
returns ``(N, model.num_classes)`` logits. The LightGBM trees of §2.5.0.5 are not torch modules:
:class:`GBDTScores` wraps a trained booster into the same batch-to-scores form.
"""
from __future__ import annotations

from typing import Any

from torch import nn

from ..registry import create
from .cw import CarliniWagnerCNN, cw_cifar10, cw_mnist
from .gbdt import GBDTConfig, GBDTScores, roc_auc, train_gbdt
from .normalize import CIFAR10_MEAN, CIFAR10_STD, Normalize
from .resnet import BasicBlock, CifarResNet, resnet18_cifar


def create_model(name: str, **kwargs: Any) -> nn.Module:
    """Build the registered model ``name`` (e.g. ``"cw_mnist"``) with factory ``kwargs``."""
    return create("model", name, **kwargs)


__all__ = [
    "CIFAR10_MEAN",
    "CIFAR10_STD",
    "BasicBlock",
    "CarliniWagnerCNN",
    "CifarResNet",
    "GBDTConfig",
    "GBDTScores",
    "Normalize",
    "create_model",
    "cw_cifar10",
    "cw_mnist",
    "resnet18_cifar",
    "roc_auc",
    "train_gbdt",
]
