"""A Sphinx extension of the book (``_config.yml``): every page loads every extension's assets,
MathJax included.

Sphinx loads MathJax only on the pages that hold an equation, but the navigation of every page lists
every chapter's title, and a title may hold math (Section 2.4's "The hard-label objective
:math:`g(\\theta)`"): without MathJax, the bibliography, the status page, the index and the search
page would show it as raw TeX.
"""
from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx


def setup(app: Sphinx) -> dict[str, Any]:
    """Load every asset on every page (Sphinx's ``html_assets_policy`` "always")."""
    app.set_html_assets_policy("always")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
