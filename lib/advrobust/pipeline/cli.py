"""``python -m advrobust.pipeline run|build|status|plan``: the commands behind ``make book`` and
``make reproduce``."""
from __future__ import annotations

import argparse
import logging
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import torch

from ..errors import require
from ..jobs.execute import EXECUTORS, FAILED, executor, run_here, run_jobs
from ..profiles.base import check_profile
from ..profiles.jobs import job_resources
from ..runtime import resolve_device
from .book import build_book
from .execute import run_chapters
from .plan import book_plan, estimate_report
from .scorecard import write_scorecard
from .status import write_status


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(
        prog="python -m advrobust.pipeline",
        description="Execute the chapters with papermill and build the Jupyter Book.",
    )
    commands = cli.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="execute the chapters whose inputs changed")
    run.add_argument("--profile", default="quick", help="smoke | quick | paper (default: quick)")
    run.add_argument("--device", default="auto", help="auto | cpu | cuda[:N] (default: auto)")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--only", nargs="+", default=[], metavar="STEM", help="run only these chapters")
    run.add_argument("--force", action="store_true", help="execute even if nothing changed")
    build = commands.add_parser("build", help="build the HTML book (jupyter-book build -W -n --keep-going)")
    status = commands.add_parser("status", help="rewrite book/status.md and book/scorecard.md from the results")
    for command in (run, build, status):
        command.add_argument("--root", default=".", help="the book root (default: the current directory)")
    plan = commands.add_parser("plan", help="print, estimate or run the job graph of every chapter's cached units")
    plan.add_argument("--profile", default="quick", help="smoke | quick | paper (default: quick)")
    plan.add_argument("--seed", type=int, default=0, help="the chapters' seed (default: 0)")
    plan.add_argument("--device", default="auto", help="auto | cpu | cuda[:N]: where units run and probes time")
    plan.add_argument("--estimate", action="store_true", help="time each job kind here and project device-hours")
    plan.add_argument("--run", action="store_true", help="run the units not cached yet")
    plan.add_argument("--executor", default="local", help="here | local | slurm (default: local, submitit jobs)")
    plan.add_argument("--jobs", type=int, default=1, help="jobs at once (default: 1)")
    plan.add_argument("--logs", default="_build/jobs", help="submitit's job folder (default: _build/jobs)")
    plan.add_argument("--cluster-option", nargs="*", default=[], metavar="KEY=VALUE",
                      help="the executor's own parameters, e.g. partition=gpu account=lab for Slurm")
    return cli


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; :class:`~advrobust.errors.AdvRobustError` propagates to the caller."""
    args = parser().parse_args(argv)
    _show_progress_logs()
    if args.command == "run":
        runs = run_chapters(
            args.root, args.profile, args.device, args.seed, args.only, args.force, progress=sys.stdout.isatty()
        )
        for run in runs:
            what = f"executed in {run.wall_time_s:.1f} s ({'; '.join(run.reasons)})" if run.executed else "unchanged"
            print(f"{run.stem}: {what}")
    elif args.command == "build":
        index = build_book(args.root)
        print(f"book built: open file://{index}")
    elif args.command == "plan":
        return plan_command(args)
    else:
        print(f"status page written: {write_status(args.root)}")
        print(f"scorecard written: {write_scorecard(args.root)}")
    return 0


def plan_command(args: argparse.Namespace) -> int:
    """``plan``: print the graph; with ``--estimate`` the projection, with ``--run`` the outcomes
    (exit status 1 when a unit failed; units without their data are reported, not failures)."""
    profile, device = check_profile(args.profile), resolve_device(args.device)
    require(args.jobs >= 1, f"--jobs must be at least 1, got {args.jobs}")
    require(args.executor in ("here", *EXECUTORS), f"unknown executor {args.executor!r}; use here, local or slurm")
    book = book_plan(profile, args.seed)
    resources = job_resources(profile)
    print(book.plan.describe(resources))
    for module, reason in book.unplanned.items():
        print(f"not planned: {module}: {reason}")
    if args.estimate:
        print(estimate_report(book.plan, device, lambda label: print(f"timing: {label}", file=sys.stderr)))
    if not args.run:
        return 0
    if args.executor == "here":
        outcomes = run_here(book.plan, str(device))
    else:  # each job resolves --device where it runs; on this machine, each job gets GPUs of its own
        gpus = range(torch.cuda.device_count()) if args.executor == "local" else range(0)
        jobs = executor(args.executor, Path(args.logs) / profile, _options(args.cluster_option))
        outcomes = run_jobs(book.plan, jobs, resources, args.jobs, args.device, gpus=gpus)
    for outcome in outcomes:
        print(outcome.line())
    counts = Counter(outcome.state for outcome in outcomes)
    print("units: " + ", ".join(f"{count} {state}" for state, count in counts.items()))
    return 1 if counts[FAILED] else 0


def _options(pairs: Sequence[str]) -> dict[str, str]:
    """``KEY=VALUE`` pairs as a mapping."""
    malformed = [pair for pair in pairs if "=" not in pair]
    require(not malformed, f"--cluster-option takes KEY=VALUE, got {', '.join(malformed)}")
    return dict(pair.split("=", 1) for pair in pairs)


def _show_progress_logs() -> None:
    """Send the pipeline's progress (which chapter runs, and why) to stderr."""
    logger = logging.getLogger("advrobust.pipeline")
    logger.setLevel(logging.INFO)
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("[pipeline] %(message)s"))
        logger.addHandler(handler)
