"""Batched 2-D Perlin noise in torch: the low-frequency prior of Guessing Smart (Brunner et al. 2019).

Perlin (1985/2002) gradient noise: the image is covered by a lattice of ``frequency`` × ``frequency``
cells; every lattice corner gets a random gradient, one of the four axis directions (as in the
reference implementation, github.com/ttbrunner/biased_boundary_attack, utils/sampling/perlin.py);
a pixel's value interpolates the dot products of the four surrounding corners' gradients with its
offsets from them, weighted by the fade curve 6t⁵ - 15t⁴ + 10t³. The result varies smoothly on the
scale of a cell, i.e. it has little energy at high spatial frequencies. Each channel gets its own
pattern ("color" noise) and every sample is scaled to unit L2 norm.
"""
from __future__ import annotations

import torch
from torch import Tensor

from ..attacks.base import require_count
from ..errors import require

_GRADIENTS = ((0.0, 1.0), (0.0, -1.0), (1.0, 0.0), (-1.0, 0.0))  # (dx, dy) of the corner gradients


def fade(t: Tensor) -> Tensor:
    """Perlin's quintic fade curve 6t⁵ - 15t⁴ + 10t³ (zero slope and curvature at 0 and 1)."""
    return t * t * t * (t * (t * 6 - 15) + 10)


def perlin_noise(
    count: int,
    shape: tuple[int, int, int],
    frequency: int,
    generator: torch.Generator,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """(count, C, H, W) Perlin noise patterns of ``shape`` = (C, H, W), each of unit L2 norm.

    ``frequency`` is the number of lattice cells along each side of the image.
    """
    channels, height, width = shape
    require_count(frequency, "frequency")
    require(frequency < min(height, width), f"frequency must be below the image side, got {frequency} for {shape}")
    patterns = count * channels
    # Lattice coordinates of the pixels (endpoint excluded): cell index and offset inside it.
    ys = torch.arange(height, device=device, dtype=dtype) * (frequency / height)
    xs = torch.arange(width, device=device, dtype=dtype) * (frequency / width)
    yi, xi = ys.long(), xs.long()
    yf, xf = (ys - yi)[:, None], (xs - xi)[None, :]  # (H, 1), (1, W)
    table = torch.tensor(_GRADIENTS, device=device, dtype=dtype)
    choice = torch.randint(4, (patterns, frequency + 1, frequency + 1), generator=generator, device=device)
    gradients = table[choice]  # (P, F+1, F+1, 2)

    def corner(dy: int, dx: int) -> Tensor:
        g = gradients[:, (yi + dy)[:, None], (xi + dx)[None, :]]  # (P, H, W, 2)
        return g[..., 0] * (xf - dx) + g[..., 1] * (yf - dy)

    u, v = fade(xf), fade(yf)
    top = torch.lerp(corner(0, 0), corner(0, 1), u)
    bottom = torch.lerp(corner(1, 0), corner(1, 1), u)
    noise = torch.lerp(top, bottom, v).view(count, channels, height, width)
    return noise / noise.flatten(1).norm(dim=1).clamp_min(1e-12).view(count, 1, 1, 1)
