"""The job frame (advrobust.jobs): plans ordered by needs, units run here or as submitit jobs on
this machine's local executor, failures reported with their logs, finished units never rerun, a
training job interrupted mid-run resumed to the uninterrupted weights."""
from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from advrobust.defenses import PGDAT
from advrobust.errors import ConfigError, DataError
from advrobust.jobs import Plan, Resources, Unit
from advrobust.jobs.execute import (
    CACHED,
    DONE,
    FAILED,
    NO_DATA,
    SKIPPED,
    UnitJob,
    executor,
    run_here,
    run_jobs,
)
from advrobust.jobs.units import STAGES, image_training, image_trainings, stage
from advrobust.runtime import cache_root
from advrobust.training import ModelRun, StartFrom, TrainConfig
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


def lacks_data(name: str) -> Unit:
    def run(device: torch.device) -> None:
        raise DataError(f"{name}: no file imagenet/train; put ILSVRC-2012 there")

    return Unit(name, "train", "ch_test", (f"{name}/final.json",), run)


def test_a_unit_without_its_data_is_reported_as_such_here_and_as_a_job(tmp_path, monkeypatch):
    monkeypatch.setenv("ADVROBUST_CACHE", str(tmp_path / "here"))
    plan = Plan.of([lacks_data("a"), writes("b", 2, ("a",)), writes("c", 3)])
    here = {o.unit: o for o in run_here(plan, "cpu")}
    jobs = {o.unit: o for o in run_jobs(plan, executor("local", tmp_path / "logs"), RESOURCES, parallel=2,
                                        device="cpu", cache_dir=tmp_path / "jobs")}
    for outcomes in (here, jobs):
        assert outcomes["a"].state == NO_DATA and outcomes["a"].error == "a: no file imagenet/train; put ILSVRC-2012 there"
        assert outcomes["b"].state == SKIPPED and outcomes["b"].error == "needs a, which lacks its data"
        assert outcomes["c"].state == DONE


def stage_settings(steps: int) -> tuple[str, int]:
    return ("settings of a stage", steps)


def test_a_stage_is_done_once_its_run_returns_and_changed_settings_make_a_new_unit(tmp_path, monkeypatch):
    monkeypatch.setenv("ADVROBUST_CACHE", str(tmp_path))
    calls = []
    first = stage("attack", "attack", "ch_test", calls.append, stage_settings(10), code=[sys.modules[__name__]])
    assert not first.done() and first.products[0].startswith(f"{STAGES}/ch_test-attack-")
    first.run(torch.device("cpu"))
    assert calls == [torch.device("cpu")] and first.done()
    same = stage("attack", "attack", "ch_test", calls.append, stage_settings(10), code=[sys.modules[__name__]])
    changed = stage("attack", "attack", "ch_test", calls.append, stage_settings(11), code=[sys.modules[__name__]])
    assert same.name == first.name and same.done()
    assert changed.name != first.name and not changed.done()


def test_a_stage_that_raises_leaves_no_marker(tmp_path, monkeypatch):
    monkeypatch.setenv("ADVROBUST_CACHE", str(tmp_path))
    broken = stage("attack", "attack", "ch_test", fails("x").run, stage_settings(1))
    with pytest.raises(ValueError, match="x broke"):
        broken.run(torch.device("cpu"))
    assert not broken.done()


def test_a_run_that_starts_from_another_brings_that_run_into_the_plan():
    natural = TrainConfig(model="cw_mnist", dataset="mnist", train_subset=64, epochs=1)
    robust = ModelRun(replace(natural, epochs=2), PGDAT(eps=0.3, alpha=0.1, steps=2), StartFrom(natural))
    plan = Plan.of(image_trainings([robust], "ch_test"))
    assert [unit.name for unit in plan.units] == [image_training(natural).name, image_training(*robust).name]
    assert plan.units[1].needs == (plan.units[0].name,)


