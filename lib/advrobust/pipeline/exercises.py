"""Exercises: solutions hidden on the page, and a student notebook without them.

A chapter ends with a markdown cell opening ``## Exercises`` (:data:`EXERCISES_HEADING`), then one
markdown cell per exercise (``### Exercise <n> (<kind>): ...``), each followed by its solution: a
code cell, a markdown cell or both, tagged ``solution`` (:data:`SOLUTION_TAG`; in a Jupytext
py:percent source ``# %% tags=["solution"]`` or ``# %% [markdown] tags=["solution"]``). Solution
code cells run with the rest of the chapter, at every profile, so a solution that stops working
fails the chapter's run.

After execution the pipeline

1. hides the solutions on the page (:func:`hide_solutions`): a code solution gets myst-nb's
   ``hide-cell`` tag (source and output folded under "Show code cell content"), a markdown
   solution is wrapped in an admonition of class ``dropdown`` that sphinx-togglebutton folds;
2. puts a link to the student notebook right under the exercises heading
   (:func:`place_student_link`), through Sphinx's ``download`` role, so the build copies the file
   next to the page and fails (``-W``) if it is missing;
3. writes the student notebook ``book/chapters/student/<stem>_student.ipynb``
   (:func:`student_notebook`): the executed notebook without the solution cells (their outputs go
   with them) and without the link, every other cell kept as it is. It lies outside the table of
   contents (``only_build_toc_files``), so it is never a page, and outside ``book/chapters/*.ipynb``,
   so the status page does not take it for a chapter.

All three are idempotent; a chapter left unchanged by a run gets them refreshed without being
executed again (:func:`refresh_exercises`). A chapter without solution cells gets neither link nor
student notebook.
"""
from __future__ import annotations

import copy
import os
import re
from pathlib import Path

import nbformat

SOLUTION_TAG = "solution"
STUDENT_LINK_TAG = "advrobust-student-link"
HIDE_CODE_TAG = "hide-cell"  # myst-nb: source and output folded under one toggle
EXERCISES_HEADING = re.compile(r"^##\s+Exercises\s*$", re.MULTILINE)
SOLUTION_TITLE = "Solution"
# A four-backtick fence (plain MyST, no extension needed) leaves room for code blocks inside.
_DROPDOWN_OPEN = f"````{{admonition}} {SOLUTION_TITLE}\n:class: dropdown\n\n"
_DROPDOWN_CLOSE = "\n````"


def is_solution(cell: nbformat.NotebookNode) -> bool:
    """Whether ``cell`` is tagged as a solution."""
    return SOLUTION_TAG in cell.metadata.get("tags", [])


def solution_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """The cells of ``nb`` tagged as solutions, in order."""
    return [cell for cell in nb.cells if is_solution(cell)]


def hide_solutions(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """``nb`` with every solution folded on the rendered page (in place; applying it twice changes nothing)."""
    for cell in solution_cells(nb):
        if cell.cell_type == "code":
            tags = cell.metadata.get("tags", [])
            if HIDE_CODE_TAG not in tags:
                cell.metadata["tags"] = [*tags, HIDE_CODE_TAG]
        elif cell.cell_type == "markdown" and not cell.source.startswith(_DROPDOWN_OPEN):
            cell.source = f"{_DROPDOWN_OPEN}{cell.source.strip()}{_DROPDOWN_CLOSE}"
    return nb


def student_link_markdown(href: str) -> str:
    """The markdown that offers the student notebook at ``href`` (relative to the page) for download."""
    name = Path(href).name
    return (
        f"Working through these as a course? Download {{download}}`the student notebook <{href}>` "
        f"(`{name}`): this page's notebook without the solutions, to fill in yourself. "
        "Each solution below is folded: open it once you have your own answer."
    )


def place_student_link(nb: nbformat.NotebookNode, href: str) -> nbformat.NotebookNode:
    """``nb`` with the download link to its student notebook right after the cell opening the
    exercises (in place of any earlier link; at the end when no cell opens them). A notebook without
    solutions gets no link."""
    nb.cells = [cell for cell in nb.cells if STUDENT_LINK_TAG not in cell.metadata.get("tags", [])]
    if not solution_cells(nb):
        return nb
    heading = next(
        (i for i, cell in enumerate(nb.cells) if cell.cell_type == "markdown" and EXERCISES_HEADING.search(cell.source)),
        len(nb.cells) - 1,
    )
    cell = nbformat.v4.new_markdown_cell(student_link_markdown(href), id=STUDENT_LINK_TAG)
    cell.metadata["tags"] = [STUDENT_LINK_TAG]
    nb.cells.insert(heading + 1, cell)
    return nb


def student_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` without its solution cells and the link to itself; every other cell kept as is."""
    student = copy.deepcopy(nb)
    student.cells = [
        cell
        for cell in student.cells
        if not is_solution(cell) and STUDENT_LINK_TAG not in cell.metadata.get("tags", [])
    ]
    return student


def student_href(notebook: Path, student: Path) -> str:
    """The link from the page of ``notebook`` to ``student``, relative and in POSIX form."""
    return Path(os.path.relpath(student, notebook.parent)).as_posix()


def prepare_exercises(nb: nbformat.NotebookNode, notebook: Path, student: Path) -> nbformat.NotebookNode:
    """``nb`` (to be written at ``notebook``) with its solutions hidden and the link to ``student``."""
    return place_student_link(hide_solutions(nb), student_href(notebook, student))


def write_student_notebook(nb: nbformat.NotebookNode, student: Path) -> None:
    """Write the student version of ``nb`` at ``student`` (rewritten only if it changed); remove a
    stale one when ``nb`` has no solutions."""
    if not solution_cells(nb):
        student.unlink(missing_ok=True)
        return
    text = nbformat.writes(student_notebook(nb))
    if not student.is_file() or student.read_text() != text:
        student.parent.mkdir(parents=True, exist_ok=True)
        student.write_text(text)


def refresh_exercises(notebook: Path, student: Path) -> None:
    """Hide the solutions of the executed ``notebook``, link it to ``student`` and write ``student``;
    the notebook is rewritten only if it changed."""
    nb = nbformat.read(notebook, as_version=4)
    before = copy.deepcopy(nb.cells)
    if prepare_exercises(nb, notebook, student).cells != before:
        nbformat.write(nb, notebook)
    write_student_notebook(nb, student)
