"""Data-parallel training of one cached run on several GPUs, under ``torchrun``.

    torchrun --nproc_per_node=4 -m advrobust.training.distributed RUN.json [--cache-dir DIR]
             [--data-root DIR] [--device auto|cuda|cpu]

``RUN.json`` describes the run as a run directory's ``config.json`` does
(:func:`~advrobust.training.run_file.describe_run`: the TrainConfig fields, ``"defense"`` and
``"start_from"``). Every process calls :func:`~advrobust.training.cache.trained_model` on the
GPU of its local rank; the trainer shares each global batch among them (:mod:`.shard`) and rank 0
writes ``last.pt`` and ``final.pt`` into the very run directory a single process would use, so
the pipeline afterwards finds the run cached. An interrupted launch resumes from ``last.pt`` on
any number of GPUs, or in one process. Under Slurm, ``srun`` starts one ``torchrun`` per node
(``--nnodes``, ``--rdzv-endpoint``); the cache directory must then be shared by the nodes.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import AdvRobustError, ConfigError
from .cache import trained_model
from .run_file import read_run
from .shard import process_group


def train_distributed(
    described: dict[str, Any],
    cache_dir: Path | str | None = None,
    data_root: Path | str | None = None,
    device: str = "auto",
) -> None:
    """Train the run ``described`` (:func:`read_run`) in this process's share of a torchrun
    launch, into its run directory under ``cache_dir``, unless it is cached already."""
    config, defense, start_from = read_run(described)
    with process_group(device) as chosen:
        trained_model(config, chosen, cache_dir, data_root, defense=defense, start_from=start_from)


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; a user error prints ``error: <message>`` and returns 2."""
    parser = argparse.ArgumentParser(prog="torchrun --nproc_per_node=N -m advrobust.training.distributed",
                                     description="Train one cached run on several GPUs.")
    parser.add_argument("run", type=Path, help="the run's JSON, as a run directory's config.json")
    parser.add_argument("--cache-dir", type=Path, help="the checkpoint cache (default: $ADVROBUST_CACHE)")
    parser.add_argument("--data-root", type=Path, help="the datasets (default: $ADVROBUST_DATA)")
    parser.add_argument("--device", choices=("auto", "cuda", "cpu"), default="auto",
                        help="GPUs over NCCL, or CPU processes over gloo (default: GPUs when present)")
    args = parser.parse_args(argv)
    try:
        try:
            described = json.loads(args.run.read_text())
        except (OSError, ValueError) as error:
            raise ConfigError(f"cannot read the run description {args.run}: {error}") from None
        train_distributed(described, args.cache_dir, args.data_root, args.device)
    except AdvRobustError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
