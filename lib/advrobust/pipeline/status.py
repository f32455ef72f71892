"""The book's status page: which profile, device, commit and package versions produced each
executed chapter, and which chapters ran under versions other than ``requirements.lock``'s."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .layout import BookLayout
from .lock import locked_versions, version_drift
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
        + "\n\n## Package versions against the lock\n\n"
        + _drift_section(layout, {stem: record for stem, record in records.items() if record is not None})
        + "\n## Packages\n\n"
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


def _drift_section(layout: BookLayout, records: dict[str, dict[str, Any]]) -> str:
    """Per chapter, the packages it ran under at versions other than ``requirements.lock``'s."""
    lock = layout.relative(layout.lock)
    if not layout.lock.is_file():
        return f"No `{lock}` in the book root: the versions were not compared with a lock.\n"
    if not records:
        return "No successful run recorded: no versions to compare.\n"
    locked = locked_versions(layout.lock)
    drift = {stem: version_drift(record["packages"], locked) for stem, record in records.items()}
    drifted = {stem: found for stem, found in drift.items() if found}
    if not drifted:
        return f"Every chapter ran under the package versions pinned in `{lock}`.\n"
    rows = [
        f"| `{stem}` | {d.package} | {d.ran} | {d.locked} |" for stem, found in drifted.items() for d in found
    ]
    rest = len(records) - len(drifted)
    return (
        f"**{len(drifted)} of {len(records)} chapters ran under package versions other than those pinned "
        f"in `{lock}`**; their numbers may differ from a run in the locked environment "
        f"(`make env`, then `make book`).\n\n"
        "| chapter | package | ran under | pinned in the lock |\n|---|---|---|---|\n"
        + "\n".join(rows)
        + "\n"
        + (f"\nThe other {rest} ran under the pinned versions.\n" if rest else "")
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
