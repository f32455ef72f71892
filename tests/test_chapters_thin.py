"""Chapters are prose, a parameters cell and library calls: no function of their own, and fewer
lines of code than of prose (tests/test_chapters_thin.py)."""
from __future__ import annotations

import ast
from pathlib import Path

import jupytext
import pytest

CHAPTERS = sorted((Path(__file__).resolve().parents[1] / "chapters").glob("*.py"))


def cell_lines(path: Path) -> tuple[int, int]:
    """(code lines, markdown lines) of a py:percent chapter; blank lines are not counted."""
    notebook = jupytext.read(path)
    counts = {"code": 0, "markdown": 0}
    for cell in notebook.cells:
        if cell.cell_type in counts:
            counts[cell.cell_type] += sum(1 for line in cell.source.splitlines() if line.strip())
    return counts["code"], counts["markdown"]


def test_there_are_chapters() -> None:
    assert len(CHAPTERS) >= 8


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_defines_no_function(path: Path) -> None:
    notebook = jupytext.read(path)
    code = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    defined = [
        f"{type(node).__name__} at line {node.lineno}"
        for node in ast.walk(ast.parse(code))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef)
    ]
    assert not defined, f"{path.name} defines {defined}; move it into lib/advrobust"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_has_more_prose_than_code(path: Path) -> None:
    code, markdown = cell_lines(path)
    assert code < markdown, f"{path.name}: {code} code lines against {markdown} markdown lines"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_opens_with_the_setup_call(path: Path) -> None:
    notebook = jupytext.read(path)
    tagged = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1 and "profile" in tagged[0].source
    code = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    after = code[code.index(tagged[0].source) + 1]
    assert "setup_chapter(profile, device, seed, results_dir)" in after
