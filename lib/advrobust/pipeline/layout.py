"""Where the pipeline reads chapters and writes notebooks, results and the status page.

A book root holds ``chapters/*.py`` (Jupytext py:percent sources without outputs), the Jupyter Book
configuration (``_config.yml``, ``_toc.yml``), the static pages in ``book/`` and
``requirements.lock`` (the versions the status page compares runs against). The pipeline writes
``book/chapters/<stem>.ipynb`` (executed), ``book/chapters/student/<stem>_student.ipynb`` (the same
without the exercises' solutions), ``book/results/<stem>/`` (tables, figures,
``provenance.json``), ``book/status.md`` and the HTML in ``_build/html``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class BookLayout:
    """Paths of one book root; every path the pipeline touches comes from here."""

    root: Path

    @classmethod
    def at(cls, root: str | Path) -> BookLayout:
        return cls(Path(root).resolve())

    @property
    def chapters_dir(self) -> Path:
        return self.root / "chapters"

    @property
    def notebooks_dir(self) -> Path:
        return self.root / "book" / "chapters"

    @property
    def results_root(self) -> Path:
        return self.root / "book" / "results"

    @property
    def status_page(self) -> Path:
        return self.root / "book" / "status.md"

    @property
    def build_dir(self) -> Path:
        return self.root / "_build"

    @property
    def config(self) -> Path:
        return self.root / "_config.yml"

    @property
    def toc(self) -> Path:
        return self.root / "_toc.yml"

    @property
    def lock(self) -> Path:
        """The pinned package versions the book is tested with (``make lock``)."""
        return self.root / "requirements.lock"

    def source(self, stem: str) -> Path:
        return self.chapters_dir / f"{stem}.py"

    def notebook(self, stem: str) -> Path:
        return self.notebooks_dir / f"{stem}.ipynb"

    def student_notebook(self, stem: str) -> Path:
        """The executed notebook without its solutions (:mod:`.exercises`); not a chapter, not a page."""
        return self.notebooks_dir / "student" / f"{stem}_student.ipynb"

    def results_dir(self, stem: str) -> Path:
        return self.results_root / stem

    def provenance(self, stem: str) -> Path:
        return self.results_dir(stem) / "provenance.json"

    def relative(self, path: Path) -> str:
        """``path`` relative to the root, in POSIX form (how pages and parameters name it)."""
        return path.relative_to(self.root).as_posix()
