"""The scorecard (advrobust.pipeline.scorecard): every one of the thesis's 39 tables and 24 figures
has a row, the statuses and the summary line are computed from the chapters' results, the links
land on the anchors the results object writes, and every chapter page names its items so."""
from __future__ import annotations

import re
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import pytest
from advrobust.experiments import report
from advrobust.experiments.bootstrap import Effect
from advrobust.experiments.claims import Claim, judged
from advrobust.experiments.record import item_of, read_claims, read_outputs
from advrobust.pipeline import BookLayout, provenance
from advrobust.pipeline.scorecard import (
    PLANS,
    master_list,
    page_results,
    scorecard_items,
    scorecard_markdown,
    summary,
    write_scorecard,
)
from advrobust.experiments.report import Results
from advrobust.tables import beside_thesis

REPO = Path(__file__).resolve().parents[1]
# The thesis's items (thesis-map.md): 39 tables and 24 figures.
TABLES = {1: 1, 2: 2, 3: 15, 4: 6, 5: 9, 6: 6}
FIGURES = {1: 1, 2: 9, 4: 2, 5: 9, 6: 3}
THESIS_ITEMS = {f"Table {c}.{i}" for c, n in TABLES.items() for i in range(1, n + 1)} | {
    f"Figure {c}.{i}" for c, n in FIGURES.items() for i in range(1, n + 1)}
ITEM_NAME = re.compile(r"\"((?:table|figure|fig)_\d+_\d+[a-z0-9_]*)\"")


def row_ids(page: str) -> set[str]:
    return set(re.findall(r'<tr id="((?:table|figure)-\d+-\d+)">', page))


def test_the_master_list_is_the_thesis_s_39_tables_and_24_figures():
    master = master_list()
    ids = [entry.id for entry in master]
    assert len(THESIS_ITEMS) == 63 and len(ids) == len(set(ids))
    assert set(ids) == THESIS_ITEMS, f"missing {THESIS_ITEMS - set(ids)}, unknown {set(ids) - THESIS_ITEMS}"
    pages = {p.stem for p in (REPO / "chapters").glob("*.py")}
    for entry in master:
        assert entry.plan in PLANS and entry.pages and set(entry.pages) <= pages, entry
        assert entry.kind in ("result", "example", "illustration", "result + quoted rows"), entry
        assert entry.plan == "regenerated" or entry.note, f"{entry.id}: say what is missing"


def test_every_thesis_item_has_a_row_even_before_any_chapter_ran(tmp_path):
    page = scorecard_markdown(BookLayout.at(tmp_path))
    expected = {i.lower().replace(" ", "-").replace(".", "-") for i in THESIS_ITEMS}
    assert row_ids(page) == expected, f"missing from the scorecard: {expected - row_ids(page)}"
    assert "**0 of 63 thesis items regenerated** (4 paper-only, 0 quoted, 59 not run yet)" in page
    assert "**Claims: 0 held, 0 failed, 0 inconclusive** (of 0)" in page


def test_a_thesis_item_dropped_from_the_master_list_is_missing_from_the_scorecard(tmp_path):
    shorter = [entry for entry in master_list() if entry.id != "Table 4.2"]
    page = scorecard_markdown(BookLayout.at(tmp_path), shorter)
    missing = {i.lower().replace(" ", "-").replace(".", "-") for i in THESIS_ITEMS} - row_ids(page)
    assert missing == {"table-4-2"}  # what the test above catches


def test_every_regenerated_item_is_named_by_a_result_of_a_chapter_or_an_experiment():
    sources = [*(REPO / "chapters").glob("*.py"), *(REPO / "lib/advrobust/experiments").glob("*.py")]
    named = {item_of(name) for path in sources for name in ITEM_NAME.findall(path.read_text())}
    unnamed = {e.id for e in master_list() if e.plan == "regenerated"} - named
    assert not unnamed, f"no result is named after {unnamed}: the scorecard could never find them"


def run_page(layout: BookLayout, stem: str, profile: str = "quick") -> Results:
    record = {"profile": profile, "device": "CPU (2 cores)", "wall_time_s": 1.0, "packages": {}}
    provenance.write_provenance(layout.provenance(stem), record)
    return Results(layout.results_dir(stem), profile)


