"""Per-channel input normalisation, kept inside the model so that callers feed [0, 1] pixels."""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

# Per-channel mean and std of the CIFAR-10 training images (the values used across the literature).
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)


class Normalize(nn.Module):
    """``(x - mean) / std`` per channel.

    Attacks perturb and clip in [0, 1] pixel space; putting the normalisation first in the model
    means distortions and epsilons are always measured in that space. ``mean``/``std`` of length 1
    broadcast over all channels. The statistics are constants, not learned, and are not saved in
    the state dict.
    """

    mean: Tensor
    std: Tensor

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        if len(mean) != len(std) or min(std) <= 0:
            raise ValueError(f"Normalize needs mean/std of equal length, std > 0: {mean}, {std}")
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        return (x - self.mean) / self.std

    def extra_repr(self) -> str:
        return f"mean={self.mean.flatten().tolist()}, std={self.std.flatten().tolist()}"
