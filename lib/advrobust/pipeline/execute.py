"""Execute chapters with papermill, skipping those whose inputs did not change.

For each ``chapters/<stem>.py`` (Jupytext py:percent) the pipeline

1. converts it to a notebook in memory (``jupytext.read``) and checks its shape: a title cell
   (``# ...``) first, one cell tagged ``parameters`` defining :data:`PARAMETERS`;
2. builds its provenance record and input key (:mod:`.provenance`); when the key equals the one in
   ``book/results/<stem>/provenance.json`` and the executed notebook exists, the chapter is skipped;
3. otherwise empties ``book/results/<stem>/`` and runs the notebook with
   ``papermill.execute_notebook`` on the ``python3`` kernel of the running interpreter, saving the
   output after every cell so a crash leaves a partial notebook to inspect;
4. stamps the executed notebook with its badge and footer (:mod:`.render`), puts the install cell
   in it (:mod:`.launch`), folds its exercises' solutions, links and writes its student notebook
   (:mod:`.exercises`) and writes ``provenance.json`` last, so only a successful run is ever
   recorded.

A skipped chapter's notebook gets the install cell of the current configuration and its student
notebook, without being executed again.

The kernel's working directory is the book root, and ``results_dir`` is passed relative to it
(``book/results/<stem>``): the rendered parameters cell shows no machine-specific path.
"""
from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import jupytext
import nbformat
import papermill
import zmq
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from papermill.exceptions import PapermillExecutionError
from traitlets.config import Config

from ..errors import AdvRobustError, require
from ..profiles import check_profile
from ..runtime import device_name, resolve_device
from . import provenance
from .exercises import prepare_exercises, refresh_exercises, write_student_notebook
from .launch import install_source, place_install_cell, refresh_install_cell
from .layout import BookLayout
from .render import stamp
from .status import write_status

log = logging.getLogger(__name__)

KERNEL = "python3"
PARAMETERS = ("profile", "device", "seed", "results_dir")
_KERNELSPEC = {"name": KERNEL, "display_name": "Python 3 (ipykernel)", "language": "python"}


class ChapterFailed(AdvRobustError):
    """A chapter raised while executing; the message names the chapter, the cell and the error."""

    def __init__(self, stem: str, notebook: str, cell: int | None, exec_count: int | None, error: str, code: str):
        where = "an unknown cell" if cell is None else f"cell {cell} (In [{exec_count}])"
        first_line = code.strip().splitlines()[0] if code.strip() else ""
        lines = [f"chapter {stem} failed in {where}: {error}"]
        if first_line:
            lines.append(f"  the cell starts: {first_line}")
        lines.append(f"  partial notebook kept for inspection: {notebook}")
        super().__init__("\n".join(lines))
        self.stem, self.notebook, self.cell, self.error = stem, notebook, cell, error


@dataclass(frozen=True)
class ChapterRun:
    """What ``run`` did with one chapter."""

    stem: str
    executed: bool
    reasons: tuple[str, ...]  # why it was executed; empty when skipped
    notebook: Path
    wall_time_s: float | None  # None when skipped


def chapter_stems(layout: BookLayout, only: Iterable[str] = ()) -> list[str]:
    """Stems of ``chapters/*.py`` in order, or the ``only`` ones (each must exist)."""
    available = sorted(p.stem for p in layout.chapters_dir.glob("*.py"))
    require(bool(available), f"no chapters found: {layout.chapters_dir} has no *.py notebooks")
    wanted = list(only) or available
    unknown = [stem for stem in wanted if stem not in available]
    require(not unknown, f"unknown chapter(s) {', '.join(unknown)}; available: {', '.join(available)}")
    return wanted


def load_chapter(path: Path) -> nbformat.NotebookNode:
    """The chapter at ``path`` as a notebook, after checking its title and parameters cells."""
    nb = jupytext.read(path, fmt="py:percent")
    first = nb.cells[0] if nb.cells else None
    require(
        first is not None and first.cell_type == "markdown" and first.source.lstrip().startswith("# "),
        f"{path}: the first cell must be a markdown cell holding the page title ('# ...')",
    )
    tagged = [cell for cell in nb.cells if "parameters" in cell.metadata.get("tags", [])]
    require(len(tagged) == 1, f"{path}: expected one cell tagged 'parameters', found {len(tagged)}")
    missing = [name for name in PARAMETERS if not re.search(rf"^{name}\s*=", tagged[0].source, re.MULTILINE)]
    require(not missing, f"{path}: the parameters cell does not define {', '.join(missing)}")
    nb.metadata["kernelspec"] = dict(_KERNELSPEC)
    return nb


