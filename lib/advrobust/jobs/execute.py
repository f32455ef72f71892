"""Running a plan: here, one unit after another, or as submitit jobs on this machine or a cluster.

``run_here`` is what the chapters would do themselves, in plan order. ``run_jobs`` hands each unit
to a submitit executor (``LocalExecutor`` on one machine, ``AutoExecutor(cluster="slurm")`` on a cluster)
with the resources of its kind, at most ``jobs`` at a time, each unit submitted once the units it
needs have finished; on one machine each job gets GPUs of its own. A job is :class:`UnitJob`, a
submitit ``Checkpointable``: preempted or timed out, it is requeued and runs its unit again, which
resumes from its checkpoint. A job given several GPUs trains under ``torchrun``, one process per
GPU (the unit's ``distributed`` form). A failed unit is reported with its log file and its
error, a unit whose data are absent as such, and the units that need either are skipped;
finished units stay in the cache, so running the plan again runs only what is left.
"""
from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import submitit

from ..errors import ConfigError, DataError, require
from ..runtime import resolve_device
from .plan import Plan
from .unit import Resources, Unit

EXECUTORS = ("local", "slurm")
CACHED, DONE, FAILED, SKIPPED, NO_DATA = "cached", "done", "failed", "skipped", "no data"


@dataclass(frozen=True)
class Outcome:
    """What became of one unit."""

    unit: str
    state: str  # CACHED (found done), DONE (run now), FAILED, NO_DATA (its data are absent: a
    # DataError), SKIPPED (a unit it needs failed or lacked data)
    error: str = ""  # the error's last line, for FAILED; the failed need, for SKIPPED
    log: Path | None = None  # the job's log file, for units run as jobs

    def line(self) -> str:
        """One line for the terminal."""
        where = f" (log: {self.log})" if self.log is not None else ""
        return f"{self.state:>7} {self.unit}" + (f": {self.error}" if self.error else "") + where


class UnitJob(submitit.helpers.Checkpointable):
    """One unit as a submitit job; requeued (by ``Checkpointable``), it runs the unit again."""

    def __call__(self, unit: Unit, device: str, cache_dir: str | None, processes: int = 1) -> str:
        if cache_dir is not None:
            os.environ["ADVROBUST_CACHE"] = cache_dir
        if processes > 1 and unit.distributed is not None:
            unit.distributed(processes)
        else:
            unit.run(resolve_device(device))
        return unit.name


def run_here(plan: Plan, device: str = "auto", cache_dir: Path | str | None = None) -> list[Outcome]:
    """Run the plan's pending units in this process, in plan order."""
    outcomes: dict[str, Outcome] = {}
    for unit in plan.units:
        blocked = _blocked_by(unit, outcomes)
        if unit.done(cache_dir):
            outcomes[unit.name] = Outcome(unit.name, CACHED)
        elif blocked:
            outcomes[unit.name] = Outcome(unit.name, SKIPPED, f"needs {blocked}")
        else:
            try:
                unit.run(resolve_device(device))
                outcomes[unit.name] = Outcome(unit.name, DONE)
            except DataError as error:
                outcomes[unit.name] = Outcome(unit.name, NO_DATA, _last_line(error))
            except Exception as error:  # noqa: BLE001 - a failed unit is reported, the others run on
                outcomes[unit.name] = Outcome(unit.name, FAILED, _last_line(error))
    return list(outcomes.values())


def executor(kind: str, folder: Path | str, options: Mapping[str, str] | None = None) -> submitit.Executor:
    """A submitit executor of ``kind`` writing its logs to ``folder``: "local", submitit's
    ``LocalExecutor`` (which can give each job GPUs of its own), or "slurm", through its
    ``AutoExecutor``, with ``options`` the cluster's own parameters without their prefix (e.g.
    ``{"partition": "gpu", "account": "lab"}`` for submitit's ``slurm_partition``, ``slurm_account``)."""
    require(kind in EXECUTORS, f"unknown executor {kind!r}; use one of {', '.join(EXECUTORS)}")
    if kind == "local":
        require(not options, f"the local executor takes no cluster options, got {', '.join(options or {})}")
        return submitit.LocalExecutor(folder=folder)
    try:
        jobs = submitit.AutoExecutor(folder=folder, cluster=kind)
    except RuntimeError as error:  # e.g. no srun here
        raise ConfigError(f"the {kind} executor cannot start here: {error}") from None
    try:
        jobs.update_parameters(**{f"{kind}_{key}": value for key, value in (options or {}).items()})
    except NameError as error:  # submitit's message lists the valid parameters
        raise ConfigError(f"unknown {kind} option: {str(error).splitlines()[0]}") from None
    return jobs


