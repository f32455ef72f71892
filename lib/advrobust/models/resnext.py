"""ResNeXt-29 for 32x32 inputs (Xie et al. 2017, "XGD16"), thesis Table 6.3.

The CIFAR variant of kuangliu/pytorch-cifar (``ResNeXt29_2x64d``), whose model names are Table 6.3's:
a 1x1 stem convolution to 64 channels with norm-ReLU (kuangliu's choice; Xie et al. use 3x3), three
stages of three bottleneck blocks at 32, 16 and 8 pixels, each block conv1x1-norm-ReLU, a grouped
conv3x3 (``cardinality`` groups)-norm-ReLU, conv1x1 to twice the group width-norm, plus an
identity or 1x1 conv-norm shortcut, then ReLU; the bottleneck width doubles after every stage; 8x8
average pooling and a linear layer.

The thesis says only "ResNeXt-29". :func:`resnext29_cifar` is the **2x64d** network (cardinality 2,
bottleneck width 64; 9,128,778 parameters for 10 classes) rather than 32x4d (4.8M parameters):
kuangliu lists both with nearly the same CIFAR-10 accuracy (94.82% and 94.73%), and two wide groups
run faster per FLOP than 32 groups of 4 channels (grouped convolutions with tiny groups are slow on
CPUs and in cuDNN), which matters for PGD-7 adversarial training.
``CifarResNeXt(cardinality=32, bottleneck_width=4)`` builds 32x4d.

CIFAR-10 normalisation is inside the model; ``norm_layer`` chooses every normalisation layer
(:func:`advrobust.norms.norm_factory`).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch.nn.functional as F
from torch import Tensor, nn

from ..norms import NormSpec, norm_factory
from ..registry import register
from .normalize import CIFAR10_MEAN, CIFAR10_STD, Normalize


class ResNeXtBlock(nn.Module):
    """conv1x1-norm-ReLU, grouped conv3x3-norm-ReLU, conv1x1 (x2 width)-norm, shortcut, ReLU."""

    expansion = 2

    def __init__(
        self,
        in_channels: int,
        cardinality: int,
        bottleneck_width: int,
        stride: int,
        norm_layer: NormSpec = "bn",
    ) -> None:
        super().__init__()
        norm = norm_factory(norm_layer)
        group_width = cardinality * bottleneck_width
        out_channels = self.expansion * group_width
        self.conv1 = nn.Conv2d(in_channels, group_width, 1, bias=False)
        self.bn1 = norm(group_width)
        self.conv2 = nn.Conv2d(group_width, group_width, 3, stride, padding=1, groups=cardinality,
                               bias=False)
        self.bn2 = norm(group_width)
        self.conv3 = nn.Conv2d(group_width, out_channels, 1, bias=False)
        self.bn3 = norm(out_channels)
        needs_projection = stride != 1 or in_channels != out_channels
        self.shortcut: nn.Module = (
            nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride, bias=False), norm(out_channels))
            if needs_projection
            else nn.Identity()
        )

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return F.relu(out + self.shortcut(x))


class CifarResNeXt(nn.Module):
    """1x1 stem, three stages of :class:`ResNeXtBlock` (width doubling per stage), pooling, linear."""

    # Not measured on the 2-core CPU; Chapter 6 trains this network on a GPU at paper scale.
    channels_last_on_cpu = False

    def __init__(
        self,
        blocks_per_stage: Sequence[int] = (3, 3, 3),
        cardinality: int = 2,
        bottleneck_width: int = 64,
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
        self.conv1 = nn.Conv2d(3, 64, 1, bias=False)
        self.bn1 = norm(64)
        stages: list[nn.Module] = []
        in_channels, width = 64, bottleneck_width
        for stage, count in enumerate(blocks_per_stage):
            blocks = []
            for block in range(count):
                stride = 2 if stage > 0 and block == 0 else 1
                blocks.append(ResNeXtBlock(in_channels, cardinality, width, stride, norm))
                in_channels = ResNeXtBlock.expansion * cardinality * width
            stages.append(nn.Sequential(*blocks))
            width *= 2
        self.layers = nn.Sequential(*stages)
        self.linear = nn.Linear(in_channels, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        out = self.layers(F.relu(self.bn1(self.conv1(self.normalize(x)))))
        return self.linear(F.adaptive_avg_pool2d(out, 1).flatten(1))


@register("model", "resnext29_cifar", family="image_classifier")
def resnext29_cifar(num_classes: int = 10, norm_layer: NormSpec = "bn") -> CifarResNeXt:
    """ResNeXt-29 2x64d (Table 6.3; 2x64d rather than 32x4d, see the module) for (3, 32, 32)
    inputs, CIFAR-10 normalisation inside, ``norm_layer`` ``"bn"``, ``"dual_bn"`` or ``"robmask"``."""
    return CifarResNeXt((3, 3, 3), 2, 64, num_classes=num_classes, norm_layer=norm_layer)
