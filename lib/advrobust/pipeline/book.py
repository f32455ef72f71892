"""Build the HTML book from the executed notebooks with Jupyter Book (Sphinx).

The build runs ``jupyter-book build <root> -W -n --keep-going``: every warning (a broken
reference, an unknown citation, a notebook missing from the toc) fails it, after all of them have
been reported. Jupyter Book never executes anything here (``execute_notebooks: off``): it renders
the outputs papermill stored. Sphinx's cache (``_build/.doctrees``) keeps a rebuild with nothing
changed fast; it is dropped whenever ``_toc.yml`` changes, since a stale one survives toc edits,
and after a failed build, so that the next build reports the same warnings again.
"""
from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

from ..errors import AdvRobustError, ConfigError, require
from .layout import BookLayout
from .scorecard import write_scorecard
from .status import write_status

BUILD_FLAGS = ("-W", "-n", "--keep-going")
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


class BookBuildFailed(AdvRobustError):
    """``jupyter-book build`` exited non-zero; the message lists its warnings and errors."""


def build_book(root: str | Path = ".") -> Path:
    """Refresh the status and scorecard pages, build the HTML and return the path of its ``index.html``."""
    layout = BookLayout.at(root)
    for path in (layout.config, layout.toc):
        require(path.is_file(), f"{path} is missing: {layout.root} is not a book root")
    _require_successful_runs(layout)
    write_status(layout.root)
    write_scorecard(layout.root)
    _drop_doctrees_if_toc_changed(layout)
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    require(jupyter_book.is_file(), f"{jupyter_book} not found: install the package's dependencies (make env)")
    done = subprocess.run(
        [str(jupyter_book), "build", str(layout.root), *BUILD_FLAGS],
        capture_output=True,
        text=True,
    )
    output = _ANSI_ESCAPE.sub("", done.stdout + done.stderr)
    log_path = layout.build_dir / "jupyter-book.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.write_text(output)
    if done.returncode != 0:
        # Sphinx re-reads only changed pages: without this, a rebuild would pass without re-reporting.
        shutil.rmtree(layout.build_dir / ".doctrees", ignore_errors=True)
        problems = [line for line in output.splitlines() if "WARNING" in line or "ERROR" in line]
        raise BookBuildFailed(
            f"jupyter-book build failed (exit {done.returncode}); full log: {log_path}\n"
            + "\n".join(problems[:30] or output.splitlines()[-30:])
        )
    return layout.build_dir / "html" / "index.html"


def _require_successful_runs(layout: BookLayout) -> None:
    """Refuse to render a notebook left behind by a failed or interrupted run."""
    unrecorded = [
        nb.stem for nb in sorted(layout.notebooks_dir.glob("*.ipynb")) if not layout.provenance(nb.stem).is_file()
    ]
    if unrecorded:
        raise ConfigError(
            f"no successful run recorded for {', '.join(unrecorded)} (a failed or interrupted execution); "
            "run the pipeline again before building"
        )


def _drop_doctrees_if_toc_changed(layout: BookLayout) -> None:
    digest = hashlib.sha256(layout.toc.read_bytes()).hexdigest()
    marker = layout.build_dir / ".toc-sha256"
    if marker.is_file() and marker.read_text() == digest:
        return
    shutil.rmtree(layout.build_dir / ".doctrees", ignore_errors=True)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(digest)