def test_a_training_unit_run_under_torchrun_fills_the_run_directory_the_plan_and_pages_read(tmp_path, monkeypatch):
    """The multi-GPU job kind's path: the unit's distributed form launches torchrun (two gloo CPU
    processes here, one per GPU on a cluster) into the same run directory, so the unit is done and a
    page then loads it from the cache. (Equality with one process, for models without dropout or
    BatchNorm, is test_distributed.py's.)"""
    config = TrainConfig(model="cw_mnist", dataset="mnist", train_subset=256, epochs=1, batch_size=64,
                         optimizer="sgd", lr=0.05)
    unit = image_training(config, chapter="ch_test")
    monkeypatch.setenv("ADVROBUST_CACHE", str(tmp_path))
    assert unit.distributed is not None and not unit.done()
    unit.distributed(2)
    assert unit.done()
    state = load_checkpoint(tmp_path / unit.name / "last.pt")
    assert state["epoch"] == 1 and len(state["history"]["loss"]) == 1
    assert [o.state for o in run_here(Plan.of([unit]), "cpu")] == [CACHED]


def test_a_distributed_run_that_fails_says_why_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("ADVROBUST_CACHE", str(tmp_path))
    unit = image_training(TrainConfig(model="cw_mnist", dataset="no_such_set", epochs=1), chapter="ch_test")
    with pytest.raises(RuntimeError, match="torchrun exited with 1: .*no_such_set"):
        unit.distributed(2)  # type: ignore[misc]


def records_its_gpus(name: str) -> Unit:
    """A unit that writes the GPUs its job was given and when it ran."""

    def run(device: torch.device) -> None:
        start = time.time()
        time.sleep(1.0)
        (cache_root() / name).mkdir(parents=True, exist_ok=True)
        (cache_root() / name / "final.json").write_text(
            json.dumps([os.environ.get("CUDA_VISIBLE_DEVICES", ""), start, time.time()]))

    return Unit(name, "train", "ch_test", (f"{name}/final.json",), run)


def test_local_jobs_on_a_machine_with_gpus_get_gpus_of_their_own(tmp_path):
    """Four one-GPU units on a machine with GPUs 0 and 1, four jobs allowed at once: every job is
    given one GPU, and two jobs given the same GPU never run at the same time."""
    plan = Plan.of([records_its_gpus(name) for name in "abcd"])
    resources = {"train": Resources(gpus=1, cpus=1, minutes=5)}
    outcomes = run_jobs(plan, executor("local", tmp_path / "logs"), resources, parallel=4, device="cpu",
                        cache_dir=tmp_path, poll_seconds=0.05, gpus=(0, 1))
    assert [o.state for o in outcomes] == [DONE] * 4
    ran = [json.loads((tmp_path / name / "final.json").read_text()) for name in "abcd"]
    assert {gpu for gpu, _, _ in ran} == {"0", "1"}
    for i, (gpu, start, end) in enumerate(ran):
        for other_gpu, other_start, other_end in ran[i + 1:]:
            assert gpu != other_gpu or end <= other_start or other_end <= start


def test_a_unit_asking_more_gpus_than_the_machine_has_is_refused_in_one_line(tmp_path):
    resources = {"train": Resources(gpus=2, cpus=1, minutes=5)}
    with pytest.raises(ConfigError, match="asks for 2 GPUs; this machine has 1"):
        run_jobs(Plan.of([records_its_gpus("a")]), executor("local", tmp_path / "logs"), resources, parallel=1,
                 device="cpu", cache_dir=tmp_path, gpus=(0,))


def test_the_slurm_executor_off_a_cluster_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no srun
    with pytest.raises(ConfigError, match="the slurm executor cannot start here: .*srun"):
        executor("slurm", tmp_path)


def test_cluster_options_reach_submitit_and_an_unknown_one_is_one_line(tmp_path, monkeypatch):
    fake = tmp_path / "bin" / "srun"  # what submitit looks for to believe it is on a Slurm cluster
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:{os.environ['PATH']}")
    jobs = executor("slurm", tmp_path, {"partition": "gpu", "account": "lab"})
    assert jobs._executor.parameters["partition"] == "gpu" and jobs._executor.parameters["account"] == "lab"
    with pytest.raises(ConfigError, match="unknown slurm option"):
        executor("slurm", tmp_path, {"no_such_option": "1"})
    with pytest.raises(ConfigError, match="the local executor takes no cluster options"):
        executor("local", tmp_path, {"partition": "gpu"})
