"""The book's status page: which profile, device, commit and package versions produced each
executed chapter, and which chapters ran under versions other than ``requirements.lock``'s."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .layout import BookLayout
from .lock import Drift, locked_versions, normalized, version_drift
from .provenance import read_provenance

HEADER = (
    "# Execution status\n\n"
    "Every chapter is a notebook executed by `python -m advrobust.pipeline run` (`make book`); this "
    "page is generated from the `provenance.json` written next to each chapter's results "
    "(`book/results/<chapter>/`). Numbers from the `smoke` and `quick` profiles are reduced-scale "
    "runs; only `paper` runs the thesis's scale.\n"
)
VERSIONS_NOTE = (
    "The *versions* column compares the packages each chapter ran under with the versions pinned in "
    "`{lock}`: *lock* when every pinned package matched, *N packages differ* otherwise (listed in the "
    "next section), *not compared* when the book has no lock.\n\n"
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
    """The status page of the book at ``layout``: a row per executed chapter, the version drift
    against the lock, and every package version recorded."""
    stems = sorted(p.stem for p in layout.notebooks_dir.glob("*.ipynb"))
    records = {stem: read_provenance(layout.provenance(stem)) for stem in stems}
    if not stems:
        return HEADER + "\nNo chapter has been executed yet: run `make book`.\n"
    succeeded = {stem: record for stem, record in records.items() if record is not None}
    locked = locked_versions(layout.lock) if layout.lock.is_file() else None
    drift: dict[str, list[Drift]] | None = None
    if locked is not None:
        drift = {stem: version_drift(record["packages"], locked) for stem, record in succeeded.items()}
    rows = [_row(stem, record, None if drift is None else drift.get(stem)) for stem, record in records.items()]
    table = (
        "| chapter | profile | device | wall time | versions | executed (UTC) | commit |\n"
        "|---|---|---|---|---|---|---|\n"
    )
    return (
        HEADER
        + "\n## Chapters\n\n"
        + VERSIONS_NOTE.format(lock=layout.relative(layout.lock))
        + table
        + "\n".join(rows)
        + "\n\n## Package versions against the lock\n\n"
        + _drift_section(layout, drift)
        + "\n## Packages\n\n"
        + _packages_table(list(succeeded.values()), locked)
    )


def versions_cell(drift: list[Drift] | None) -> str:
    """The chapters table's "versions" entry: ``lock`` when the run matched every pin of the lock,
    ``N packages differ`` when it did not, ``not compared`` without a lock."""
    if drift is None:
        return "not compared"
    if not drift:
        return "lock"
    return "1 package differs" if len(drift) == 1 else f"{len(drift)} packages differ"


def _row(stem: str, record: dict[str, Any] | None, drift: list[Drift] | None) -> str:
    if record is None:
        return f"| `{stem}` | — | — | — | — | failed or interrupted: no successful run recorded | — |"
    commit = (record["git_commit"] or "unknown")[:12] + (" (dirty)" if record["git_dirty"] else "")
    return (
        f"| `{stem}` | `{record['profile']}` | {record['device']} | {record['wall_time_s']:.1f} s "
        f"| {versions_cell(drift)} | {record['started_at']} | `{commit}` |"
    )


def _drift_section(layout: BookLayout, drift: dict[str, list[Drift]] | None) -> str:
    """Per chapter, the packages it ran under at versions other than ``requirements.lock``'s
    (``drift`` is None without a lock)."""
    lock = layout.relative(layout.lock)
    if drift is None:
        return f"No `{lock}` in the book root: the versions were not compared with a lock.\n"
    if not drift:
        return "No successful run recorded: no versions to compare.\n"
    drifted = {stem: found for stem, found in drift.items() if found}
    if not drifted:
        return f"Every chapter ran under the package versions pinned in `{lock}`.\n"
    rows = [
        f"| `{stem}` | {d.package} | {d.ran} | {d.locked} |" for stem, found in drifted.items() for d in found
    ]
    rest = len(drift) - len(drifted)
    return (
        f"**{len(drifted)} of {len(drift)} chapters ran under package versions other than those pinned "
        f"in `{lock}`**; their numbers may differ from a run in the locked environment "
        f"(`make env`, then `make book`).\n\n"
        "| chapter | package | ran under | pinned in the lock |\n|---|---|---|---|\n"
        + "\n".join(rows)
        + "\n"
        + (f"\nThe other {rest} ran under the pinned versions.\n" if rest else "")
    )


def _packages_table(records: list[dict[str, Any]], locked: dict[str, str] | None) -> str:
    """One row per package with the version the lock pins; chapters run under different versions
    show every version seen."""
    names = sorted({name for record in records for name in record["packages"]})
    if not names:
        return "No package versions recorded.\n"
    lines = ["| package | version | pinned in the lock |", "|---|---|---|"]
    for name in names:
        seen = sorted({record["packages"][name] for record in records if name in record["packages"]})
        pin = "—" if locked is None else locked.get(normalized(name), "—")
        lines.append(f"| {name} | {' / '.join(seen)} | {pin} |")
    return "\n".join(lines) + "\n"
