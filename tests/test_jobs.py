"""The job frame (advrobust.jobs): plans ordered by needs, units run here or as submitit jobs on
this machine's local executor, failures reported with their logs, finished units never rerun, a
training job interrupted mid-run resumed to the uninterrupted weights."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import torch
from advrobust.errors import ConfigError
from advrobust.jobs import Plan, Resources, Unit
from advrobust.jobs.execute import (
    CACHED,
    DONE,
    FAILED,
    SKIPPED,
    UnitJob,
    executor,
    run_here,
    run_jobs,
)
from advrobust.jobs.units import image_training
from advrobust.runtime import cache_root
from advrobust.training import TrainConfig
from advrobust.training.checkpoint import load_checkpoint

RESOURCES = {kind: Resources(gpus=0, cpus=1, minutes=5) for kind in ("train", "attack")}


def writes(name: str, value: int, needs: tuple[str, ...] = ()) -> Unit:
    """A unit whose product holds ``value`` plus the values of the products it needs."""

    def run(device: torch.device) -> None:
        root = cache_root()
        total = value + sum(json.loads((root / need / "final.json").read_text()) for need in needs)
        (root / name).mkdir(parents=True, exist_ok=True)
        (root / name / "final.json").write_text(json.dumps(total))

    return Unit(name, "attack" if needs else "train", "ch_test", (f"{name}/final.json",), run, needs)


def fails(name: str) -> Unit:
    def run(device: torch.device) -> None:
        raise ValueError(f"{name} broke\nthe last line names the cause")

    return Unit(name, "train", "ch_test", (f"{name}/final.json",), run)


def diamond() -> list[Unit]:
    return [writes("d", 4, ("b", "c")), writes("b", 2, ("a",)), writes("c", 3, ("a",)), writes("a", 1)]


def products(cache: Path) -> dict[str, int]:
    return {path.parent.name: json.loads(path.read_text()) for path in sorted(cache.glob("*/final.json"))}


def test_a_plan_puts_needs_first_and_keeps_a_shared_unit_once():
    plan = Plan.of([*diamond(), writes("a", 1)])
    order = [unit.name for unit in plan.units]
    assert len(order) == 4 and order.index("a") < order.index("b") < order.index("d") and order.index("c") < order.index("d")
    assert plan.depth() == {"a": 0, "b": 1, "c": 1, "d": 2}


@pytest.mark.parametrize("units, message", [
    ([writes("a", 1), writes("a", 2, ("b",)), writes("b", 1)], "two different units"),
    ([writes("b", 1, ("a",))], "which no chapter lists"),
    ([writes("a", 1, ("b",)), writes("b", 1, ("a",))], "cycle"),
])
def test_bad_plans_are_one_line_config_errors(units, message):
    with pytest.raises(ConfigError, match=message):
        Plan.of(units)


def test_running_here_fills_the_cache_and_a_second_run_finds_it(tmp_path, monkeypatch):
    monkeypatch.setenv("ADVROBUST_CACHE", str(tmp_path))
    plan = Plan.of(diamond())
    assert {o.state for o in run_here(plan, "cpu")} == {DONE}
    assert products(tmp_path) == {"a": 1, "b": 3, "c": 4, "d": 11}
    assert {o.state for o in run_here(plan, "cpu")} == {CACHED} and plan.pending() == []


def test_local_jobs_two_at_a_time_give_the_sequential_results(tmp_path, monkeypatch):
    monkeypatch.setenv("ADVROBUST_CACHE", str(tmp_path / "here"))
    run_here(Plan.of(diamond()), "cpu")
    jobs = executor("local", tmp_path / "logs")
    outcomes = run_jobs(Plan.of(diamond()), jobs, RESOURCES, parallel=2, device="cpu", cache_dir=tmp_path / "jobs")
    assert [o.state for o in outcomes] == [DONE] * 4
    assert all(o.log is not None and o.log.is_file() for o in outcomes)
    assert products(tmp_path / "jobs") == products(tmp_path / "here")


def test_a_failed_job_names_its_unit_log_and_error_and_its_dependents_are_skipped(tmp_path):
    plan = Plan.of([fails("a"), writes("b", 2, ("a",)), writes("c", 3)])
    outcomes = {o.unit: o for o in run_jobs(plan, executor("local", tmp_path / "logs"), RESOURCES, parallel=2,
                                            device="cpu", cache_dir=tmp_path / "cache")}
    assert outcomes["a"].state == FAILED and "the last line names the cause" in outcomes["a"].error
    assert outcomes["a"].log is not None and "a broke" in outcomes["a"].log.read_text()
    assert "a" in outcomes["a"].line() and str(outcomes["a"].log) in outcomes["a"].line()
    assert outcomes["b"].state == SKIPPED and "a" in outcomes["b"].error
    assert outcomes["c"].state == DONE


def test_an_unknown_executor_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="unknown executor"):
        executor("kubernetes", tmp_path)


def test_a_training_job_killed_mid_run_resumes_to_the_uninterrupted_weights(tmp_path, monkeypatch):
    """A real trainer in a submitit job, interrupted after its first checkpoint (the local
    executor's cancel sends SIGINT), then the plan run again: the new job resumes from last.pt
    and ends with the weights of a run never interrupted."""
    config = TrainConfig(model="cw_mnist", dataset="mnist", train_subset=2048, epochs=4, batch_size=64,
                         optimizer="adam", lr=1e-3)
    unit = image_training(config, chapter="ch_test")
    killed = tmp_path / "killed"
    job = executor("local", tmp_path / "logs").submit(UnitJob(), unit, "cpu", str(killed))
    last = killed / unit.name / "last.pt"
    deadline = time.monotonic() + 300
    while not last.exists() and not job.done() and time.monotonic() < deadline:
        time.sleep(0.02)
    job.cancel()
    while not job.done():
        time.sleep(0.05)
    before = load_checkpoint(last)
    at_kill = before["epoch"]
    assert 1 <= at_kill < config.epochs and not unit.done(killed), f"the job was not stopped mid-run ({at_kill})"

    outcomes = run_jobs(Plan.of([unit]), executor("local", tmp_path / "logs"), {"train": RESOURCES["train"]},
                        parallel=1, device="cpu", cache_dir=killed)
    assert [o.state for o in outcomes] == [DONE], [o.line() for o in outcomes]
    seconds = load_checkpoint(last)["history"]["seconds"]  # a fresh start would have timed its epochs anew
    assert len(seconds) == config.epochs and seconds[:at_kill] == before["history"]["seconds"][:at_kill]
    monkeypatch.setenv("ADVROBUST_CACHE", str(tmp_path / "straight"))
    assert [o.state for o in run_here(Plan.of([unit]), "cpu")] == [DONE]
    resumed, straight = (load_checkpoint(root / unit.products[0]) for root in (killed, tmp_path / "straight"))
    assert resumed.keys() == straight.keys()
    assert all(torch.equal(resumed[name], straight[name]) for name in straight)
