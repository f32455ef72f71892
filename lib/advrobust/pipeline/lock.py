"""The versions ``requirements.lock`` pins, and where a chapter's run differed from them.

The lock (compiled by uv with hashes, ``make lock``) holds one ``name==version \\`` line per
package. A version recorded in a chapter's provenance matches its pin as pip would judge it
(PEP 440 ``==``): ``2.14.1+cu130``, a local build of 2.14.1, matches ``torch==2.14.1``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.MULTILINE)


@dataclass(frozen=True)
class Drift:
    """A package a chapter ran under at another version than the lock's."""

    package: str
    ran: str
    locked: str

    def __str__(self) -> str:
        return f"{self.package} {self.ran} (lock: {self.locked})"


def normalized(name: str) -> str:
    """A package name as the registry compares it (PEP 503): ``Jupyter_Book`` -> ``jupyter-book``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def locked_versions(path: Path) -> dict[str, str]:
    """``{normalized name: version}`` of every ``name==version`` pin in the lock file at ``path``."""
    return {normalized(name): version for name, version in _PIN.findall(path.read_text())}


def version_drift(ran: dict[str, str], locked: dict[str, str]) -> list[Drift]:
    """The packages of ``ran`` (name -> version, as provenance records them) whose version the
    ``locked`` pin does not match, by name; packages the lock does not pin are not compared."""
    drift = []
    for name, version in sorted(ran.items()):
        pin = locked.get(normalized(name))
        if pin is not None and not _matches(version, pin):
            drift.append(Drift(name, version, pin))
    return drift


def _matches(version: str, pin: str) -> bool:
    try:
        return SpecifierSet(f"=={pin}").contains(version, prereleases=True)
    except InvalidSpecifier:
        return version == pin
