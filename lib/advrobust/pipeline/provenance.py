"""What produced an executed chapter: inputs (hashed, to decide re-runs) and the environment.

A chapter is re-executed only when its *input key* changes. The key hashes the chapter source, the
library source (every ``.py`` file of :mod:`advrobust`, by content), the notebook parameters, the
resolved device and the versions of the packages that shape the numbers. Git state, start time and
wall time are recorded but never part of the key.
"""
from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import advrobust

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
    "lib_hash": "library changed",
    "parameters": "parameters changed",
    "device": "device changed",
    "packages": "package versions changed",
}
LIB_DIR = Path(advrobust.__file__).resolve().parent


def file_hash(path: Path) -> str:
    """SHA-256 of the file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree_hash(directory: Path) -> str:
    """SHA-256 over every ``.py`` file under ``directory`` (relative path and content; mtimes ignored)."""
    digest = hashlib.sha256()
    for path in sorted(directory.rglob("*.py")):
        digest.update(path.relative_to(directory).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def lib_hash() -> str:
    """Content hash of the installed :mod:`advrobust` source."""
    return tree_hash(LIB_DIR)


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
    inputs = {field: record[field] for field in KEY_FIELDS}
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def changed_inputs(previous: dict[str, Any] | None, current: dict[str, Any]) -> list[str]:
    """Why ``current`` must be executed again given the ``previous`` record ([] when it need not)."""
    if previous is None:
        return ["no previous successful run"]
    if previous.get("input_key") == current["input_key"]:
        return []
    return [why for field, why in KEY_FIELDS.items() if previous.get(field) != current[field]] or [
        "input key changed"
    ]


def read_provenance(path: Path) -> dict[str, Any] | None:
    """The record at ``path``, or ``None`` when there is none (or it is unreadable)."""
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def write_provenance(path: Path, record: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