def test_statuses_headlines_and_counts_come_from_the_results(tmp_path, monkeypatch):
    monkeypatch.setattr(report, "display", lambda *_: None)
    layout = BookLayout.at(tmp_path)
    cat = run_page(layout, "ch04_cat")
    ours = pd.DataFrame({"method": ["CAT", "TRADES"], "clean": [0.5, 0.4], "pgd": [0.3, 0.2]})
    thesis = pd.DataFrame({"method": ["CAT", "TRADES"], "clean": [0.8544, 0.8485], "pgd": [0.7554, 0.3881]})
    cat.table(beside_thesis(ours, thesis, ["method"], "quick"), "table_4_2", caption="Table 4.2.")
    cat.table(thesis, "table_4_5", caption="Table 4.5 as printed.")  # a paper-only item, shown as printed
    cat.claims([judged("CAT is more robust than TRADES", Effect(0.1, 0.05, 0.15, 64), attack="PGD", item="Table 4.2"),
                judged("CAT is more robust than TRADES", Effect(-0.1, -0.2, 0.05, 64), attack="AutoAttack",
                       item="Table 4.2")])
    intro = run_page(layout, "ch01_introduction", profile="smoke")
    fig, _ = plt.subplots()
    intro.figure(fig, "fig_1_1_targeted", caption="Figure 1.1.")
    text = pd.concat({"thesis": pd.DataFrame({"text": ["a mood"]})}, names=["source", "row"])
    intro.table(text, "table_1_1", caption="Table 1.1 without AG News: the thesis's rows alone.")
    intro.claims([Claim("a claim of no thesis item", "fails", "x", Effect(-1.0, -2.0, -0.5, 3))])
    failed = layout.results_dir("ch02_gbdt")  # a run that failed: records but no provenance
    Results(failed, "quick").claims([Claim("never counted", "holds", "x", item="Table 2.1")])

    pages = page_results(layout)
    assert [p.stem for p in pages] == ["ch01_introduction", "ch04_cat"]
    items = {item.id: item for item in scorecard_items(master_list(), pages)}
    table = items["Table 4.2"]
    assert (table.status, table.detail.split(";")[0]) == ("regenerated", "quick on CPU (2 cores)")
    assert [link.href for link in table.links] == ["chapters/ch04_cat.html#table_4_2"]
    assert table.headline is not None and (table.headline.label, table.headline.thesis, table.headline.ours) == (
        "CAT · pgd", 0.7554, 0.3)  # the master list's headline "CAT · PGD", matched ignoring case
    assert [(c.attack, c.verdict) for c in table.claims] == [("PGD", "holds"), ("AutoAttack", "inconclusive")]
    assert items["Table 4.5"].status == "paper-only" and "Restricted ImageNet" in items["Table 4.5"].detail
    assert items["Table 1.1"].status == "paper-only" and "AG News" in items["Table 1.1"].detail
    assert items["Figure 1.1"].status == "regenerated" and items["Figure 1.1"].detail.startswith("smoke on CPU")
    assert items["Table 2.1"].status == "not run" and items["Table 2.1"].claims == ()

    page = scorecard_markdown(layout)
    recorded = [r.claim.verdict for stem in ("ch01_introduction", "ch04_cat")
                for r in read_claims(layout.results_dir(stem))]
    regenerated = sum(o.has_ours and o.item in ("Table 4.2", "Figure 1.1")
                      for stem in ("ch01_introduction", "ch04_cat") for o in read_outputs(layout.results_dir(stem)))
    assert summary(list(items.values()), pages).verdicts == {v: recorded.count(v) for v in set(recorded)}
    assert (f"**{regenerated} of 63 thesis items regenerated** (5 paper-only, 0 quoted, 56 not run yet). "
            f"**Claims: {recorded.count('holds')} held, {recorded.count('fails')} failed, "
            f"{recorded.count('inconclusive')} inconclusive** (of {len(recorded)}).") in page
    assert '<a href="chapters/ch04_cat.html#table_4_2">' in page
    assert "CAT · pgd<br>0.7554 / <strong>0.3</strong>" in page
    assert "## Other claims" in page and 'href="chapters/ch01_introduction.html#claims"' in page
    assert "never counted" not in page
    path = write_scorecard(tmp_path)
    assert path == tmp_path / "book" / "scorecard.md" and path.read_text() == page


def test_results_anchor_what_they_show_at_the_name_the_scorecard_links(tmp_path, monkeypatch):
    shown: list[str] = []
    monkeypatch.setattr(report, "display", lambda obj: shown.append(getattr(obj, "data", "")))
    results = Results(tmp_path, "smoke")
    results.table(pd.DataFrame({"x": [1.0]}), "table_4_2", caption="t")
    fig, _ = plt.subplots()
    results.figure(fig, "figure_4_1", caption="f")
    results.text("A: hello\nB: <selection>", "table_3_11", caption="Table 3.11")
    results.claims([Claim("c", "holds", "m")])
    results.claims([Claim("d", "fails", "m")])
    html = "".join(s for s in shown if isinstance(s, str))
    for anchor in ("table_4_2", "figure_4_1", "table_3_11", "claims", "claims-2"):
        assert f'id="{anchor}"' in html, anchor
    assert "B: &lt;selection&gt;" in html and (tmp_path / "table_3_11.txt").read_text() == "A: hello\nB: <selection>\n"
    assert [(o.name, o.item, o.anchor) for o in read_outputs(tmp_path)] == [
        ("table_4_2", "Table 4.2", "table_4_2"), ("figure_4_1", "Figure 4.1", "figure_4_1"),
        ("table_3_11", "Table 3.11", "table_3_11")]
    Results(tmp_path, "smoke")  # a new run of the chapter starts its records afresh
    assert read_outputs(tmp_path) == [] and read_claims(tmp_path) == []


@pytest.mark.parametrize("stem", ["ch04_cat", "ch06_robmask"])
def test_chapter_pages_write_their_claims_through_the_results(stem):
    source = (REPO / "chapters" / f"{stem}.py").read_text()
    assert "results.claims(" in source and "claim_lines" not in source
