"""Stamp an executed chapter with the profile that produced it and where it came from.

Two markdown cells are inserted: a badge right under the title (profile, device, date, and a
warning when the profile is not ``paper``) and a provenance footer at the end. A first cell holding
more than its ``# title`` line is split there, so the badge sits under the title itself. Both carry a tag, so
stamping again replaces them instead of adding copies. The chapter's default parameters cell is
tagged ``remove-cell`` (hidden on the page): papermill's injected cell below it shows the values
actually used.
"""
from __future__ import annotations

from typing import Any

import nbformat

BADGE_TAG = "advrobust-badge"
FOOTER_TAG = "advrobust-provenance"
REDUCED_SCALE_WARNING = (
    "Reduced scale: numbers show the thesis's qualitative claims, not its exact values. "
    "`make reproduce PROFILE=paper DEVICE=cuda` runs the thesis's scale."
)
_BADGE_COLOURS = {"paper": "#2e7d32", "quick": "#b26a00", "smoke": "#7b1fa2"}
_FOOTER_PACKAGES = ("python", "advrobust", "torch", "torchvision", "numpy", "pandas", "papermill", "jupyter-book")


def stamp(nb: nbformat.NotebookNode, record: dict[str, Any], status_link: str) -> nbformat.NotebookNode:
    """Insert (or replace) the badge and the provenance footer of ``nb`` from its provenance ``record``.

    ``status_link`` is the relative link from the notebook to the status page.
    """
    nb.cells = [cell for cell in nb.cells if not {BADGE_TAG, FOOTER_TAG} & set(cell.metadata.get("tags", []))]
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if "parameters" in tags and "remove-cell" not in tags:
            cell.metadata["tags"] = [*tags, "remove-cell"]
    title, _, rest = nb.cells[0].source.lstrip().partition("\n")
    if rest.strip():
        nb.cells[0].source = title
        nb.cells.insert(1, nbformat.v4.new_markdown_cell(rest.strip("\n")))
    nb.cells.insert(1, _tagged(badge_markdown(record), BADGE_TAG))
    nb.cells.append(_tagged(footer_markdown(record, status_link), FOOTER_TAG))
    return nb


def badge_markdown(record: dict[str, Any]) -> str:
    profile = record["profile"]
    label = f"profile: {profile} · device: {record['device']} · {record['started_at'][:10]}"
    style = (
        f"background:{_BADGE_COLOURS.get(profile, '#555')};color:#fff;border-radius:4px;"
        "padding:2px 8px;font-size:0.85em;font-family:sans-serif"
    )
    badge = f'<span class="advrobust-badge" style="{style}">{label}</span>'
    return badge if profile == "paper" else f"{badge}\n\n**{REDUCED_SCALE_WARNING}**"


def footer_markdown(record: dict[str, Any], status_link: str) -> str:
    commit = (record["git_commit"] or "unknown")[:12]
    dirty = {True: " (uncommitted changes)", False: "", None: " (dirty state unknown)"}[record["git_dirty"]]
    packages = ", ".join(
        f"{name} {record['packages'][name]}" for name in _FOOTER_PACKAGES if name in record["packages"]
    )
    rows = [
        ("profile", f"`{record['profile']}`"),
        ("device", record["device"]),
        ("seed", str(record["seed"])),
        ("executed", f"{record['started_at']} in {record['wall_time_s']:.1f} s"),
        ("commit", f"`{commit}`{dirty}"),
        ("library hash", f"`{record['lib_hash'][:12]}`"),
        ("packages", packages),
    ]
    table = "\n".join(f"| {name} | {value} |" for name, value in rows)
    return (
        "---\n\n| Provenance of this page | |\n|---|---|\n"
        f"{table}\n\nAll chapters: [execution status]({status_link})."
    )


def _tagged(source: str, tag: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_markdown_cell(source)
    cell.metadata["tags"] = [tag]
    return cell
