"""Thesis items that need data or a scale a machine may lack (ImageNet, AG News, a GPU): ours beside
the thesis's where they ran, else the thesis's as printed and one line saying why."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from ..data import TensorData
from ..errors import DataError

DATA_ABSENT = "paper only: data absent"  # the status's start when the loader found no data


@dataclass(frozen=True)
class PaperOnlyTable:
    """A table that runs at paper only: ours beside the thesis's, or the thesis's as printed."""

    status: str  # "ran", a "not run at this profile: ..." line, or f"{DATA_ABSENT}: <the loader's message>"
    table: pd.DataFrame

    @property
    def ran(self) -> bool:
        """Whether ours is in the table."""
        return self.status == "ran"


def evaluation_images(planned: bool, load: Callable[[], TensorData], not_here: str) -> tuple[TensorData | None, str]:
    """The images a paper-only table is measured on, and its status: ``load()`` and "ran" when the
    profile ``planned`` the item; else None and ``not_here``, or None and the data-absent status
    with the loader's message."""
    if not planned:
        return None, not_here
    try:
        return load(), "ran"
    except DataError as error:
        return None, f"{DATA_ABSENT}: {error}"
