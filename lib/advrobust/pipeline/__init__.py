"""The run pipeline: chapters (Jupytext sources) -> papermill -> executed notebooks -> Jupyter Book.

``python -m advrobust.pipeline run`` executes the chapters whose inputs changed and records their
provenance; ``build`` renders the book; ``status`` rewrites the status page. ``make book`` runs the
first two. Modules: :mod:`.layout` (paths), :mod:`.imports` (the library modules a chapter
imports), :mod:`.provenance` (hashes, environment, re-run decision), :mod:`.execute` (papermill),
:mod:`.render` (badge and footer cells), :mod:`.launch` (the install cell that runs a notebook in
Colab or Binder), :mod:`.exercises` (hidden solutions, student notebooks), :mod:`.status` (status
page), :mod:`.scorecard` (every thesis item and claim, from the results), :mod:`.book`
(jupyter-book build), :mod:`.cli`.
"""
from .book import BookBuildFailed, build_book
from .execute import ChapterFailed, ChapterRun, run_chapters
from .layout import BookLayout
from .scorecard import write_scorecard
from .status import write_status

__all__ = [
    "BookBuildFailed",
    "BookLayout",
    "ChapterFailed",
    "ChapterRun",
    "build_book",
    "run_chapters",
    "write_scorecard",
    "write_status",
]
