"""The book's status page: which profile, device and commit produced each executed chapter."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .layout import BookLayout
from .provenance import read_provenance

HEADER = (
    "# Execution status\n\n"
    "Every chapter is a notebook executed by `python -m advrobust.pipeline run` (`make book`); this "
    "page is generated from the `provenance.json` written next to each chapter's results "
    "(`book/results/<chapter>/`). Numbers from the `smoke` and `quick` profiles are reduced-scale "
    "runs; only `paper` runs the thesis's scale.\n"
)


def write_status(root: str | Path) -> Path:
    """Write ``book/status.md`` from every chapter's provenance; the file is left untouched if unchanged."""
    layout = BookLayout.at(root)
    page = status_markdown(layout)
    path = layout.status_page
    if not path.is_file() or path.read_text() != page:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(page)
    return path


def status_markdown(layout: BookLayout) -> str:
    stems = sorted(p.stem for p in layout.notebooks_dir.glob("*.ipynb"))
    records = {stem: read_provenance(layout.provenance(stem)) for stem in stems}
    if not stems:
        return HEADER + "\nNo chapter has been executed yet: run `make book`.\n"
    rows = [_row(stem, record) for stem, record in records.items()]
    table = "| chapter | profile | device | wall time | executed (UTC) | commit |\n|---|---|---|---|---|---|\n"
    return (
        HEADER
        + "\n## Chapters\n\n"
        + table
        + "\n".join(rows)
        + "\n\n## Packages\n\n"
        + _packages_table([r for r in records.values() if r is not None])
    )


def _row(stem: str, record: dict[str, Any] | None) -> str:
    if record is None:
        return f"| `{stem}` | — | — | — | failed or interrupted: no successful run recorded | — |"
    commit = (record["git_commit"] or "unknown")[:12] + (" (dirty)" if record["git_dirty"] else "")
    return (
        f"| `{stem}` | `{record['profile']}` | {record['device']} | {record['wall_time_s']:.1f} s "
        f"| {record['started_at']} | `{commit}` |"
    )


def _packages_table(records: list[dict[str, Any]]) -> str:
    """One row per package; chapters run under different versions show every version seen."""
    names = sorted({name for record in records for name in record["packages"]})
    if not names:
        return "No package versions recorded.\n"
    lines = ["| package | version |", "|---|---|"]
    for name in names:
        seen = sorted({record["packages"][name] for record in records if name in record["packages"]})
        lines.append(f"| {name} | {' / '.join(seen)} |")
    return "\n".join(lines) + "\n"
