"""Standard CIFAR augmentation as one batched gather on the device."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def random_crop_flip(x: Tensor, generator: torch.Generator, padding: int = 4) -> Tensor:
    """Per example: zero-pad by ``padding``, crop at a random offset, flip left-right with p = 1/2.

    The offsets and flips are drawn on the CPU from ``generator`` (so they do not depend on the
    device); the pixels never leave ``x.device``.
    """
    n, channels, height, width = x.shape
    offsets = torch.randint(0, 2 * padding + 1, (2, n), generator=generator).to(x.device)
    flips = torch.randint(0, 2, (n,), generator=generator).to(x.device, torch.bool)
    padded = F.pad(x, (padding, padding, padding, padding))
    rows = offsets[0, :, None] + torch.arange(height, device=x.device)
    columns = torch.arange(width, device=x.device)
    columns = torch.where(flips[:, None], columns.flip(0), columns) + offsets[1, :, None]
    return padded[
        torch.arange(n, device=x.device)[:, None, None, None],
        torch.arange(channels, device=x.device)[None, :, None, None],
        rows[:, None, :, None],
        columns[:, None, None, :],
    ]
