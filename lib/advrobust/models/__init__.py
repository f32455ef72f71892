"""Models of the thesis experiments; importing this package registers them as ``"model"`` kind.

Every model takes [0, 1] images of shape ``(N, *model.input_shape)``, normalises them itself and
returns ``(N, model.num_classes)`` logits (family ``image_classifier``); the 2-D toy network takes
points (N, 2) (family ``toy``). The CIFAR networks take ``norm_layer`` (``"bn"``, ``"dual_bn"``,
``"robmask"``; :mod:`advrobust.norms`), Chapter 6's BN / AdvProp / RobMask. The LightGBM trees of
§2.5.0.5 are not torch modules: :class:`GBDTScores` wraps a trained booster into the same
batch-to-scores form (training them is :mod:`advrobust.training.gbdt`).
"""
from __future__ import annotations

from typing import Any

from torch import nn

from ..registry import create
from .char_cnn import CharCNN, char_cnn_mini, char_cnn_small, one_hot_characters
from .cw import CarliniWagnerCNN, cw_cifar10, cw_mnist
from .densenet import (
    DENSENET121_BLOCKS,
    CifarDenseNet,
    DenseBottleneck,
    DenseTransition,
    densenet121_cifar,
)
from .dialogue_agent import DialogueAgent, DialogueOutput, DialogueState, Written
from .gbdt import GBDTScores, roc_auc
from .imagenet import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    NormalizedImageNetNet,
    resnet50_rimagenet,
)
from .language_model import LanguageModel, Perplexity, next_token_pairs
from .mlp import ToyMLP, mlp_2d
from .normalize import CIFAR10_MEAN, CIFAR10_STD, Normalize
from .preact_resnet import PreActBasicBlock, PreActResNet, preact_resnet18_cifar
from .resnet import BasicBlock, CifarResNet, resnet18_cifar
from .resnext import CifarResNeXt, ResNeXtBlock, resnext29_cifar
from .seq2seq import Seq2Seq
from .vgg import (
    SMALL_VGG_LAYOUT,
    VGG16_LAYOUT,
    CifarVGG,
    small_vgg_cifar,
    small_vgg_cifar_half,
    vgg16_cifar,
)
from .wide_resnet import WRN34_WIDTHS, BlockGroup, PreActBlock, WideResNet, wrn34_10


def create_model(name: str, **kwargs: Any) -> nn.Module:
    """Build the registered model ``name`` (e.g. ``"cw_mnist"``) with factory ``kwargs``."""
    return create("model", name, **kwargs)


__all__ = [
    "CIFAR10_MEAN",
    "CIFAR10_STD",
    "DENSENET121_BLOCKS",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "SMALL_VGG_LAYOUT",
    "VGG16_LAYOUT",
    "BasicBlock",
    "BlockGroup",
    "CarliniWagnerCNN",
    "CharCNN",
    "CifarDenseNet",
    "CifarResNeXt",
    "CifarResNet",
    "CifarVGG",
    "DenseBottleneck",
    "DenseTransition",
    "DialogueAgent",
    "DialogueOutput",
    "DialogueState",
    "GBDTScores",
    "LanguageModel",
    "Normalize",
    "NormalizedImageNetNet",
    "Perplexity",
    "PreActBasicBlock",
    "PreActBlock",
    "PreActResNet",
    "ResNeXtBlock",
    "Seq2Seq",
    "ToyMLP",
    "WRN34_WIDTHS",
    "WideResNet",
    "Written",
    "char_cnn_mini",
    "char_cnn_small",
    "create_model",
    "cw_cifar10",
    "cw_mnist",
    "densenet121_cifar",
    "mlp_2d",
    "next_token_pairs",
    "one_hot_characters",
    "preact_resnet18_cifar",
    "resnet18_cifar",
    "resnet50_rimagenet",
    "resnext29_cifar",
    "roc_auc",
    "small_vgg_cifar",
    "small_vgg_cifar_half",
    "vgg16_cifar",
    "wrn34_10",
]
