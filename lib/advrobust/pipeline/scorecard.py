"""The book's scorecard page: every table and figure of the thesis, what the book did with it, and
every claim the chapters checked, generated from the chapters' results, never typed by hand.

The master list ``data/thesis_items.csv`` (:func:`master_list`) names the thesis's 39 tables and
24 figures (``thesis-map``), their kind, the pages expected to show them and the plan: regenerated
(when the data is present), or paper-only with what is missing. Each executed chapter's results
(``book/results/<chapter>/``: ``provenance.json``, ``outputs.json``, ``claims.json``, see
:mod:`advrobust.experiments.record`) say what actually ran. The page, ``book/scorecard.md``, opens
with a summary line computed from them: the items regenerated, and the claims that held, failed and
were inconclusive.
"""
from __future__ import annotations

import csv
import html
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..experiments.claims import FAILS, HOLDS, INCONCLUSIVE, Claim
from ..experiments.record import (
    Headline,
    Item,
    Link,
    Output,
    RecordedClaim,
    format_value,
    read_claims,
    read_outputs,
)
from .layout import BookLayout
from .provenance import read_provenance

MASTER_LIST = Path(__file__).resolve().parents[3] / "data" / "thesis_items.csv"
PLANS = ("regenerated", "paper-only", "quoted")
REGENERATED, PAPER_ONLY, QUOTED, NOT_RUN = "regenerated", "paper-only", "quoted", "not run"
PAGE = "scorecard.md"
HEADER = (
    "# Scorecard\n\n"
    "Every table and figure of the thesis, with what this book did with it, and every claim the chapters "
    "check. This page is generated from the chapters' results (`book/results/<chapter>/`: "
    "`outputs.json`, `claims.json`, `provenance.json`) and the master list `data/thesis_items.csv` each "
    "time the book is built; nothing on it is typed by hand.\n\n"
)
LEGEND = (
    "\n\n*Status*: **regenerated** at the profile and on the device named; **paper-only** with what is "
    "missing here (data or hardware); **quoted** from the thesis or the papers it cites; **not run** when "
    "the page that regenerates it has not been executed. *Headline*: one number of the item, the thesis's "
    "against ours. *Claims*: the effect with its 95% bootstrap interval; a claim **holds** when the whole "
    "interval lies above its margin, **fails** when it lies below, and is **inconclusive** when it "
    "contains it (at the reduced profiles an ordering often rests on 10-30 examples).\n\n"
)
_COLOURS = {HOLDS: "#1a7f37", FAILS: "#cf222e", INCONCLUSIVE: "#6e7781"}


@dataclass(frozen=True)
class MasterItem:
    """One row of ``data/thesis_items.csv``."""

    id: str  # "Table 2.2"
    caption: str
    section: str  # the thesis section, e.g. "2.5"
    kind: str  # result | example | illustration | result + quoted rows
    pages: tuple[str, ...]  # the chapter pages expected to show it
    plan: str  # regenerated | paper-only | quoted
    note: str  # what is missing, or how ours differs
    headline: str  # a substring of the label of the cell the headline shows, any case (empty: the first cell)


@dataclass(frozen=True)
class PageResults:
    """What one executed chapter recorded."""

    stem: str
    provenance: dict[str, Any]
    outputs: list[Output]
    claims: list[RecordedClaim]

    @property
    def ran(self) -> str:
        """"quick on CPU (2 cores)"."""
        return f"{self.provenance.get('profile', '?')} on {self.provenance.get('device', '?')}"


@dataclass(frozen=True)
class Summary:
    """The counts of the summary line."""

    items: int
    statuses: Counter[str]
    verdicts: Counter[str]

    def line(self) -> str:
        s, v = self.statuses, self.verdicts
        claims = sum(v.values())
        return (f"**{s[REGENERATED]} of {self.items} thesis items regenerated** ({s[PAPER_ONLY]} paper-only, "
                f"{s[QUOTED]} quoted, {s[NOT_RUN]} not run yet). **Claims: {v[HOLDS]} held, {v[FAILS]} failed, "
                f"{v[INCONCLUSIVE]} inconclusive** (of {claims}).")


def master_list(path: Path = MASTER_LIST) -> list[MasterItem]:
    """The thesis's tables and figures, in the master list's order."""
    with path.open(newline="") as handle:
        return [MasterItem(row["id"], row["caption"], row["section"], row["kind"],
                           tuple(p.strip() for p in row["pages"].split(";") if p.strip()), row["plan"],
                           row["note"], row["headline"]) for row in csv.DictReader(handle)]


def page_results(layout: BookLayout) -> list[PageResults]:
    """Every chapter whose last run succeeded (it has a ``provenance.json``), by stem."""
    found = []
    root = layout.results_root
    for directory in sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []:
        record = read_provenance(directory / "provenance.json")
        if record is not None:
            found.append(PageResults(directory.name, record, read_outputs(directory), read_claims(directory)))
    return found


def scorecard_items(master: Sequence[MasterItem], pages: Sequence[PageResults]) -> list[Item]:
    """One :class:`~advrobust.experiments.record.Item` per thesis item of ``master``."""
    return [_item(entry, pages) for entry in master]


