"""Pretrained torchvision ImageNet classifiers, read from the user's torch hub cache only.

§2.5 attacks the pretrained ImageNet ResNet-50 that torchvision provides (HZR16a; 76.1% top-1,
``IMAGENET1K_V1``); Chapters 5 and 6 name ResNet-152 and ResNet-18. Their weights are read from
the checkpoint folder of torch hub (``torch.hub.get_dir() / "checkpoints"``, i.e.
``$TORCH_HOME/hub/checkpoints``, where torchvision keeps what it downloads) and never downloaded
here: a missing file is one clear error that says where to put it.
"""
from __future__ import annotations

from pathlib import Path

import torch

from ..errors import ConfigError, DataError, require
from ..models.imagenet import NormalizedImageNetNet
from .checkpoint import load_checkpoint

ORIGINAL_WEIGHTS = "IMAGENET1K_V1"  # torchvision's first ImageNet weights, those the thesis used


def pretrained_imagenet_model(name: str = "resnet50", weights: str = ORIGINAL_WEIGHTS) -> NormalizedImageNetNet:
    """torchvision's ImageNet classifier ``name`` with its ``weights`` from the user's cache, for
    images in [0, 1] (ImageNet normalisation inside), in eval mode on the CPU."""
    from torchvision import models  # torchvision takes over a second to import

    try:
        available = models.get_model_weights(name)
    except ValueError:
        raise ConfigError(f"unknown torchvision model {name!r}; e.g. resnet18, resnet50, resnet152") from None
    require(weights in available.__members__,
            f"{name} has no weights {weights!r}; available: {', '.join(available.__members__)}")
    chosen = available[weights]
    path = cached_weights_path(chosen.url)
    if not path.is_file():
        raise DataError(f"no pretrained {name} {weights} weights at {path}, and none are downloaded here; "
                        f"copy {chosen.url} there (or run torchvision.models.{name}(weights={weights!r}) once)")
    network = models.get_model(name, weights=None)
    network.load_state_dict(load_checkpoint(path))
    return NormalizedImageNetNet(network, len(chosen.meta["categories"])).eval()


def cached_weights_path(url: str) -> Path:
    """Where torch hub keeps the file downloaded from ``url``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(url).name
