"""The install cell: what lets an executed chapter run where ``advrobust`` is not installed.

Each chapter page's Colab and Binder buttons open its executed notebook from the repository that
``repository.url`` in ``_config.yml`` names. The pipeline writes an install cell right before the
notebook's first code cell. Where ``advrobust`` cannot be imported (Colab, Binder, a fresh Jupyter),
the cell clones that repository and installs the package from the clone (editable, so that the
package finds the thesis's tables and its data directory there) and torchattacks at the lock's
version (without its own pins, as ``make env`` does); the data loaders then download each dataset
on first use into the clone's ``data/raw`` and verify its checksum. Where ``advrobust`` can be
imported, as in every run of the pipeline, the cell does nothing and so never uses the network.
It is tagged ``remove-cell``: the rendered page leaves it out.

The pipeline does not execute the cell: it writes it into each notebook after execution, and
into the notebooks a run leaves unchanged, so that a new repository URL reaches every page without
re-executing any chapter. A book root whose ``_config.yml`` names no repository gets no install cell.
"""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import nbformat
import yaml  # type: ignore[import-untyped]

from ..errors import require
from .layout import BookLayout
from .lock import locked_versions, normalized

INSTALL_TAG = "advrobust-install"
# https://github.com/<owner>/<name>, without a trailing slash or `.git` (the launch links append paths to it)
GITHUB_REPOSITORY = re.compile(r"https://github\.com/[A-Za-z0-9-]+/[A-Za-z0-9._-]+(?<!\.git)")
NO_DEPS_PACKAGE = "torchattacks"  # its own pin of an old `requests` is overridden (requirements/overrides.txt)
_SOURCE = """\
# Runs this notebook where the advrobust package is not installed (Colab, Binder, a fresh Jupyter):
# clones the book's repository, installs the package from the clone and imports it from there.
# Datasets are then downloaded on first use into the clone's data/raw (or $ADVROBUST_DATA) and
# checked against their published checksums. Where advrobust is installed, this cell does nothing.
import importlib.util

if importlib.util.find_spec("advrobust") is None:
    import os
    import subprocess
    import sys

    checkout = os.path.abspath({name})
    if not os.path.isdir(checkout):
        subprocess.run(["git", "clone", "--depth", "1", {url}, checkout], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--editable", checkout], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", {pin}], check=True)
    sys.path.insert(0, os.path.join(checkout, "lib"))  # a running kernel does not see the editable install
"""


def repository_url(config: Path) -> str | None:
    """``repository.url`` of the Jupyter Book configuration at ``config``; ``None`` when it names none."""
    if not config.is_file():
        return None
    url = ((yaml.safe_load(config.read_text()) or {}).get("repository") or {}).get("url")
    if url is None:
        return None
    require(
        isinstance(url, str) and GITHUB_REPOSITORY.fullmatch(url) is not None,
        f"{config}: repository.url must be https://github.com/<owner>/<name>, got {url!r}",
    )
    return url


def install_source(layout: BookLayout) -> str | None:
    """The install cell's code for the book at ``layout``; ``None`` when its configuration names no repository."""
    url = repository_url(layout.config)
    if url is None:
        return None
    pins = locked_versions(layout.lock) if layout.lock.is_file() else {}
    version = pins.get(normalized(NO_DEPS_PACKAGE))
    require(version is not None, f"{layout.lock} pins no {NO_DEPS_PACKAGE}, whose version the install cell needs")
    name = url.rsplit("/", 1)[1]
    pin = f"{NO_DEPS_PACKAGE}=={version}"
    return _SOURCE.format(name=json.dumps(name), url=json.dumps(url), pin=json.dumps(pin))


def place_install_cell(nb: nbformat.NotebookNode, source: str | None) -> nbformat.NotebookNode:
    """``nb`` with an install cell of ``source`` right before its first code cell, in place of any
    earlier one (``None``: without one)."""
    nb.cells = [cell for cell in nb.cells if INSTALL_TAG not in cell.metadata.get("tags", [])]
    if source is not None:
        first_code = next((i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"), len(nb.cells))
        cell = nbformat.v4.new_code_cell(source, id=INSTALL_TAG)
        cell.metadata["tags"] = [INSTALL_TAG, "remove-cell"]
        nb.cells.insert(first_code, cell)
    return nb


def refresh_install_cell(notebook: Path, source: str | None) -> None:
    """Place the install cell of ``source`` in the executed ``notebook``; the file is rewritten only if it changed."""
    nb = nbformat.read(notebook, as_version=4)
    before = copy.deepcopy(nb.cells)
    if place_install_cell(nb, source).cells != before:
        nbformat.write(nb, notebook)