def run_chapters(
    root: str | Path = ".",
    profile: str = "quick",
    device: str = "auto",
    seed: int = 0,
    only: Iterable[str] = (),
    force: bool = False,
    progress: bool = False,
) -> list[ChapterRun]:
    """Execute the chapters under ``root`` whose inputs changed (all of them with ``force``).

    Stops at the first failing chapter with :class:`ChapterFailed`. The status page is refreshed
    whatever happens.
    """
    layout = BookLayout.at(root)
    check_profile(profile)
    resolved = device_name(resolve_device(device))
    stems = chapter_stems(layout, only)
    shared = {"packages": provenance.package_versions(), "device": resolved}
    install = install_source(layout)
    runs: list[ChapterRun] = []
    try:
        for stem in stems:
            parameters = {
                "profile": profile,
                "device": device,
                "seed": seed,
                "results_dir": layout.relative(layout.results_dir(stem)),
            }
            runs.append(_run_chapter(layout, stem, parameters, shared, install, force, progress))
    finally:
        write_status(layout.root)
    return runs


def _run_chapter(
    layout: BookLayout,
    stem: str,
    parameters: dict[str, Any],
    shared: dict[str, Any],
    install: str | None,
    force: bool,
    progress: bool,
) -> ChapterRun:
    source, notebook = layout.source(stem), layout.notebook(stem)
    nb = load_chapter(source)
    record: dict[str, Any] = {
        "chapter": stem,
        "source": layout.relative(source),
        "notebook": layout.relative(notebook),
        **provenance.chapter_inputs(source),
        "parameters": parameters,
        **shared,
    }
    record["input_key"] = provenance.input_key(record)
    previous = provenance.read_provenance(layout.provenance(stem))
    reasons = ["--force"] if force else provenance.changed_inputs(previous, record)
    if not reasons and not notebook.is_file():
        reasons = ["executed notebook missing"]
    if not reasons:
        refresh_install_cell(notebook, install)
        refresh_exercises(notebook, layout.student_notebook(stem))
        log.info("%s: unchanged, not executed", stem)
        return ChapterRun(stem, False, (), notebook, None)

    log.info("%s: executing (%s)", stem, "; ".join(reasons))
    results_dir = layout.results_dir(stem)
    shutil.rmtree(results_dir, ignore_errors=True)
    results_dir.mkdir(parents=True)
    layout.student_notebook(stem).unlink(missing_ok=True)  # a failed run leaves no stale student notebook
    notebook.parent.mkdir(parents=True, exist_ok=True)
    git_commit, git_dirty = provenance.git_state(source.parent)
    started = datetime.now(timezone.utc)
    clock = time.perf_counter()
    executed = _execute(nb, layout, stem, parameters, progress)
    record.update(
        profile=parameters["profile"],
        seed=parameters["seed"],
        device_requested=parameters["device"],
        git_commit=git_commit,
        git_dirty=git_dirty,
        started_at=started.isoformat(timespec="seconds"),
        wall_time_s=round(time.perf_counter() - clock, 2),
    )
    status_link = Path(os.path.relpath(layout.status_page, notebook.parent)).as_posix()
    page = place_install_cell(stamp(executed, record, status_link), install)
    page = prepare_exercises(page, notebook, layout.student_notebook(stem))
    nbformat.write(page, notebook)
    write_student_notebook(page, layout.student_notebook(stem))
    provenance.write_provenance(layout.provenance(stem), record)
    return ChapterRun(stem, True, tuple(reasons), notebook, record["wall_time_s"])


def _execute(
    nb: nbformat.NotebookNode, layout: BookLayout, stem: str, parameters: dict[str, Any], progress: bool
) -> nbformat.NotebookNode:
    """Run ``nb`` with papermill into the chapter's notebook path; raise :class:`ChapterFailed`."""
    notebook = layout.notebook(stem)
    try:
        with tempfile.TemporaryDirectory() as scratch:
            converted = Path(scratch, f"{stem}.ipynb")
            nbformat.write(nb, converted)
            executed = papermill.execute_notebook(
                converted,
                notebook,
                parameters=parameters,
                kernel_name=KERNEL,
                cwd=layout.root,
                progress_bar=progress,
                request_save_on_cell_execute=True,
                config=_kernel_config(),
            )
    except PapermillExecutionError as error:
        raise ChapterFailed(
            stem,
            str(notebook),
            _source_cell_number(nb, error.cell_index),
            error.exec_count,
            f"{error.ename}: {error.evalue}",
            error.source,
        ) from None
    except (DeadKernelError, CellTimeoutError) as error:
        message = f"{type(error).__name__}: {error}"
        raise ChapterFailed(stem, str(notebook), None, None, message, "") from None
    executed.metadata.papermill.update(
        input_path=layout.relative(layout.source(stem)), output_path=layout.relative(notebook)
    )
    return executed


def _kernel_config() -> Config:
    """Encrypt the kernel's traffic where pyzmq can (this also silences ipykernel's plain-TCP warning)."""
    return Config({"KernelManager": {"transport_encryption": "auto" if zmq.has("curve") else "disabled"}})


def _source_cell_number(nb: nbformat.NotebookNode, executed_index: int) -> int:
    """1-based number, in the chapter source, of cell ``executed_index`` of the executed notebook.

    papermill inserts its ``injected-parameters`` cell right after the ``parameters`` cell.
    """
    parameters_index = next(i for i, cell in enumerate(nb.cells) if "parameters" in cell.metadata.get("tags", []))
    return executed_index + (0 if executed_index <= parameters_index else -1) + 1