def run_jobs(plan: Plan, jobs: submitit.Executor, resources: Mapping[str, Resources], parallel: int,
             device: str = "auto", cache_dir: Path | str | None = None, poll_seconds: float = 0.5,
             gpus: Sequence[int] = ()) -> list[Outcome]:
    """Run the plan's pending units as jobs of ``jobs``, at most ``parallel`` at once (see the
    module docstring). ``gpus``: this machine's GPUs for the local executor, each job given its
    own (a job waits until as many as it asks for are free); empty, the cluster assigns them.
    Returns every unit's outcome, in plan order."""
    outcomes: dict[str, Outcome] = {u.name: Outcome(u.name, CACHED) for u in plan.units if u.done(cache_dir)}
    waiting = [unit for unit in plan.units if unit.name not in outcomes]
    running: dict[str, tuple[submitit.Job[str], tuple[int, ...]]] = {}
    free = list(gpus)
    cache = None if cache_dir is None else str(cache_dir)
    for unit in waiting:
        require(not gpus or resources[unit.kind].gpus <= len(gpus),
                f"unit {unit.name} asks for {resources[unit.kind].gpus} GPUs; this machine has {len(gpus)}")
    while waiting or running:
        for unit in list(waiting):
            blocked = _blocked_by(unit, outcomes)
            ask = resources[unit.kind]
            if blocked:
                outcomes[unit.name] = Outcome(unit.name, SKIPPED, f"needs {blocked}")
                waiting.remove(unit)
            elif (len(running) < parallel and all(need in outcomes for need in unit.needs)
                  and (not gpus or ask.gpus <= len(free))):
                given = tuple(free[: ask.gpus]) if gpus else ()
                del free[: len(given)]
                jobs.update_parameters(name=unit.name, timeout_min=ask.minutes, gpus_per_node=ask.gpus,
                                       cpus_per_task=ask.cpus, **({"visible_gpus": given} if gpus else {}))
                running[unit.name] = (jobs.submit(UnitJob(), unit, device, cache, ask.gpus), given)
                waiting.remove(unit)
        finished = [name for name, (job, _) in running.items() if job.done()]
        if not finished:
            time.sleep(poll_seconds)
        for name in finished:
            job, given = running.pop(name)
            free += given
            outcomes[name] = _outcome(name, job)
    return [outcomes[unit.name] for unit in plan.units]


def _outcome(name: str, job: submitit.Job[str]) -> Outcome:
    try:
        job.result()
    except Exception as error:  # noqa: BLE001 - the job's own error, reported with its log
        line = _job_error(error)
        data_error = f"{DataError.__module__}.{DataError.__name__}: "
        if line.startswith(data_error):
            return Outcome(name, NO_DATA, line.removeprefix(data_error), job.paths.stderr)
        return Outcome(name, FAILED, line, job.paths.stderr)
    return Outcome(name, DONE, log=job.paths.stderr)


def _blocked_by(unit: Unit, outcomes: Mapping[str, Outcome]) -> str:
    """Why ``unit`` cannot run: the first unit it needs that failed, lacked its data or was
    skipped, and what became of it ("" when none)."""
    blocked = (outcomes[need] for need in unit.needs
               if need in outcomes and outcomes[need].state in (FAILED, NO_DATA, SKIPPED))
    said = {FAILED: "failed", NO_DATA: "lacks its data", SKIPPED: "was skipped"}
    return next((f"{need.unit}, which {said[need.state]}" for need in blocked), "")


def _job_error(error: BaseException) -> str:
    """The last line of the traceback a failed submitit job reports (submitit puts it between
    two rules of dashes, followed by where the logs are)."""
    lines = str(error).splitlines()
    rules = [i for i, line in enumerate(lines) if line.startswith("-----")]
    trace = [line for line in lines[rules[0] + 1 : rules[1]] if line.strip()] if len(rules) >= 2 else []
    return trace[-1].strip() if trace else _last_line(error)


def _last_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[-1] if text else type(error).__name__
