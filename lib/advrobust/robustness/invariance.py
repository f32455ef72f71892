"""The invariance tests of Table 5.4 (thesis §5.3.4.4): accuracy on transformed test images.

The thesis changes "rotation (with 10 degrees), brightness (increase the brightness factor to
1.5), contrast (increase the contrast factor to 2) and make inputs into grayscale (average all RGB
pixel values)". :class:`InvarianceTransforms` holds these settings and is the mapping
``name -> transform`` of Table 5.4's columns (``rotation``, ``brightness``, ``contrast``,
``gray``); every transform takes a batch (N, 3, H, W) in [0, 1] on any device and returns a new
one in [0, 1].

Rotation, brightness and contrast are torchvision's (``transforms.v2.functional``): rotation by
nearest-neighbour interpolation about the centre with black corners, brightness and contrast as
PIL's ``ImageEnhance`` blends (with black, and with the mean of the luma image), clipped to
[0, 1]. The thesis names no interpolation; these are torchvision's defaults and equal its PIL path
up to the 1/255 quantisation of PIL images.

Departure: "gray" is the plain mean of the three channels, replicated to three channels, as the
thesis defines it, not torchvision's ``rgb_to_grayscale`` (the luma 0.299 R + 0.587 G + 0.114 B).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial

import torch
import torchvision.transforms.v2.functional as TF
from torch import Tensor, nn

from ..attacks.base import eval_mode
from ..errors import require
from .accuracy import model_device

Transform = Callable[[Tensor], Tensor]


def channel_mean_gray(x: Tensor) -> Tensor:
    """(N, 3, H, W) -> the mean of the three channels, repeated in each (the thesis's "gray")."""
    return x.mean(dim=-3, keepdim=True).expand_as(x).contiguous()


@dataclass(frozen=True)
class InvarianceTransforms(Mapping[str, Transform]):
    """Table 5.4's four transforms with the thesis's settings, as a mapping name -> transform.

    Args:
        rotation: angle in degrees, counter-clockwise. Default 10.
        brightness: brightness factor (1 leaves the image unchanged). Default 1.5.
        contrast: contrast factor (1 leaves the image unchanged). Default 2.
    """

    rotation: float = 10.0
    brightness: float = 1.5
    contrast: float = 2.0

    def _transforms(self) -> dict[str, Transform]:
        return {
            "rotation": partial(TF.rotate, angle=self.rotation),
            "brightness": partial(TF.adjust_brightness, brightness_factor=self.brightness),
            "contrast": partial(TF.adjust_contrast, contrast_factor=self.contrast),
            "gray": channel_mean_gray,
        }

    def __getitem__(self, name: str) -> Transform:
        return self._transforms()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._transforms())

    def __len__(self) -> int:
        return len(self._transforms())


def invariance_accuracy(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    transforms: Mapping[str, Transform] = InvarianceTransforms(),
    *,
    batch_size: int = 512,
) -> dict[str, float]:
    """One row of Table 5.4: ``{name: accuracy of model on transform(x)}`` for each transform
    (default: Table 5.4's, :class:`InvarianceTransforms` with the thesis's settings).

    Every example counts (the thesis reports plain accuracy, not accuracy among the examples
    correct without the transform). ``x`` (N, 3, H, W) in [0, 1] may stay on the CPU: each batch
    is moved to the model's device and transformed there, in eval mode without gradients.
    """
    require(batch_size >= 1, f"batch_size must be >= 1, got {batch_size}")
    require(y.shape == (x.shape[0],), f"y must have shape ({x.shape[0]},), got {tuple(y.shape)}")
    require(x.shape[0] > 0, "invariance_accuracy needs at least one example")
    device = model_device(model)
    correct = {name: 0 for name in transforms}
    with eval_mode(model), torch.no_grad():
        for xs, ys in zip(x.split(batch_size), y.split(batch_size)):
            xs, ys = xs.to(device), ys.to(device)
            for name, transform in transforms.items():
                correct[name] += int((model(transform(xs)).argmax(dim=1) == ys).sum())
    return {name: hits / x.shape[0] for name, hits in correct.items()}
