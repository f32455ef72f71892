"""The common schema of what a chapter records for the scorecard, and the scorecard's rows.

Every chapter's :class:`~advrobust.experiments.report.Results` writes two files beside its tables and
figures in ``book/results/<chapter>/``:

* ``outputs.json``: one :class:`Output` per table, figure or text it showed: its name, the thesis
  item it regenerates (read off the name, ``table_4_2`` → "Table 4.2", or given), the HTML anchor
  it carries on the page, and for a table beside the thesis's numbers every :class:`Cell` that
  has both (the scorecard's headline is one of them);
* ``claims.json``: every :class:`~.claims.Claim` the chapter checked, with its effect, interval,
  verdict, attack and thesis item.

The scorecard (:mod:`advrobust.pipeline.scorecard`) reads them with the master list of the
thesis's 39 tables and 24 figures and turns each item into an :class:`Item`.
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .claims import Claim

OUTPUTS_FILE = "outputs.json"
CLAIMS_FILE = "claims.json"
THESIS, OURS = "thesis", "ours"  # the source labels of advrobust.tables.beside_thesis
MAX_CELLS = 400  # cells kept per table
MAX_TEXT = 60  # characters kept of a text cell
# table_4_2, figure_5_6a, fig_1_1_targeted, table_3_9_dialogue -> the thesis item they regenerate
_ITEM_NAME = re.compile(r"^(table|figure|fig)_(\d+)_(\d+)(?=$|_|[a-z])")

Value = float | str


def item_of(name: str) -> str | None:
    """The thesis item a result named ``name`` regenerates: ``"table_4_2"`` → ``"Table 4.2"``,
    ``"figure_5_6a"`` → ``"Figure 5.6"``, ``"claims"`` → None."""
    found = _ITEM_NAME.match(name)
    if found is None:
        return None
    kind = "Table" if found.group(1) == "table" else "Figure"
    return f"{kind} {int(found.group(2))}.{int(found.group(3))}"


def item_sort_key(item: str) -> tuple[str, int, int]:
    """Order "Figure 2.10" after "Figure 2.9": (kind, chapter, number)."""
    kind, number = item.split(" ")
    chapter, index = number.split(".")
    return kind, int(chapter), int(index)


@dataclass(frozen=True)
class Cell:
    """One value the thesis and we both report: where it is (row and column labels) and both numbers."""

    label: str
    thesis: Value
    ours: Value

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "thesis": self.thesis, "ours": self.ours}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Cell:
        return cls(str(data["label"]), data["thesis"], data["ours"])


@dataclass(frozen=True)
class Output:
    """A table, figure or text a chapter showed, as the scorecard needs it."""

    name: str  # the result's file name without suffix, e.g. "table_4_2"
    kind: str  # "table" | "figure" | "text"
    caption: str
    item: str | None  # the thesis item it regenerates, e.g. "Table 4.2"
    anchor: str  # the HTML id it carries on its page
    has_ours: bool  # False: a table of the thesis's numbers alone (our run had no data for it)
    cells: tuple[Cell, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "caption": self.caption, "item": self.item,
                "anchor": self.anchor, "has_ours": self.has_ours, "cells": [c.to_dict() for c in self.cells]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Output:
        return cls(str(data["name"]), str(data["kind"]), str(data["caption"]), data.get("item"), str(data["anchor"]),
                   bool(data["has_ours"]), tuple(Cell.from_dict(c) for c in data.get("cells", [])))


@dataclass(frozen=True)
class RecordedClaim:
    """A claim as a chapter recorded it: the claim and the anchor of the block showing it."""

    claim: Claim
    anchor: str

    def to_dict(self) -> dict[str, Any]:
        return {"anchor": self.anchor, **self.claim.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RecordedClaim:
        return cls(Claim.from_dict(data), str(data["anchor"]))


# ------------------------------------------------------------------------------ the scorecard's rows


@dataclass(frozen=True)
class Link:
    """Where an item appears: a chapter page and an anchor on it."""

    page: str  # the chapter's stem, e.g. "ch04_cat"
    anchor: str

    @property
    def href(self) -> str:
        """Relative to a page in ``book/`` (the scorecard): ``chapters/<page>.html#<anchor>``."""
        return f"chapters/{self.page}.html#{self.anchor}"


@dataclass(frozen=True)
class Headline:
    """One number of the item, the thesis's against ours."""

    label: str
    thesis: Value
    ours: Value

    def __str__(self) -> str:
        return f"{self.label}: thesis {format_value(self.thesis)}, ours {format_value(self.ours)}"


