"""The one call that opens every chapter: profile, device, seeds, figure style and results."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from ..plotting.style import use_book_style
from ..profiles.base import check_profile
from .report import Results
from ..runtime import device_name, resolve_device, seed_everything


@dataclass(frozen=True)
class Chapter:
    """What a chapter's cells share: the notebook parameters, resolved."""

    profile: str  # smoke | quick | paper
    device: torch.device  # where models and data live
    seed: int  # seeds every experiment of the chapter
    results: Results  # saves and shows the chapter's tables and figures

    def describe(self) -> str:
        """One line for the page: profile, device and seed."""
        return f"profile {self.profile} on {device_name(self.device)}, seed {self.seed}"


def setup_chapter(profile: str, device: str = "auto", seed: int = 0, results_dir: str | Path = "results") -> Chapter:
    """Check the profile, resolve the device, seed everything, set the book's figure style, and open
    the chapter's :class:`~advrobust.experiments.report.Results` in ``results_dir``."""
    profile = check_profile(profile)
    resolved = resolve_device(device)
    seed_everything(seed)
    use_book_style()
    return Chapter(profile, resolved, seed, Results(results_dir, profile))
