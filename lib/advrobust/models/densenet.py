"""DenseNet-121 for 32x32 inputs (Huang et al. 2017, "HLW16"), thesis Tables 6.3 and 6.6.

The CIFAR variant of kuangliu/pytorch-cifar (``DenseNet121``), whose model names are Table 6.3's:
a 3x3/1 stem to 2 × 32 = 64 channels, four dense blocks of 6, 12, 24 and 16 bottleneck layers with
growth rate 32 (each norm-ReLU-conv1x1 to 4 × 32 channels, norm-ReLU-conv3x3 to 32 channels, its
output concatenated in front of its input), transitions with compression 0.5 (norm-ReLU-conv1x1,
2x2 average pooling) after the first three blocks, so the blocks run at 32, 16, 8 and 4 pixels;
then norm-ReLU, 4x4 average pooling and a linear layer: 6,956,298 parameters for 10 classes.

CIFAR-10 normalisation is inside the model; ``norm_layer`` chooses every normalisation layer
(:func:`advrobust.norms.norm_factory`).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..norms import NormSpec, norm_factory
from ..registry import register
from .normalize import CIFAR10_MEAN, CIFAR10_STD, Normalize

DENSENET121_BLOCKS = (6, 12, 24, 16)


class DenseBottleneck(nn.Module):
    """norm-ReLU-conv1x1 (4 × growth) then norm-ReLU-conv3x3 (growth); output ``[new, input]``."""

    def __init__(self, in_channels: int, growth: int, norm_layer: NormSpec = "bn") -> None:
        super().__init__()
        norm = norm_factory(norm_layer)
        self.bn1 = norm(in_channels)
        self.conv1 = nn.Conv2d(in_channels, 4 * growth, 1, bias=False)
        self.bn2 = norm(4 * growth)
        self.conv2 = nn.Conv2d(4 * growth, growth, 3, padding=1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv1(F.relu(self.bn1(x)))
        out = self.conv2(F.relu(self.bn2(out)))
        return torch.cat([out, x], 1)


class DenseTransition(nn.Module):
    """norm-ReLU-conv1x1 to ``out_channels``, then 2x2 average pooling."""

    def __init__(self, in_channels: int, out_channels: int, norm_layer: NormSpec = "bn") -> None:
        super().__init__()
        self.bn = norm_factory(norm_layer)(in_channels)
        self.conv = nn.Conv2d(in_channels, out_channels, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return F.avg_pool2d(self.conv(F.relu(self.bn(x))), 2)


class CifarDenseNet(nn.Module):
    """3x3 stem, dense blocks joined by compressing transitions, norm-ReLU, pooling, linear layer."""

    # Not measured on the 2-core CPU; Chapter 6 trains this network on a GPU at paper scale.
    channels_last_on_cpu = False

    def __init__(
        self,
        blocks: Sequence[int] = DENSENET121_BLOCKS,
        growth: int = 32,
        reduction: float = 0.5,
        num_classes: int = 10,
        mean: Sequence[float] = CIFAR10_MEAN,
        std: Sequence[float] = CIFAR10_STD,
        norm_layer: NormSpec = "bn",
    ) -> None:
        super().__init__()
        self.input_shape = (3, 32, 32)
        self.num_classes = num_classes
        self.normalize = Normalize(mean, std)
        norm = norm_factory(norm_layer)
        channels = 2 * growth
        self.conv1 = nn.Conv2d(3, channels, 3, padding=1, bias=False)
        stages: list[nn.Module] = []
        for index, count in enumerate(blocks):
            layers = []
            for _ in range(count):
                layers.append(DenseBottleneck(channels, growth, norm))
                channels += growth
            stages.append(nn.Sequential(*layers))
            if index < len(blocks) - 1:
                compressed = math.floor(channels * reduction)
                stages.append(DenseTransition(channels, compressed, norm))
                channels = compressed
        self.features = nn.Sequential(*stages)
        self.bn = norm(channels)
        self.linear = nn.Linear(channels, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn(self.features(self.conv1(self.normalize(x)))))
        return self.linear(F.adaptive_avg_pool2d(out, 1).flatten(1))


@register("model", "densenet121_cifar", family="image_classifier")
def densenet121_cifar(num_classes: int = 10, norm_layer: NormSpec = "bn") -> CifarDenseNet:
    """DenseNet-121 (growth 32, blocks 6-12-24-16; Tables 6.3 and 6.6) for (3, 32, 32) inputs,
    CIFAR-10 normalisation inside, ``norm_layer`` ``"bn"``, ``"dual_bn"`` or ``"robmask"``."""
    return CifarDenseNet(DENSENET121_BLOCKS, 32, num_classes=num_classes, norm_layer=norm_layer)
