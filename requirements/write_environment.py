"""Write environment.yml (conda) with the exact versions of requirements.lock (run by `make lock`).

Conda's pip section resolves dependencies, so torchattacks (whose own pin of an old `requests`
the lock overrides) is left out and installed afterwards with --no-deps, as the header says.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

HEADER = """\
# Conda environment for the book, generated from requirements.lock by `make lock`: every version is
# the lock's. Create with `conda env create -f environment.yml`, then `conda activate advrobust`,
# `pip install --no-deps torchattacks==3.5.1 && pip install --no-deps -e .`, and
# `make book VENV=$CONDA_PREFIX`. torch and torchvision are the CUDA builds of the package
# registry, which also run on a machine without a GPU.
name: advrobust
channels:
  - conda-forge
dependencies:
  - python=3.11
  - pip
  - pip:
"""
LEFT_OUT = {"torchattacks"}  # installed with --no-deps (see above)


def pins(lock: str) -> list[tuple[str, str]]:
    """(name, version) of every ``name==version`` line of a pip lock file."""
    return re.findall(r"^([A-Za-z0-9_.\-]+)==([^\s\\;]+)", lock, flags=re.MULTILINE)


def environment(lock: str) -> str:
    lines = [f"      - {name}=={version}" for name, version in pins(lock) if name not in LEFT_OUT]
    return HEADER + "\n".join(lines) + "\n"


if __name__ == "__main__":
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1]
    (root / "environment.yml").write_text(environment((root / "requirements.lock").read_text()))
