"""Pre-activation ResNet-18 for 32x32 inputs (He et al. 2016b, "HZR16b"), thesis Table 6.3's "Preact-18".

Each BasicBlock runs norm-ReLU-conv3x3-norm-ReLU-conv3x3 and adds a shortcut that is the identity,
or, when the width or stride changes, a 1x1 convolution of the pre-activated input. The layout is
the CIFAR one of kuangliu/pytorch-cifar's ``PreActResNet18``, whose model names (Preact-18,
DenseNet-121, ResNeXt-29) are those of Table 6.3: a 3x3/1 stem to 64 channels, four stages of two
blocks at 32, 16, 8 and 4 pixels (widths 64-512), 4x4 average pooling and a linear layer, and, as
there, no norm-ReLU after the last block (11,171,146 parameters for 10 classes). He et al.'s design
and the adversarial-training PreActResNet-18 of Rice et al. (2020) end with one more norm-ReLU
before the pooling: ``final_norm=True`` adds it (+2 × 512 parameters with BN).

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


class PreActBasicBlock(nn.Module):
    """norm-ReLU-conv3x3-norm-ReLU-conv3x3 plus an identity or 1x1-conv (pre-activated) shortcut."""

    def __init__(
        self, in_channels: int, out_channels: int, stride: int, norm_layer: NormSpec = "bn"
    ) -> None:
        super().__init__()
        norm = norm_factory(norm_layer)
        self.bn1 = norm(in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, padding=1, bias=False)
        self.bn2 = norm(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, padding=1, bias=False)
        needs_projection = stride != 1 or in_channels != out_channels
        self.shortcut = (
            nn.Conv2d(in_channels, out_channels, 1, stride, bias=False) if needs_projection else None
        )

    def forward(self, x: Tensor) -> Tensor:
        activated = F.relu(self.bn1(x))
        shortcut = x if self.shortcut is None else self.shortcut(activated)
        out = self.conv2(F.relu(self.bn2(self.conv1(activated))))
        return out + shortcut


class PreActResNet(nn.Module):
    """3x3 stem, four stages of :class:`PreActBasicBlock`, [norm-ReLU], 4x4 pooling, linear layer."""

    # Not measured on the 2-core CPU; Chapter 6 trains this network on a GPU at paper scale.
    channels_last_on_cpu = False

    def __init__(
        self,
        blocks_per_stage: Sequence[int] = (2, 2, 2, 2),
        num_classes: int = 10,
        mean: Sequence[float] = CIFAR10_MEAN,
        std: Sequence[float] = CIFAR10_STD,
        norm_layer: NormSpec = "bn",
        final_norm: bool = False,
    ) -> None:
        super().__init__()
        self.input_shape = (3, 32, 32)
        self.num_classes = num_classes
        self.normalize = Normalize(mean, std)
        norm = norm_factory(norm_layer)
        self.conv1 = nn.Conv2d(3, 64, 3, 1, padding=1, bias=False)
        blocks: list[nn.Module] = []
        in_channels = 64
        for stage, count in enumerate(blocks_per_stage):
            width = 64 * 2**stage
            for block in range(count):
                stride = 2 if stage > 0 and block == 0 else 1
                blocks.append(PreActBasicBlock(in_channels, width, stride, norm))
                in_channels = width
        self.layers = nn.Sequential(*blocks)
        self.bn = norm(in_channels) if final_norm else None
        self.linear = nn.Linear(in_channels, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        out = self.layers(self.conv1(self.normalize(x)))
        if self.bn is not None:
            out = F.relu(self.bn(out))
        return self.linear(F.adaptive_avg_pool2d(out, 1).flatten(1))


@register("model", "preact_resnet18_cifar", family="image_classifier")
def preact_resnet18_cifar(num_classes: int = 10, norm_layer: NormSpec = "bn") -> PreActResNet:
    """PreAct-ResNet-18 (Table 6.3's Preact-18, kuangliu's layout) for (3, 32, 32) inputs, CIFAR-10
    normalisation inside, ``norm_layer`` ``"bn"``, ``"dual_bn"`` or ``"robmask"``."""
    return PreActResNet((2, 2, 2, 2), num_classes=num_classes, norm_layer=norm_layer)
