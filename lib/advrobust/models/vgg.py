"""VGG-16 for 32x32 inputs (Simonyan & Zisserman 2015, "SZ15"), the CIFAR-10 network of Chapter 4.

Sec. 4.2.4.1 trains "standard VGG-16 (SZ15)" on CIFAR-10 (Tables 4.2 and 4.4). The CIFAR variant of
the adversarial-training literature keeps VGG's 13 3x3 convolutions, each followed by BatchNorm and
ReLU, with five 2x2 max-pools that take 32x32 down to 1x1, and replaces the three 4096-wide fully
connected layers by a single ``Linear(512, num_classes)``: 14,728,266 parameters for 10 classes.
CIFAR-10 normalisation is inside the model. ``norm_layer`` chooses the normalisation after each
convolution (:func:`advrobust.norms.norm_factory`: ``"bn"``, the default, ``"dual_bn"`` for
AdvProp, ``"robmask"`` for RobMask, thesis Chapter 6).
"""
from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from ..norms import NormSpec, norm_factory
from ..registry import register
from .normalize import CIFAR10_MEAN, CIFAR10_STD, Normalize

# Output widths of the 3x3 conv-BN-ReLU layers; "M" is a 2x2 max-pool (VGG configuration "D").
VGG16_LAYOUT: tuple[int | str, ...] = (
    64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M",
)
# The quick profiles' stand-in for VGG-16: four conv-BN-ReLU layers of widths 32-64-128-256, each
# followed by a max-pool (a fifth pool takes 2x2 to 1x1). 391,946 parameters.
SMALL_VGG_LAYOUT: tuple[int | str, ...] = (32, "M", 64, "M", 128, "M", 256, "M", "M")


class CifarVGG(nn.Module):
    """VGG feature stack of conv3x3-norm-ReLU layers and max-pools, then one linear classifier."""

    # Measured on a 2-core CPU: channels-last makes VGG-16 about 6% slower to train and 10% slower
    # to query there (like ResNet-18), so it stays channels-first on the CPU; the small VGG is 12%
    # faster to train channels-last (1,121 against 1,005 images/s) and opts in.
    channels_last_on_cpu = False

    def __init__(
        self,
        layout: Sequence[int | str] = VGG16_LAYOUT,
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
        layers: list[nn.Module] = []
        in_channels = 3
        for entry in layout:
            if entry == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                width = int(entry)
                layers += [nn.Conv2d(in_channels, width, 3, padding=1), norm(width),
                           nn.ReLU(inplace=True)]
                in_channels = width
        pools = sum(entry == "M" for entry in layout)
        if 32 // 2**pools != 1:
            raise ValueError(f"VGG layout must pool 32x32 inputs down to 1x1, got {pools} pools")
        self.features = nn.Sequential(*layers, nn.Flatten())
        self.classifier = nn.Linear(in_channels, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(self.normalize(x)))


@register("model", "vgg16_cifar", family="image_classifier")
def vgg16_cifar(num_classes: int = 10, norm_layer: NormSpec = "bn") -> CifarVGG:
    """VGG-16 with BatchNorm (Sec. 4.2.4.1) on (3, 32, 32) inputs, CIFAR-10 normalisation inside."""
    return CifarVGG(VGG16_LAYOUT, num_classes=num_classes, norm_layer=norm_layer)


@register("model", "small_vgg_cifar", family="image_classifier")
def small_vgg_cifar(num_classes: int = 10, norm_layer: NormSpec = "bn") -> CifarVGG:
    """The ``quick``-profile network shared by Chapters 4, 5 and 6: VGG-16's conv-BN-ReLU and
    max-pool design at four layers (:data:`SMALL_VGG_LAYOUT`), with BatchNorm as SPROUT's VGG and
    Chapter 6 need, small enough to train adversarially on a 2-core CPU in minutes. ``norm_layer``
    swaps the BatchNorms for Chapter 6's dual BN or RobMask layers."""
    return _small_vgg(1, num_classes, norm_layer)


@register("model", "small_vgg_cifar_half", family="image_classifier")
def small_vgg_cifar_half(num_classes: int = 10, norm_layer: NormSpec = "bn") -> CifarVGG:
    """:func:`small_vgg_cifar` at half its widths (16-32-64-128): the narrow end of the quick
    profile's Figure 5.7 (network width)."""
    return _small_vgg(0.5, num_classes, norm_layer)


def _small_vgg(width: float, num_classes: int, norm_layer: NormSpec) -> CifarVGG:
    layout = [entry if entry == "M" else int(int(entry) * width) for entry in SMALL_VGG_LAYOUT]
    model = CifarVGG(layout, num_classes=num_classes, norm_layer=norm_layer)
    model.channels_last_on_cpu = True
    return model
