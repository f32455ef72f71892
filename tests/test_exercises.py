"""Every chapter ends with exercises whose solutions are tagged, hidden on the page and left out of
the student notebook (advrobust.pipeline.exercises).

The chapter checks parse the Jupytext sources (nothing executes: the smoke run of
tests/test_book.py executes the solution cells with the rest of each chapter). The pipeline checks
run on hand-made notebooks; one check, marked ``book``, executes a one-page book through
``run_chapters`` and ``build_book`` and reads the HTML.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import jupytext
import nbformat
import pytest
from advrobust.pipeline import BookLayout, build_book, run_chapters
from advrobust.pipeline.exercises import (
    EXERCISES_HEADING,
    HIDE_CODE_TAG,
    SOLUTION_TAG,
    STUDENT_LINK_TAG,
    hide_solutions,
    is_solution,
    place_student_link,
    prepare_exercises,
    solution_cells,
    student_notebook,
    write_student_notebook,
)

REPO = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((REPO / "chapters").glob("*.py"))
# "### Exercise 3 (implement): ..." -> number 3, kind "implement"
EXERCISE = re.compile(r"^###\s+Exercise\s+(\d+)\b(?:\s*\(([^)]*)\))?", re.MULTILINE)
NAMED_TEST = re.compile(r"`(tests/test_\w+\.py)::(test_\w+)`")
MIN_EXERCISES = 3


def exercises(path: Path) -> list[tuple[nbformat.NotebookNode, list[nbformat.NotebookNode]]]:
    """The chapter's exercises in order: (exercise cell, its solution cells)."""
    cells = jupytext.read(path).cells
    start = next(i for i, cell in enumerate(cells) if cell.cell_type == "markdown" and EXERCISES_HEADING.search(cell.source))
    found: list[tuple[nbformat.NotebookNode, list[nbformat.NotebookNode]]] = []
    for cell in cells[start + 1 :]:
        if is_solution(cell):
            assert found, f"{path.name}: a solution cell before the first exercise"
            found[-1][1].append(cell)
        else:
            assert cell.cell_type == "markdown" and EXERCISE.match(cell.source), (
                f"{path.name}: after '## Exercises' every cell is an exercise ('### Exercise <n> ...') or a "
                f"cell tagged {SOLUTION_TAG!r}; found:\n{cell.source[:200]}"
            )
            found.append((cell, []))
    return found


def kind(exercise: nbformat.NotebookNode) -> str:
    match = EXERCISE.match(exercise.source)
    assert match is not None
    return (match.group(2) or "").lower()


def test_there_are_chapters() -> None:
    assert len(CHAPTERS) >= 8


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_ends_with_numbered_exercises_each_with_a_solution(path: Path) -> None:
    cells = jupytext.read(path).cells
    headings = [i for i, cell in enumerate(cells) if cell.cell_type == "markdown" and EXERCISES_HEADING.search(cell.source)]
    assert len(headings) == 1, f"{path.name}: expected one cell opening '## Exercises', found {len(headings)}"
    assert cells[headings[0]].source.lstrip().startswith("## Exercises"), "the heading must open its cell"
    found = exercises(path)
    assert len(found) >= MIN_EXERCISES, f"{path.name}: {len(found)} exercises"
    numbers = [int(EXERCISE.match(cell.source).group(1)) for cell, _ in found]
    assert numbers == list(range(1, len(found) + 1))
    unsolved = [cell.source.splitlines()[0] for cell, solutions in found if not solutions]
    assert unsolved == [], f"{path.name}: exercises without a solution cell: {unsolved}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_has_a_solution_that_runs(path: Path) -> None:
    code = [cell for _, solutions in exercises(path) for cell in solutions if cell.cell_type == "code"]
    assert code, f"{path.name}: no solution code cell (the smoke run executes them)"
    assert all(cell.source.strip() for cell in code)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_asks_for_a_prediction_checked_by_running(path: Path) -> None:
    predicted = [(cell, solutions) for cell, solutions in exercises(path) if "predict" in kind(cell)]
    assert any(s.cell_type == "code" for _, solutions in predicted for s in solutions), (
        f"{path.name}: no '(predict, then run)' exercise with a solution code cell"
    )


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_asks_to_implement_a_piece_against_a_named_test(path: Path) -> None:
    implemented = [(cell, solutions) for cell, solutions in exercises(path) if "implement" in kind(cell)]
    assert implemented, f"{path.name}: no '(implement)' exercise"
    for cell, solutions in implemented:
        named = NAMED_TEST.findall(cell.source)
        assert named, f"{path.name}: the implement exercise names no `tests/<file>.py::<test>`"
        for file, test in named:
            source = REPO / file
            assert source.is_file(), f"{path.name} names {file}, which does not exist"
            assert re.search(rf"^def {test}\(", source.read_text(), re.MULTILINE), f"{file} has no {test}"
        code = [s.source for s in solutions if s.cell_type == "code"]
        assert any(re.search(r"^\s*assert\b", src, re.MULTILINE) for src in code), (
            f"{path.name}: the implement exercise's solution checks nothing (no assert)"
        )


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_student_version_of_each_chapter_drops_exactly_its_solutions(path: Path) -> None:
    nb = jupytext.read(path)
    student = student_notebook(nb)
    assert solution_cells(student) == []
    assert student.cells == [cell for cell in nb.cells if SOLUTION_TAG not in cell.metadata.get("tags", [])]
    assert len(nb.cells) - len(student.cells) == len(solution_cells(nb)) > 0