def _item(entry: MasterItem, pages: Sequence[PageResults]) -> Item:
    shown = [(page, output) for page in pages for output in page.outputs if output.item == entry.id]
    ours = [(page, output) for page, output in shown if output.has_ours]
    links = tuple(Link(page.stem, output.anchor) for page, output in shown)
    claims = tuple(r.claim for page in pages for r in page.claims if r.claim.item == entry.id)
    if entry.plan in (QUOTED, PAPER_ONLY):
        status, detail = entry.plan, entry.note
    elif ours:
        runs = list(dict.fromkeys(page.ran for page, _ in ours))
        status, detail = REGENERATED, ", ".join(runs) + (f"; {entry.note}" if entry.note else "")
    elif shown:
        status, detail = PAPER_ONLY, entry.note or "the run had no data for it"
    else:
        ran = [page.stem for page in pages if page.stem in entry.pages]
        status, detail = NOT_RUN, (f"{', '.join(ran)} ran without recording it (a run older than the scorecard)"
                                   if ran else f"{', '.join(entry.pages)} not executed yet")
    return Item(entry.id, entry.caption, entry.kind, status, detail, links,
                headline(entry.headline, [output for _, output in ours]), claims)


def headline(pattern: str, outputs: Sequence[Output]) -> Headline | None:
    """The first cell of ``outputs`` whose label contains ``pattern``, ignoring case (the first
    cell when none does, or ``pattern`` is empty), as a headline; None when no output has a
    comparable cell."""
    cells = [cell for output in outputs for cell in output.cells]
    if not cells:
        return None
    chosen = next((cell for cell in cells if pattern and pattern.lower() in cell.label.lower()), cells[0])
    return Headline(chosen.label, chosen.thesis, chosen.ours)


def summary(items: Sequence[Item], pages: Sequence[PageResults]) -> Summary:
    """The items by status and every recorded claim by verdict (claims of any item or none)."""
    return Summary(len(items), Counter(item.status for item in items),
                   Counter(r.claim.verdict for page in pages for r in page.claims))


def scorecard_markdown(layout: BookLayout, master: Sequence[MasterItem] | None = None) -> str:
    """The scorecard page of the book at ``layout``."""
    master = master_list() if master is None else master
    pages = page_results(layout)
    items = scorecard_items(master, pages)
    known = {entry.id for entry in master}
    others = [(page.stem, r) for page in pages for r in page.claims if r.claim.item not in known]
    page = HEADER + summary(items, pages).line() + LEGEND + _items_table(items) + "\n"
    if others:
        page += ("\n## Other claims\n\nClaims the chapters check that belong to no single thesis table or "
                 "figure.\n\n" + _other_claims(others) + "\n")
    return page


def write_scorecard(root: str | Path) -> Path:
    """Write ``book/scorecard.md``; the file is left untouched if unchanged."""
    layout = BookLayout.at(root)
    page = scorecard_markdown(layout)
    path = layout.root / "book" / PAGE
    if not path.is_file() or path.read_text() != page:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(page)
    return path


# ------------------------------------------------------------------------------ HTML


def _items_table(items: Sequence[Item]) -> str:
    """One raw-HTML table (MyST passes it through, links and all); no blank line inside."""
    head = "".join(f"<th>{h}</th>" for h in ("item", "kind", "status", "where", "headline: thesis / ours",
                                              "claims checked"))
    rows = "\n".join(_item_row(item) for item in items)
    return (f'<table class="advrobust-scorecard table">\n<thead><tr>{head}</tr></thead>\n<tbody>\n{rows}\n'
            "</tbody>\n</table>")


def _item_row(item: Item) -> str:
    anchor = item.id.lower().replace(" ", "-").replace(".", "-")
    links = "<br>".join(f'<a href="{html.escape(link.href)}">{html.escape(link.page)}#{html.escape(link.anchor)}</a>'
                        for link in item.links) or "—"
    status = f"<strong>{item.status}</strong>" + (f": {html.escape(item.detail)}" if item.detail else "")
    if item.headline is None:
        shown = "—"
    else:
        h = item.headline
        shown = (f"{html.escape(h.label)}<br>{html.escape(format_value(h.thesis))} / "
                 f"<strong>{html.escape(format_value(h.ours))}</strong>")
    claims = "<br>".join(_claim_html(claim) for claim in item.claims) or "—"
    return (f'<tr id="{anchor}"><td><strong>{html.escape(item.id)}</strong><br>{html.escape(item.caption)}</td>'
            f"<td>{html.escape(item.kind)}</td><td>{status}</td><td>{links}</td><td>{shown}</td><td>{claims}</td></tr>")


def _claim_html(claim: Claim) -> str:
    colour = _COLOURS.get(claim.verdict, "inherit")
    attack = f" ({html.escape(claim.attack)})" if claim.attack else ""
    interval = "" if claim.effect is None else f": {html.escape(str(claim.effect))}, needs {html.escape(claim.needs)}"
    return (f'<span style="color:{colour};font-weight:bold">{claim.verdict}</span> '
            f"{html.escape(claim.claim)}{attack}{interval}")


def _other_claims(claims: Sequence[tuple[str, RecordedClaim]]) -> str:
    rows = "\n".join(
        f'<tr><td><a href="chapters/{html.escape(stem)}.html#{html.escape(r.anchor)}">{html.escape(stem)}</a></td>'
        f"<td>{_claim_html(r.claim)}</td></tr>" for stem, r in claims
    )
    return (f'<table class="advrobust-scorecard table">\n<thead><tr><th>page</th><th>claim</th></tr></thead>\n'
            f"<tbody>\n{rows}\n</tbody>\n</table>")
