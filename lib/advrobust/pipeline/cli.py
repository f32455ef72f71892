"""``python -m advrobust.pipeline run|build|status``: the commands behind ``make book``."""
from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from .book import build_book
from .execute import run_chapters
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
    else:
        print(f"status page written: {write_status(args.root)}")
        print(f"scorecard written: {write_scorecard(args.root)}")
    return 0


def _show_progress_logs() -> None:
    """Send the pipeline's progress (which chapter runs, and why) to stderr."""
    logger = logging.getLogger("advrobust.pipeline")
    logger.setLevel(logging.INFO)
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("[pipeline] %(message)s"))
        logger.addHandler(handler)
