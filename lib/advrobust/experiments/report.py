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

Every table, figure and text carries its name as an HTML anchor (``#table_4_2``) and is recorded in
``outputs.json``, with the thesis item its name names (``table_4_2`` regenerates Table 4.2, see
:func:`~advrobust.experiments.record.item_of`); ``claims`` shows a chapter's measured claims and
records them in ``claims.json``. The scorecard page is built from these two files
(:mod:`advrobust.experiments.record`).

>>> results.claims(ch4.claims(runs))                  # doctest: +SKIP
>>> results.text(dialogue, "table_3_11", caption="Table 3.11: ...")  # doctest: +SKIP
"""
from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import HTML, Image, display
from matplotlib.figure import Figure

from ..errors import require
from .claims import FAILS, HOLDS, Claim
from .record import Output, clear_records, comparable_cells, item_of, record_claims, record_output
from ..plotting.style import stamp

FIGURE_DPI = 150
VERDICT_COLOURS = {HOLDS: "#1a7f37", FAILS: "#cf222e"}  # inconclusive: the text colour
CLAIMS_CAPTION = (
    "The thesis's claims checked on this run: each effect with its 95% bootstrap interval (over the "
    "examples, games or seeds named) and the margin it must exceed. A claim holds when the whole interval "
    "lies above the margin, fails when it lies below, and is inconclusive when it contains it."
)


class Results:
    """Tables and figures of one chapter, saved under ``results_dir`` and displayed with captions."""

    def __init__(self, results_dir: str | Path, profile: str) -> None:
        self.dir = Path(results_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.profile = profile
        self._claim_blocks = 0
        clear_records(self.dir)  # a chapter's records are those of its latest run

    # table and figure return nothing: a value returned by a cell's last line is displayed again.
    def table(self, df: pd.DataFrame, name: str, caption: str, item: str | None = None) -> None:
        """Write ``<name>.csv``, show ``df`` as an HTML table under its caption (anchored at
        ``#<name>``) and record it, as regenerating ``item`` (default: the one its name names)."""
        df.to_csv(self._path(name, "csv"))
        cells, has_ours = comparable_cells(df)
        self._record(Output(name, "table", caption, item or item_of(name), name, has_ours, cells))
        display(HTML(f'<div class="advrobust-table" id="{name}">{self._caption("Table", caption)}{df.to_html()}</div>'))

    def figure(self, fig: Figure, name: str, caption: str, svg: bool = False, stamped: bool = True,
               item: str | None = None) -> None:
        """Stamp ``fig`` with the profile (unless ``stamped`` is false: a figure that is the same at
        every profile), write ``<name>.png`` (150 dpi; also ``<name>.svg`` with ``svg``), show it
        (anchored at ``#<name>``), close ``fig``, and record it as :meth:`table` does."""
        if stamped:
            stamp(fig, self.profile)
        png = self._path(name, "png")
        fig.savefig(png, dpi=FIGURE_DPI, bbox_inches="tight")
        if svg:
            fig.savefig(self._path(name, "svg"), bbox_inches="tight")
        plt.close(fig)
        self._record(Output(name, "figure", caption, item or item_of(name), name, True))
        display(HTML(f'<div class="advrobust-anchor" id="{name}"></div>'))
        display(Image(filename=str(png)))
        display(HTML(self._caption("Figure", caption)))

    def text(self, text: str, name: str, caption: str, item: str | None = None) -> None:
        """Write ``<name>.txt`` and show ``text`` as preformatted text under its caption (a dialogue,
        an example), anchored and recorded as :meth:`table` does."""
        self._path(name, "txt").write_text(text + "\n")
        self._record(Output(name, "text", caption, item or item_of(name), name, True))
        display(HTML(f'<div class="advrobust-text" id="{name}">{self._caption("Table", caption)}'
                     f"<pre>{html.escape(text)}</pre></div>"))

    def claims(self, claims: Sequence[Claim], caption: str = CLAIMS_CAPTION) -> None:
        """Show ``claims`` as a table (verdict, claim, attack, effect and interval, what was
        measured), anchored at ``#claims`` (``#claims-2``, ... for later blocks), and record them
        in ``claims.json``."""
        self._claim_blocks += 1
        anchor = "claims" if self._claim_blocks == 1 else f"claims-{self._claim_blocks}"
        record_claims(self.dir, claims, anchor)
        rows = "".join(
            f'<tr><td style="color:{VERDICT_COLOURS.get(c.verdict, "inherit")};font-weight:bold">{c.verdict}</td>'
            f"<td>{html.escape(c.claim)}</td><td>{html.escape(c.attack or '')}</td>"
            f"<td>{html.escape(str(c.effect) if c.effect is not None else '—')}</td>"
            f"<td>{'' if c.effect is None else html.escape(c.needs)}</td><td>{html.escape(c.measured)}</td></tr>"
            for c in claims
        )
        head = "".join(f"<th>{h}</th>" for h in ("verdict", "claim", "attack", "effect [95% interval]", "needs",
                                                  "measured"))
        display(HTML(f'<div class="advrobust-claims" id="{anchor}">{self._caption("Claims", caption)}'
                     f'<table class="dataframe"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>'))

    def glue(self, name: str, value: Any) -> None:
        """Store ``value`` (a NumPy scalar becomes a plain Python number) as ``name`` for ``{glue:text}``."""
        try:
            from myst_nb import glue
        except ImportError:  # no myst-nb (e.g. Colab): nothing renders glued values
            return
        glue(name, value.item() if hasattr(value, "item") else value, display=False)

    def _record(self, output: Output) -> None:
        record_output(self.dir, output)

    def _path(self, name: str, suffix: str) -> Path:
        require(name != "" and Path(name).name == name, f"result name {name!r} must be a plain file name")
        return self.dir / f"{name}.{suffix}"

    def _caption(self, kind: str, caption: str) -> str:
        return (
            f'<p class="advrobust-caption"><strong>{kind}.</strong> {html.escape(caption)} '
            f'<span class="advrobust-profile" style="color:#777;font-size:0.85em">profile: {self.profile}</span></p>'
        )
