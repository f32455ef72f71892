"""Benchmark: how far ``plan --estimate`` is from the training time a run really took.

For every image training unit of the plan at ``--profile`` whose run is in the checkpoint cache,
the projection of :func:`advrobust.jobs.estimate.estimate` (the trainer timed for a few steps on
random inputs, times the run's images) beside the seconds the run recorded in its ``last.pt``
(the sum of its epochs' ``seconds``, everything inside the training loop counted). A ratio above 1
means the run took longer than projected: data augmentation and per-epoch bookkeeping the probe
does not repeat, or another job sharing the machine while the run trained (the history cannot
tell). The summary gives the median ratio and the ratio of the totals.

    ADVROBUST_DATA=/path/to/data .venv/bin/python benchmarks/bench_estimate.py --profile quick \\
        --device cpu --out benchmarks/results_estimate_cpu.md
"""
from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from advrobust.jobs import Plan
from advrobust.jobs.estimate import estimate
from advrobust.pipeline.plan import book_plan
from advrobust.runtime import cache_root, device_name, resolve_device
from advrobust.training.checkpoint import load_checkpoint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", type=Path, help="also write the table as markdown")
    args = parser.parse_args()
    device = resolve_device(args.device)
    trained = [unit for unit in book_plan(args.profile).plan.units
               if unit.work is not None and unit.work.what == "images" and (cache_root() / unit.name / "last.pt").exists()]
    projected = {p.unit: p for p in estimate(Plan.of(trained), device)}
    rows = []
    for unit in trained:
        recorded = sum(load_checkpoint(cache_root() / unit.name / "last.pt")["history"]["seconds"])
        seconds = (projected[unit.name].hours or 0.0) * 3600
        rows.append({"chapter": unit.chapter, "unit": unit.name, "projected_s": seconds, "recorded_s": recorded,
                     "recorded_vs_projected": recorded / seconds})
    frame = pd.DataFrame(rows)
    summary = (f"{len(frame)} cached runs at {args.profile} on {device_name(device)}: median ratio "
               f"{frame['recorded_vs_projected'].median():.2f}, totals {frame['recorded_s'].sum():.0f} s recorded "
               f"against {frame['projected_s'].sum():.0f} s projected "
               f"({frame['recorded_s'].sum() / frame['projected_s'].sum():.2f}).")
    print(frame.to_markdown(index=False, floatfmt=".3g"))
    print(summary)
    if args.out:
        args.out.write_text(f"{summary}\n\n{frame.to_markdown(index=False, floatfmt='.3g')}\n")


if __name__ == "__main__":
    main()
