"""The pinned environment: requirements.lock, environment.yml and pyproject.toml agree, and the
running environment is the lock's (tests/test_environment.py)."""
from __future__ import annotations

import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "requirements"))
from write_environment import environment, pins  # noqa: E402

LOCK = (ROOT / "requirements.lock").read_text()
PINNED = {canonicalize_name(name): version for name, version in pins(LOCK)}


def project_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["test"]]


def test_every_pin_has_hashes() -> None:
    blocks = re.split(r"\n(?=[A-Za-z0-9_.\-]+==)", LOCK.split("\n", 2)[2])
    assert len(blocks) == len(PINNED) > 100
    assert all("--hash=sha256:" in block for block in blocks)


@pytest.mark.parametrize("requirement", project_requirements(), ids=str)
def test_the_lock_pins_every_dependency_inside_its_range(requirement: Requirement) -> None:
    name = canonicalize_name(requirement.name)
    assert name in PINNED, f"{name} is not in requirements.lock: run `make lock`"
    assert requirement.specifier.contains(PINNED[name], prereleases=True)


def test_environment_yml_is_generated_from_the_lock() -> None:
    assert (ROOT / "environment.yml").read_text() == environment(LOCK), "run `make lock`"


@pytest.mark.parametrize("name", ["torch", "torchvision", "numpy", "pandas", "lightgbm", "jupyter-book", "torchattacks"])
def test_the_running_environment_is_the_locks(name: str) -> None:
    assert metadata.version(name) == PINNED[canonicalize_name(name)], "reinstall with `make env`"
