"""What a chapter calls to save a result and show it on its page.

>>> results = Results(results_dir, profile)          # doctest: +SKIP
>>> results.table(df, "robust_accuracy", caption="Robust accuracy at each ε.")  # doctest: +SKIP
>>> results.figure(fig, "curves", caption="Robust accuracy against ε.")         # doctest: +SKIP
>>> results.glue("clean_accuracy", 0.991)            # doctest: +SKIP

Each table is written as ``<name>.csv`` and each figure as ``<name>.png`` in ``results_dir``, and
shown with its caption and the profile that produced it, so no number on a page hides its scale.
Figures are stamped with the profile here, so plotting functions never take it. ``glue`` stores a
value for ``{glue:text}`` in the page text (myst-nb); it does nothing where myst-nb is not
installed (e.g. Colab).
"""
from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import HTML, Image, display
from matplotlib.figure import Figure

from .errors import require
from .plotting.style import stamp

FIGURE_DPI = 150


class Results:
    """Tables and figures of one chapter, saved under ``results_dir`` and displayed with captions."""

    def __init__(self, results_dir: str | Path, profile: str) -> None:
        self.dir = Path(results_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.profile = profile

    # table and figure return nothing: a value returned by a cell's last line is displayed again.
    def table(self, df: pd.DataFrame, name: str, caption: str) -> None:
        """Write ``<name>.csv`` and show ``df`` as an HTML table under its caption."""
        df.to_csv(self._path(name, "csv"))
        display(HTML(f'<div class="advrobust-table">{self._caption("Table", caption)}{df.to_html()}</div>'))

    def figure(self, fig: Figure, name: str, caption: str, svg: bool = False, stamped: bool = True) -> None:
        """Stamp ``fig`` with the profile (unless ``stamped`` is false: a figure that is the same at
        every profile), write ``<name>.png`` (150 dpi; also ``<name>.svg`` with ``svg``), show it,
        close ``fig``."""
        if stamped:
            stamp(fig, self.profile)
        png = self._path(name, "png")
        fig.savefig(png, dpi=FIGURE_DPI, bbox_inches="tight")
        if svg:
            fig.savefig(self._path(name, "svg"), bbox_inches="tight")
        plt.close(fig)
        display(Image(filename=str(png)))
        display(HTML(self._caption("Figure", caption)))

    def glue(self, name: str, value: Any) -> None:
        """Store ``value`` (a NumPy scalar becomes a plain Python number) as ``name`` for ``{glue:text}``."""
        try:
            from myst_nb import glue
        except ImportError:  # no myst-nb (e.g. Colab): nothing renders glued values
            return
        glue(name, value.item() if hasattr(value, "item") else value, display=False)

    def _path(self, name: str, suffix: str) -> Path:
        require(name != "" and Path(name).name == name, f"result name {name!r} must be a plain file name")
        return self.dir / f"{name}.{suffix}"

    def _caption(self, kind: str, caption: str) -> str:
        return (
            f'<p class="advrobust-caption"><strong>{kind}.</strong> {html.escape(caption)} '
            f'<span class="advrobust-profile" style="color:#777;font-size:0.85em">profile: {self.profile}</span></p>'
        )
