"""What produced an executed chapter: inputs (hashed, to decide re-runs) and the environment.

A chapter is re-executed only when its *input key* changes. The key hashes the chapter source, the
:mod:`advrobust` modules it imports (directly or through other modules, :mod:`.imports`), the
thesis's transcribed tables when it imports the module that reads them, the notebook parameters,
the resolved device and the versions of the packages that shape the numbers. The library and data
inputs are recorded file by file (relative path -> SHA-256), so the reason for a re-run names the
files that changed. Git state, start time and wall time are recorded but never part of the key.
"""
from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

import advrobust

from .. import tables
from .imports import imported_modules

PACKAGES = (
    "advrobust",
    "torch",
    "torchvision",
    "numpy",
    "scipy",
    "pandas",
    "matplotlib",
    "seaborn",
    "lightgbm",
    "foolbox",
    "torchattacks",
    "adversarial-robustness-toolbox",
    "papermill",
    "jupytext",
    "jupyter-book",
    "myst-nb",
)
# The provenance fields that make up the input key, and how a change is reported.
KEY_FIELDS = {
    "source_hash": "chapter source changed",
    "lib_modules": "library changed",
    "thesis_data": "thesis data changed",
    "parameters": "parameters changed",
    "device": "device changed",
    "packages": "package versions changed",
}
LIB_DIR = Path(advrobust.__file__).resolve().parent
# A chapter importing this module (it defines THESIS_DIR) reads the thesis's tables.
THESIS_READER = Path(tables.__file__).resolve().relative_to(LIB_DIR)
_NAMED_CHANGES = 5  # a reason names at most this many changed entries


def file_hash(path: Path) -> str:
    """SHA-256 of the file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def file_hashes(paths: Iterable[Path], base: Path) -> dict[str, str]:
    """``{path relative to base (POSIX): SHA-256 of its bytes}``: content only, mtimes ignored."""
    return {path.relative_to(base).as_posix(): file_hash(path) for path in sorted(paths)}


def chapter_inputs(
    source: Path, package_dir: Path = LIB_DIR, thesis_dir: Path = tables.THESIS_DIR
) -> dict[str, Any]:
    """The files a chapter's results depend on, hashed.

    ``source_hash`` (the chapter), ``lib_modules`` (each module of the package at ``package_dir``
    that the chapter imports, named ``advrobust/...``), ``lib_hash`` (one digest of those, shown
    on the page) and ``thesis_data`` (``thesis_dir/*.csv`` when the chapter imports
    :data:`THESIS_READER`, else empty).
    """
    package_dir = package_dir.resolve()
    modules = imported_modules(source, package_dir)
    lib_modules = file_hashes(modules, package_dir.parent)
    reads_thesis = package_dir / THESIS_READER in modules
    return {
        "source_hash": file_hash(source),
        "lib_modules": lib_modules,
        "lib_hash": digest(lib_modules),
        "thesis_data": file_hashes(thesis_dir.glob("*.csv"), thesis_dir) if reads_thesis else {},
    }


def digest(value: Any) -> str:
    """SHA-256 of ``value``'s canonical JSON."""
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


def git_state(directory: Path) -> tuple[str | None, bool | None]:
    """``(commit, dirty)`` of the git work tree holding ``directory``; ``None`` where unknown."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(directory), *args], capture_output=True, text=True, check=True
            )
        except (OSError, subprocess.CalledProcessError):
            return None
        return done.stdout.strip()

    status = git("status", "--porcelain")
    return git("rev-parse", "HEAD"), (None if status is None else bool(status))


def package_versions() -> dict[str, str]:
    """Installed versions of :data:`PACKAGES` and Python; packages not installed are left out."""
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def input_key(record: dict[str, Any]) -> str:
    """SHA-256 of the :data:`KEY_FIELDS` of a provenance record."""
    return digest({field: record[field] for field in KEY_FIELDS})


def changed_inputs(previous: dict[str, Any] | None, current: dict[str, Any]) -> list[str]:
    """Why ``current`` must be executed again given the ``previous`` record ([] when it need not)."""
    if previous is None:
        return ["no previous successful run"]
    if previous.get("input_key") == current["input_key"]:
        return []
    reasons = []
    for field, why in KEY_FIELDS.items():
        before, now = previous.get(field), current[field]
        if before != now:
            names = changed_entries(before, now)
            reasons.append(f"{why}: {names}" if names else why)
    return reasons or ["input key changed"]


def changed_entries(before: Any, now: Any) -> str:
    """The keys whose values differ between two mappings, e.g. ``"advrobust/a.py, torch"``.

    Empty unless both are mappings (a record written before a field existed has none to compare).
    """
    if not (isinstance(before, dict) and isinstance(now, dict)):
        return ""
    names = sorted(name for name in before.keys() | now.keys() if before.get(name) != now.get(name))
    more = len(names) - _NAMED_CHANGES
    return ", ".join(names[:_NAMED_CHANGES]) + (f" and {more} more" if more > 0 else "")


def read_provenance(path: Path) -> dict[str, Any] | None:
    """The record at ``path``, or ``None`` when there is none (or it is unreadable)."""
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def write_provenance(path: Path, record: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
