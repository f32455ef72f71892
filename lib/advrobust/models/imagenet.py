"""torchvision's ImageNet ResNets (He et al. 2016), untrained, with ImageNet normalisation inside.

- ``resnet50_rimagenet``: Table 4.5's ResNet-50 for Restricted ImageNet (Sec. 4.2.4.1: "For
  Restricted-ImageNet, we use ResNet-50"), a 9-way classifier on the super-classes of
  :data:`advrobust.data.imagenet.RESTRICTED_IMAGENET_CLASSES`;
- ``resnet152_imagenet`` and ``resnet50_imagenet``: the 1000-class networks of Tables 5.3 and 5.8
  (natural training and SPROUT);
- ``resnet18_imagenet``: Table 6.4's 1000-class ResNet-18, with ``norm_layer`` ``"bn"``,
  ``"dual_bn"`` (AdvProp) or ``"robmask"`` (:func:`advrobust.norms.norm_factory`).

Each is torchvision's architecture (7x7/2 stem, max-pool, four stages) trained from scratch (no
pretrained weights; :mod:`advrobust.training.pretrained` reads those).
"""
from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from ..norms import NormFactory, NormSpec, norm_factory
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


def torchvision_resnet(depth: int, num_classes: int, norm_layer: NormSpec = "bn") -> NormalizedImageNetNet:
    """Untrained torchvision ResNet-``depth`` with ``num_classes`` outputs and every BatchNorm
    replaced by ``norm_layer``'s layer (none for ``"bn"``)."""
    from torchvision.models import get_model  # torchvision takes a second to import

    network = get_model(f"resnet{depth}", weights=None, num_classes=num_classes)
    if norm_layer != "bn":
        _replace_batch_norms(network, norm_factory(norm_layer))
    return NormalizedImageNetNet(network, num_classes)


def _replace_batch_norms(network: nn.Module, norm: NormFactory) -> None:
    """Swap every ``nn.BatchNorm2d`` of ``network`` for ``norm(num_features)``, in place. torchvision
    cannot build them itself: its ResNet initialises each BatchNorm's ``weight``, which a RobMask
    layer does not have (its γ is W u_p); the new layers keep their own initialisation."""
    for parent in list(network.modules()):
        for name, child in list(parent.named_children()):
            if type(child) is nn.BatchNorm2d:
                setattr(parent, name, norm(child.num_features))


@register("model", "resnet50_rimagenet", family="image_classifier")
def resnet50_rimagenet(num_classes: int = 9) -> NormalizedImageNetNet:
    """Untrained torchvision ResNet-50 with ``num_classes`` outputs (9: Restricted ImageNet)."""
    return torchvision_resnet(50, num_classes)


@register("model", "resnet152_imagenet", family="image_classifier")
def resnet152_imagenet(num_classes: int = 1000) -> NormalizedImageNetNet:
    """Untrained torchvision ResNet-152 for ImageNet: Table 5.3's network."""
    return torchvision_resnet(152, num_classes)


@register("model", "resnet50_imagenet", family="image_classifier")
def resnet50_imagenet(num_classes: int = 1000) -> NormalizedImageNetNet:
    """Untrained torchvision ResNet-50 for ImageNet: Table 5.8's network."""
    return torchvision_resnet(50, num_classes)


@register("model", "resnet18_imagenet", family="image_classifier")
def resnet18_imagenet(num_classes: int = 1000, norm_layer: NormSpec = "bn") -> NormalizedImageNetNet:
    """Untrained torchvision ResNet-18 for ImageNet with ``norm_layer`` ``"bn"``, ``"dual_bn"`` or
    ``"robmask"``: Table 6.4's three columns."""
    return torchvision_resnet(18, num_classes, norm_layer)
