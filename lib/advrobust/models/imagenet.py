"""ResNet-50 (He et al. 2016) for Restricted ImageNet, the network of thesis Table 4.5.

Sec. 4.2.4.1: "For Restricted-ImageNet, we use ResNet-50", on the 9 super-classes of
:data:`advrobust.data.imagenet.RESTRICTED_IMAGENET_CLASSES`. The network is torchvision's ImageNet
ResNet-50 (7x7/2 stem, max-pool, bottleneck stages [3, 4, 6, 3]) with a 9-way classifier, trained
from scratch (no pretrained weights), with ImageNet normalisation inside.
"""
from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from ..registry import register
from .normalize import Normalize

# Per-channel mean and std of the ImageNet training images (torchvision's values).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class NormalizedImageNetNet(nn.Module):
    """``network(normalize(x))`` for (3, 224, 224) images in [0, 1]."""

    channels_last_on_cpu = False  # not measured: a 224-pixel ResNet-50 is trained on a GPU

    def __init__(
        self,
        network: nn.Module,
        num_classes: int,
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
    ) -> None:
        super().__init__()
        self.input_shape = (3, 224, 224)
        self.num_classes = num_classes
        self.normalize = Normalize(mean, std)
        self.network = network

    def forward(self, x: Tensor) -> Tensor:
        return self.network(self.normalize(x))


@register("model", "resnet50_rimagenet", family="image_classifier")
def resnet50_rimagenet(num_classes: int = 9) -> NormalizedImageNetNet:
    """Untrained torchvision ResNet-50 with ``num_classes`` outputs (9: Restricted ImageNet)."""
    from torchvision.models import resnet50  # torchvision takes over a second to import

    return NormalizedImageNetNet(resnet50(weights=None, num_classes=num_classes), num_classes)
