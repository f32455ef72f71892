"""ResNet-18 for 32x32 inputs (He et al. 2016, CIFAR variant), a base network of the defenses.

The CIFAR variant replaces ImageNet's 7x7/2 stem and max-pool by one 3x3/1 convolution, so the four
stages of two BasicBlocks run at 32, 16, 8 and 4 pixels (widths 64, 128, 256, 512): 11,173,962
parameters for 10 classes. ``norm_layer`` chooses every normalisation layer
(:func:`advrobust.norms.norm_factory`: ``"bn"``, the default, ``"dual_bn"`` for AdvProp or
``"robmask"`` for RobMask, the three columns of the thesis's Table 6.3).
"""
from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from ..norms import NormFactory, NormSpec, norm_factory
from ..registry import register
from .normalize import CIFAR10_MEAN, CIFAR10_STD, Normalize


def _conv_bn(
    in_channels: int, out_channels: int, kernel: int, stride: int, norm: NormFactory
) -> list[nn.Module]:
    conv = nn.Conv2d(in_channels, out_channels, kernel, stride, padding=kernel // 2, bias=False)
    return [conv, norm(out_channels)]


class BasicBlock(nn.Module):
    """Two 3x3 conv-norm layers plus an identity (or 1x1 conv-norm projection) shortcut."""

    def __init__(
        self, in_channels: int, out_channels: int, stride: int, norm_layer: NormSpec = "bn"
    ) -> None:
        super().__init__()
        norm = norm_factory(norm_layer)
        self.residual = nn.Sequential(
            *_conv_bn(in_channels, out_channels, 3, stride, norm), nn.ReLU(inplace=True),
            *_conv_bn(out_channels, out_channels, 3, 1, norm),
        )
        needs_projection = stride != 1 or in_channels != out_channels
        self.shortcut = (
            nn.Sequential(*_conv_bn(in_channels, out_channels, 1, stride, norm))
            if needs_projection
            else nn.Identity()
        )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.relu(self.residual(x) + self.shortcut(x))


class CifarResNet(nn.Module):
    """3x3 stem, four stages of BasicBlocks, global average pooling and a linear classifier."""

    def __init__(
        self,
        blocks_per_stage: Sequence[int] = (2, 2, 2, 2),
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
        layers: list[nn.Module] = [*_conv_bn(3, 64, 3, 1, norm), nn.ReLU(inplace=True)]
        in_channels = 64
        for stage, blocks in enumerate(blocks_per_stage):
            width = 64 * 2**stage
            for block in range(blocks):
                stride = 2 if stage > 0 and block == 0 else 1
                layers.append(BasicBlock(in_channels, width, stride, norm))
                in_channels = width
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(in_channels, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(self.normalize(x)))


@register("model", "resnet18_cifar", family="image_classifier")
def resnet18_cifar(num_classes: int = 10, norm_layer: NormSpec = "bn") -> CifarResNet:
    """ResNet-18 (BasicBlocks [2, 2, 2, 2]) for (3, 32, 32) inputs, CIFAR-10 normalisation inside;
    the network of Chapter 6 (Tables 6.1-6.5), with ``norm_layer`` ``"bn"``, ``"dual_bn"`` or
    ``"robmask"``."""
    return CifarResNet((2, 2, 2, 2), num_classes=num_classes, norm_layer=norm_layer)
