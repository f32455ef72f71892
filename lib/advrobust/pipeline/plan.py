"""The book's job plan: every chapter's units at a profile, printed, estimated or run.

Every module of :mod:`advrobust.experiments` that defines ``units(profile, seed)`` contributes its
units (a new chapter's module is found without changes here); the plan keeps each unit once and
orders them by needs (:class:`advrobust.jobs.Plan`). A module whose settings cannot be made where
the plan is made (e.g. Chapter 5 below ``paper`` without CIFAR-10) is reported with its one-line
reason, and the others are planned.

``python -m advrobust.pipeline plan --profile paper [--estimate]`` prints the graph (and the
projected device-hours); ``--run --executor local|slurm --jobs N`` runs it (``make reproduce``).
"""
from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from .. import experiments
from ..errors import AdvRobustError
from ..jobs import Plan, Unit
from ..jobs.estimate import Projection, estimate, longest_chain


@dataclass(frozen=True)
class BookPlan:
    """The plan of every chapter, and the modules that could not be planned here."""

    plan: Plan
    unplanned: dict[str, str]  # experiments module -> why its units could not be listed


def unit_lists() -> dict[str, Callable[[str, int], list[Unit]]]:
    """Each experiments module's ``units`` function, by module name."""
    found = {}
    for module_info in pkgutil.iter_modules(experiments.__path__):
        module = importlib.import_module(f"{experiments.__name__}.{module_info.name}")
        if callable(getattr(module, "units", None)):
            found[module_info.name] = module.units
    return found


def book_plan(profile: str, seed: int = 0) -> BookPlan:
    """The plan of every chapter's units at ``profile`` (module docstring)."""
    units: list[Unit] = []
    unplanned = {}
    for name, listed in unit_lists().items():
        try:
            units += listed(profile, seed)
        except AdvRobustError as error:
            unplanned[name] = str(error)
    return BookPlan(Plan.of(units), unplanned)


def estimate_report(plan: Plan, device: torch.device, progress: Callable[[str], None] | None = None) -> str:
    """The projected device-hours of ``plan`` on ``device``: per chapter and in all, what
    dominates, and the longest chain of needs (what any number of devices still waits for)."""
    projections = estimate(plan, device, progress)
    by_chapter: dict[str, float] = {}
    for projection in projections:
        by_chapter[projection.chapter] = by_chapter.get(projection.chapter, 0.0) + (projection.hours or 0.0)
    total = sum(by_chapter.values())
    chain_hours, chain = longest_chain(plan, projections)
    measured = [p for p in projections if p.hours is not None]
    heading = (f"Projected on {device} (measured now; data loading and attack arithmetic beside the queries "
               "are not in the timings):")
    lines = [heading]
    lines += [f"  {chapter:<28} {duration(hours):>10}" for chapter, hours in sorted(by_chapter.items())]
    lines.append(f"  {'total':<28} {duration(total):>10}  (the goal: 24 h on one H200; this is {total / 24:.2g}x that)")
    lines.append(f"  longest chain: {duration(chain_hours)} over {len(chain)} units ({' -> '.join(chain)})")
    lines += [f"  largest: {line}" for line in _largest(measured, total)]
    missing = [p.unit for p in projections if p.hours is None]
    if missing:
        lines.append(f"  not estimated ({len(missing)} units without a probe): {', '.join(missing)}")
    return "\n".join(lines)


def duration(hours: float) -> str:
    """``hours`` for people: minutes below an hour, else hours with one decimal."""
    return f"{hours * 60:.0f} min" if hours < 1 else f"{hours:.1f} h"


def _largest(projections: Sequence[Projection], total: float, count: int = 5) -> list[str]:
    top = sorted(projections, key=lambda p: p.hours or 0.0, reverse=True)[:count]
    return [f"{p.unit} ({p.chapter}): {duration(p.hours or 0.0)}, {(p.hours or 0.0) / max(total, 1e-12):.0%} of "
            f"the total, at {p.rate:,.0f} {p.what}/s" for p in top]
