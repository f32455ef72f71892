"""Checkpoint files: written atomically, read with ``weights_only=True``."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch


def save_atomic(state: Any, path: Path) -> None:
    """``torch.save`` to a temporary file, then rename it over ``path`` (no half-written files).

    ``state`` must hold only tensors and primitive containers so that it loads with
    ``weights_only=True``.
    """
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # one per writing process
    torch.save(state, temporary)
    os.replace(temporary, path)


def load_checkpoint(path: Path, device: torch.device | str = "cpu") -> Any:
    """Load ``path`` onto ``device`` without unpickling arbitrary objects."""
    return torch.load(path, map_location=device, weights_only=True)
