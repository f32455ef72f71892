"""Models of the thesis experiments; importing this package registers them as ``"model"`` kind.

Every model takes [0, 1] images of shape ``(N, *model.input_shape)``, normalises them itself and
returns ``(N, model.num_classes)`` logits (family ``image_classifier``); the 2-D toy network takes
points (N, 2) (family ``toy``). The LightGBM trees of §2.5.0.5 are not torch modules:
:class:`GBDTScores` wraps a trained booster into the same batch-to-scores form (training them is
:mod:`advrobust.training.gbdt`).
"""
from __future__ import annotations

from typing import Any

from torch import nn

from ..registry import create
from .cw import CarliniWagnerCNN, cw_cifar10, cw_mnist
from .gbdt import GBDTScores, roc_auc
from .imagenet import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    NormalizedImageNetNet,
    resnet50_rimagenet,
)
from .mlp import ToyMLP, mlp_2d
from .normalize import CIFAR10_MEAN, CIFAR10_STD, Normalize
from .resnet import BasicBlock, CifarResNet, resnet18_cifar
from .vgg import SMALL_VGG_LAYOUT, VGG16_LAYOUT, CifarVGG, small_vgg_cifar, small_vgg_cifar_half, vgg16_cifar
from .wide_resnet import WRN34_WIDTHS, BlockGroup, PreActBlock, WideResNet, wrn34_10


def create_model(name: str, **kwargs: Any) -> nn.Module:
    """Build the registered model ``name`` (e.g. ``"cw_mnist"``) with factory ``kwargs``."""
    return create("model", name, **kwargs)


__all__ = [
    "CIFAR10_MEAN",
    "CIFAR10_STD",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "SMALL_VGG_LAYOUT",
    "VGG16_LAYOUT",
    "BasicBlock",
    "BlockGroup",
    "CarliniWagnerCNN",
    "CifarResNet",
    "CifarVGG",
    "GBDTScores",
    "Normalize",
    "NormalizedImageNetNet",
    "PreActBlock",
    "ToyMLP",
    "WRN34_WIDTHS",
    "WideResNet",
    "create_model",
    "cw_cifar10",
    "cw_mnist",
    "mlp_2d",
    "resnet18_cifar",
    "resnet50_rimagenet",
    "roc_auc",
    "small_vgg_cifar",
    "small_vgg_cifar_half",
    "vgg16_cifar",
    "wrn34_10",
]
