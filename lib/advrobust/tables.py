"""The thesis's own numbers, kept as data, and tables that put ours beside them.

The CSV files in ``<repo>/data/thesis/`` are transcribed from the thesis text, one per table
(``table_2_2.csv`` is Table 2.2). :func:`beside_thesis` joins a table of our results to one of them
so that every value column appears twice: the thesis's number and ours, labelled with the profile
that produced ours.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from .errors import ConfigError

THESIS_DIR = Path(__file__).resolve().parents[2] / "data" / "thesis"


def available_tables() -> list[str]:
    """Names of the transcribed thesis tables (file stems in ``data/thesis``)."""
    return sorted(p.stem for p in THESIS_DIR.glob("*.csv"))


def thesis_table(name: str) -> pd.DataFrame:
    """The thesis's numbers for table ``name`` (e.g. ``"table_2_2"``)."""
    path = THESIS_DIR / f"{name}.csv"
    if not path.is_file():
        raise ConfigError(f"unknown thesis table {name!r}; available: {', '.join(available_tables())}")
    return pd.read_csv(path)


def beside_thesis(
    ours: pd.DataFrame,
    thesis: pd.DataFrame,
    on: Sequence[str],
    profile: str,
    values: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Join ``ours`` to ``thesis`` on the key columns ``on``; show each value column twice.

    Returns a frame indexed by ``on`` whose columns are a two-level index ``(value, source)`` with
    source ``"thesis"`` or ``"ours (<profile>)"``. Rows present in only one side keep ``NaN`` on the
    other, so nothing is silently dropped.
    """
    keys = list(on)
    value_columns = list(values) if values is not None else [c for c in ours.columns if c not in keys]
    missing = [c for c in keys + value_columns if c not in ours.columns or c not in thesis.columns]
    if missing:
        raise ConfigError(f"columns missing from one side of the comparison: {', '.join(missing)}")
    ours_label = f"ours ({profile})"
    left = thesis[keys + value_columns].set_index(keys)
    right = ours[keys + value_columns].set_index(keys)
    joined = pd.concat({"thesis": left, ours_label: right}, axis=1, join="outer").swaplevel(axis=1)
    order = [(v, s) for v in value_columns for s in ("thesis", ours_label)]
    return joined[order]
