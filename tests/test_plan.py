"""The book's job plan (advrobust.pipeline.plan, ``python -m advrobust.pipeline plan``): every
chapter's units at paper, names stable across processes, a chapter's units run as two local
submitit jobs equal to the sequential run file by file, the estimate's arithmetic, and bad input
as one line. That the chapters at smoke train and attack nothing beyond the plan is checked by
running them: test_book.py's fixture runs the smoke plan as two local jobs first."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from advrobust.cli import main
from advrobust.errors import ConfigError
from advrobust.experiments import ch4_defenses
from advrobust.jobs import Plan, Unit
from advrobust.jobs.estimate import _query_rate, _training_rate, estimate, longest_chain
from advrobust.jobs.execute import DONE, executor, run_here, run_jobs
from advrobust.jobs.unit import Work
from advrobust.pipeline.plan import book_plan, estimate_report
from advrobust.profiles.jobs import job_resources
from advrobust.training import TrainConfig
from advrobust.training.checkpoint import load_checkpoint

REPO = Path(__file__).resolve().parents[1]
PAGES = {path.stem for path in (REPO / "chapters").glob("ch*.py")}
# Pages with nothing cached to compute: Chapter 2's white-box page shares Chapter 1's victim (the
# plan keeps the unit under the first page), and the hard-label objective's toys train in seconds.
PAGES_WITHOUT_UNITS = {"ch02_white_box", "ch02_hard_label_objective"}


@pytest.fixture(scope="module")
def paper() -> Plan:
    book = book_plan("paper")
    assert book.unplanned == {}, book.unplanned
    return book.plan


def test_the_paper_plan_covers_every_page_with_cached_work(paper):
    assert {unit.chapter for unit in paper.units} == PAGES - PAGES_WITHOUT_UNITS


def test_the_paper_plan_holds_the_thesis_runs(paper):
    wide = [u.name for u in paper.units if u.chapter == "ch04_cat" and u.name.startswith("wrn34_10-cifar10-")]
    assert len(wide) == 4, wide  # Table 4.3: natural, PGD-AT, TRADES and CAT on WRN-34-10
    sprout_from_natural = [u for u in paper.units if "-sprout-from-natural-" in u.name and u.chapter == "ch05_sprout"]
    assert len(sprout_from_natural) == 4 and all(len(u.needs) == 1 for u in sprout_from_natural)  # VGG-16, WRN,
    # and Tables 5.3 and 5.8's ResNet-152 and ResNet-50 on ImageNet
    streamed = [u.name for u in paper.units if u.kind == "train" and "imagenet" in u.name]
    assert len(streamed) == 8, streamed  # Table 4.5's ResNet-50, 5.3's and 5.8's natural and SPROUT, 6.4's three
    assert any(u.name.startswith("ch02_hard_label_attacks-imagenet-") for u in paper.units)  # Table 2.2's rows
    assert all(unit.work is not None for unit in paper.units if unit.chapter[:4] in ("ch04", "ch05", "ch06"))


def test_every_unit_needs_only_units_before_it(paper):
    seen: set[str] = set()
    for unit in paper.units:
        assert set(unit.needs) <= seen, unit.name
        seen.add(unit.name)


def test_unit_names_are_the_same_in_another_process():
    script = "from advrobust.pipeline.plan import book_plan; print('\\n'.join(u.name for u in book_plan('smoke').plan.units))"
    other = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split()
    assert other == [unit.name for unit in book_plan("smoke").plan.units]


def test_a_chapters_units_as_two_local_jobs_equal_the_sequential_run_file_by_file(tmp_path, monkeypatch):
    """Four of Chapter 4's smoke trainings through submitit's local executor, two at a time,
    against the same units run one after another here: the same files, bit for bit. (The whole
    smoke plan runs as two local jobs in test_book.py's fixture.)"""
    plan = Plan.of(ch4_defenses.units("smoke")[:4])
    assert len(plan) == 4 and all(not unit.needs for unit in plan.units)
    monkeypatch.setenv("ADVROBUST_CACHE", str(tmp_path / "here"))
    assert {o.state for o in run_here(plan, "cpu")} == {DONE}
    outcomes = run_jobs(plan, executor("local", tmp_path / "logs"), job_resources("smoke"), parallel=2, device="cpu",
                        cache_dir=tmp_path / "jobs")
    assert {o.state for o in outcomes} == {DONE}, [o.line() for o in outcomes]
    for unit in plan.units:
        here, jobs = (load_checkpoint(tmp_path / root / unit.products[0]) for root in ("here", "jobs"))
        assert here.keys() == jobs.keys() and all(torch.equal(here[k], jobs[k]) for k in here), unit.name


def constant(rate: float, label: str, amount: float) -> Work:
    return Work(amount, "items", label, lambda device: rate)


def timed(name: str, hours: float, needs: tuple[str, ...] = (), chapter: str = "ch_a") -> Unit:
    """A unit of ``hours`` at 1 item/s (no run: the estimate never runs units)."""
    return Unit(name, "train", chapter, (f"{name}/final.pt",), lambda device: None, needs,
                constant(1.0, "one item a second", hours * 3600))


def test_the_longest_chain_adds_the_hours_along_the_slowest_path():
    plan = Plan.of([timed("a", 1), timed("b", 2, ("a",)), timed("c", 5, ("a",), "ch_b"), timed("d", 1, ("b", "c"))])
    hours, chain = longest_chain(plan, estimate(plan, torch.device("cpu")))
    assert hours == pytest.approx(7) and chain == ["a", "c", "d"]


def test_the_estimate_report_sums_chapters_and_names_what_dominates():
    plan = Plan.of([timed("a", 1), timed("b", 2, ("a",)), timed("c", 5, ("a",), "ch_b")])
    text = estimate_report(plan, torch.device("cpu"))
    assert "ch_a" in text and "3.0 h" in text and "5.0 h" in text and "total" in text and "8.0 h" in text
    assert "largest: c (ch_b): 5.0 h, 62% of the total" in text and "longest chain: 6.0 h over 2 units" in text


def test_each_probe_is_timed_once_per_label():
    calls = []
    work = Work(10.0, "items", "shared", lambda device: calls.append(device) or 5.0)
    units = [Unit(name, "train", "ch_a", (f"{name}/x",), lambda device: None, (), work) for name in "ab"]
    projections = estimate(Plan.of(units), torch.device("cpu"))
    assert len(calls) == 1 and [p.hours for p in projections] == [pytest.approx(2 / 3600)] * 2


def test_the_probes_measure_a_positive_rate():
    config = TrainConfig(model="cw_mnist", dataset="mnist", batch_size=8, epochs=3, train_subset=64)
    assert _training_rate(config, None, torch.device("cpu")) > 0
    assert _query_rate(config, 16, torch.device("cpu")) > 0


def test_the_plan_command_prints_the_graph(capsys):
    assert main(["plan", "--profile", "smoke"]) == 0
    printed = capsys.readouterr().out
    assert printed.splitlines()[0].startswith(f"{len(book_plan('smoke').plan)} units")
    assert "ch04_cat" in printed and "(0 GPU, 1 CPU, 10 min)" in printed


@pytest.mark.parametrize("arguments, message", [
    (["--executor", "kubernetes", "--run"], "unknown executor 'kubernetes'"),
    (["--jobs", "0", "--run"], "--jobs must be at least 1"),
    (["--profile", "huge"], "unknown profile"),
])
def test_bad_plan_options_are_one_line(arguments, message, capsys):
    with pytest.raises(ConfigError, match=message):
        from advrobust.pipeline import cli

        cli.main(["plan", *arguments])
    assert main(["plan", *arguments]) == 2
    assert capsys.readouterr().err.count("\n") == 1