@dataclass(frozen=True)
class Item:
    """One row of the scorecard: a thesis table or figure and what the book did with it."""

    id: str  # "Table 2.2", "Figure 5.1"
    caption: str  # a short caption
    kind: str  # result | example | illustration | quoted (as the thesis map classes it)
    status: str  # regenerated | paper-only | quoted | not run
    detail: str  # "quick on CPU (2 cores)", or what is missing, or why it is quoted
    links: tuple[Link, ...] = ()
    headline: Headline | None = None
    claims: tuple[Claim, ...] = field(default_factory=tuple)


# ------------------------------------------------------------------------------ cells of a table


def format_value(value: Value) -> str:
    """A cell's value as the scorecard shows it (numbers to four significant digits)."""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def comparable_cells(df: pd.DataFrame) -> tuple[tuple[Cell, ...], bool]:
    """The cells of a table built by :func:`~advrobust.tables.beside_thesis` (or shaped like it:
    one row or column level holding "thesis" and "ours (...)") that have both values, and whether
    any of ours is present. A table without a "thesis" level is all ours: no cells, True."""
    where = _source_level(df)
    if where is None:
        return (), True
    axis, level = where
    rows = [r if isinstance(r, tuple) else (r,) for r in df.index]
    columns = [c if isinstance(c, tuple) else (c,) for c in df.columns]
    position = level if axis == "index" else df.index.nlevels + level
    pairs: dict[tuple[Any, ...], dict[str, Value]] = {}
    for i, row in enumerate(rows):
        for j, column in enumerate(columns):
            key = row + column
            source = str(key[position])
            side = THESIS if source == THESIS else OURS if source.startswith(OURS) else None
            value = _value(df.iat[i, j])
            if side is None or value is None:
                continue
            rest = key[:position] + key[position + 1:]
            pairs.setdefault(rest, {}).setdefault(side, value)  # the first "ours" source of several
    has_ours = any(OURS in pair for pair in pairs.values())
    cells = [Cell(_label(rest), pair[THESIS], pair[OURS]) for rest, pair in pairs.items()
             if THESIS in pair and OURS in pair]
    return tuple(cells[:MAX_CELLS]), has_ours


def _source_level(df: pd.DataFrame) -> tuple[str, int] | None:
    for axis, labels in (("columns", df.columns), ("index", df.index)):
        for level in range(labels.nlevels):
            values = {str(v) for v in labels.get_level_values(level)}
            if THESIS in values:
                return axis, level
    return None


def _value(value: Any) -> Value | None:
    if isinstance(value, str):
        return value if len(value) <= MAX_TEXT else value[: MAX_TEXT - 1] + "…"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _label(keys: Sequence[Any]) -> str:
    """The row and column labels of a cell, e.g. "MNIST · Sign-OPT attack · 8000 · avg_l2" (a
    whole float shown as an integer: a column of queries with a missing value is float)."""
    shown = [str(int(k)) if isinstance(k, float) and k.is_integer() else str(k) for k in keys]
    return " · ".join(k for k in shown if k not in ("", "nan", "None"))


# ------------------------------------------------------------------------------ files


def read_outputs(results_dir: Path) -> list[Output]:
    """The outputs a chapter recorded (none when it recorded nothing)."""
    data = _read(results_dir / OUTPUTS_FILE)
    return [Output.from_dict(entry) for entry in data.get("outputs", [])]


def read_claims(results_dir: Path) -> list[RecordedClaim]:
    """The claims a chapter recorded (none when it recorded nothing)."""
    data = _read(results_dir / CLAIMS_FILE)
    return [RecordedClaim.from_dict(entry) for entry in data.get("claims", [])]


def record_output(results_dir: Path, output: Output) -> None:
    """Add ``output`` to ``outputs.json``, replacing one of the same name (a re-run cell)."""
    kept = [o for o in read_outputs(results_dir) if o.name != output.name]
    _write(results_dir / OUTPUTS_FILE, {"outputs": [o.to_dict() for o in [*kept, output]]})


def record_claims(results_dir: Path, claims: Iterable[Claim], anchor: str) -> None:
    """Add ``claims`` to ``claims.json``, replacing any with the same claim and attack."""
    new = [RecordedClaim(claim, anchor) for claim in claims]
    keys = {(r.claim.claim, r.claim.attack) for r in new}
    kept = [r for r in read_claims(results_dir) if (r.claim.claim, r.claim.attack) not in keys]
    _write(results_dir / CLAIMS_FILE, {"claims": [r.to_dict() for r in [*kept, *new]]})


def clear_records(results_dir: Path) -> None:
    """Remove a previous run's records (a chapter starts afresh)."""
    for name in (OUTPUTS_FILE, CLAIMS_FILE):
        (results_dir / name).unlink(missing_ok=True)


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _write(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False, allow_nan=False) + "\n")