# --- the pipeline's handling, on hand-made notebooks -------------------------------------------------


def code(source: str, tags: list[str] | None = None, output: str | None = None) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    if tags:
        cell.metadata["tags"] = tags
    if output is not None:
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=output)]
    return cell


def markdown(source: str, tags: list[str] | None = None) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_markdown_cell(source)
    if tags:
        cell.metadata["tags"] = tags
    return cell


def page() -> nbformat.NotebookNode:
    """An executed chapter with two exercises, a code solution and a markdown solution (the same
    cell ids at every call)."""
    nb = nbformat.v4.new_notebook(cells=[
        markdown("# A chapter"),
        code("x = 1", output="1\n"),
        markdown("## Exercises\n\nTry these."),
        markdown("### Exercise 1 (predict, then run): double it"),
        code("print(2 * x)", [SOLUTION_TAG], output="2\n"),
        markdown("It doubles.", [SOLUTION_TAG]),
        markdown("### Exercise 2: think"),
        markdown("An answer.", [SOLUTION_TAG]),
        markdown("---\n\nfooter"),
    ])  # fmt: skip
    for number, cell in enumerate(nb.cells):
        cell.id = f"cell-{number}"
    return nb


def test_hiding_folds_code_solutions_and_wraps_markdown_ones_once() -> None:
    nb = hide_solutions(page())
    assert nb.cells[4].metadata.tags == [SOLUTION_TAG, HIDE_CODE_TAG]
    assert nb.cells[5].source.startswith("````{admonition} Solution\n:class: dropdown\n")
    assert "It doubles." in nb.cells[5].source and nb.cells[5].source.endswith("````")
    assert nb.cells[1].metadata.get("tags", []) == [] and nb.cells[3].source == "### Exercise 1 (predict, then run): double it"
    again = hide_solutions(nbformat.from_dict(nb))
    assert again.cells == nb.cells


def test_the_student_link_sits_under_the_exercises_heading_once() -> None:
    nb = place_student_link(page(), "student/a_student.ipynb")
    links = [i for i, cell in enumerate(nb.cells) if STUDENT_LINK_TAG in cell.metadata.get("tags", [])]
    assert links == [3]
    assert "{download}`the student notebook <student/a_student.ipynb>`" in nb.cells[3].source
    again = place_student_link(nb, "student/a_student.ipynb")
    assert [cell.source for cell in again.cells] == [cell.source for cell in nb.cells]
    plain = nbformat.v4.new_notebook(cells=[markdown("# Title"), code("x = 1")])
    assert len(place_student_link(plain, "student/a_student.ipynb").cells) == 2  # no solutions, no link


