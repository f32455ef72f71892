"""Device choice, seeding and deterministic settings shared by training and attacks."""
from __future__ import annotations

import os
import random

import numpy as np
import torch

from .errors import ConfigError


def resolve_device(name: str = "auto") -> torch.device:
    """``"auto"`` picks CUDA when present, else the CPU; ``"cpu"``/``"cuda"``/``"cuda:1"`` as given."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"unknown device {name!r}; use 'auto', 'cpu' or 'cuda[:N]'") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} asked for, but CUDA is not available on this machine")
    return device


def device_name(device: torch.device) -> str:
    """Human-readable name of ``device`` (the GPU model, or the CPU)."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({os.cpu_count()} cores)"


def seed_everything(seed: int, deterministic: bool = True) -> torch.Generator:
    """Seed Python, NumPy and torch; with ``deterministic`` ask cuDNN for deterministic kernels.

    Returns a CPU ``torch.Generator`` seeded with ``seed`` for code that wants its own stream.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
    return torch.Generator().manual_seed(seed)