def test_student_notebook_drops_the_solutions_their_outputs_and_the_link_and_keeps_the_rest() -> None:
    executed = page()
    prepared = prepare_exercises(page(), Path("/book/chapters/a.ipynb"), Path("/book/chapters/student/a_student.ipynb"))
    student = student_notebook(prepared)
    kept = [cell for cell in executed.cells if not is_solution(cell)]
    assert student.cells == kept  # the other cells, outputs included, as they were
    texts = [output.get("text") for cell in student.cells for output in cell.get("outputs", [])]
    assert texts == ["1\n"]  # the solution's output went with it
    assert len(prepared.cells) == len(executed.cells) + 1  # the page gained the link only


def test_student_notebook_is_written_only_for_a_chapter_with_solutions(tmp_path: Path) -> None:
    target = tmp_path / "student" / "a_student.ipynb"
    write_student_notebook(page(), target)
    assert solution_cells(nbformat.read(target, as_version=4)) == []
    stamp = target.stat().st_mtime_ns
    write_student_notebook(page(), target)
    assert target.stat().st_mtime_ns == stamp  # unchanged: not rewritten
    write_student_notebook(nbformat.v4.new_notebook(cells=[markdown("# Title")]), target)
    assert not target.exists()


# --- a one-page book: executed, built, read ----------------------------------------------------------

TINY_CHAPTER = '''# %% [markdown]
# # Tiny

# %% tags=["parameters"]
profile = "quick"
device = "auto"
seed = 0
results_dir = "results"

# %%
base = seed + 20
print("base", base)

# %% [markdown]
# ## Exercises
#
# One to try.

# %% [markdown]
# ### Exercise 1 (predict, then run): add one

# %% tags=["solution"]
print("SOLUTION-OUTPUT", base + 1)

# %% [markdown] tags=["solution"]
# SOLUTION-PROSE: it adds one.
'''


@pytest.mark.book
def test_a_built_page_hides_its_solutions_and_offers_the_student_notebook(tmp_path: Path) -> None:
    (tmp_path / "chapters").mkdir()
    (tmp_path / "chapters" / "a_tiny.py").write_text(TINY_CHAPTER)
    (tmp_path / "book").mkdir()
    for name in ("_config.yml", "requirements.lock", "book/references.bib"):
        shutil.copy(REPO / name, tmp_path / name)
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: book/chapters/a_tiny\nchapters:\n  - file: book/status\n")
    layout = BookLayout.at(tmp_path)

    run_chapters(tmp_path, profile="smoke", device="cpu")
    executed = nbformat.read(layout.notebook("a_tiny"), as_version=4)
    solution_outputs = [o.get("text", "") for cell in solution_cells(executed) for o in cell.get("outputs", [])]
    assert any("SOLUTION-OUTPUT 21" in text for text in solution_outputs)  # the solution ran
    student = nbformat.read(layout.student_notebook("a_tiny"), as_version=4)
    assert "SOLUTION" not in nbformat.writes(student) and "base 20" in nbformat.writes(student)

    html_dir = build_book(tmp_path).parent
    page_html = (html_dir / "book" / "chapters" / "a_tiny.html").read_text()
    cell = page_html[page_html.index("tag_solution") :]
    folded = re.match(r'[^>]*>\s*<details class="[^"]*\bhide above-input\b[^"]*">', cell)
    assert folded is not None, "the solution code is not folded"
    assert cell.index("SOLUTION-OUTPUT") > cell.index("</summary>")  # its output is inside the fold
    prose = page_html.index("SOLUTION-PROSE")
    enclosing = re.match(r'<div class="([^"]*)"', page_html[page_html.rindex('<div class="', 0, prose) :])
    assert enclosing is not None and {"admonition", "dropdown"} <= set(enclosing.group(1).split())
    assert "togglebutton.js" in page_html and ".admonition.dropdown" in page_html  # sphinx-togglebutton folds it
    link = re.search(r'class="reference download internal"[^>]*href="([^"]+a_tiny_student\.ipynb)"', page_html)
    assert link is not None, "no download link to the student notebook"
    downloaded = (html_dir / "book" / "chapters" / link.group(1)).resolve()
    assert downloaded.is_file() and solution_cells(nbformat.read(downloaded, as_version=4)) == []
    assert not list(html_dir.rglob("*student*.html")), "a student notebook became a page"
