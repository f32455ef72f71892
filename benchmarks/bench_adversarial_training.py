"""Benchmark: one epoch of our PGD adversarial training against the textbook PyTorch loop.

The training of thesis Eq. (4.1) (Madry et al.'s PGD-AT, the fourth row of Table 5.1) and of
natural training (its first row), each run two ways on the same data, from the same initial
weights, with the same optimizer, batch size and number of steps:

* ours: :func:`advrobust.training.train` with ``defenses.PGDAT(eps, alpha, steps)`` (resp.
  ``defenses.Natural()``): data kept on the device, a fresh permutation indexed per batch, the
  inner maximisation by :func:`advrobust.defenses.inner.linf_ascent`, channels-last weights on
  CUDA (and for the C&W nets on the CPU), bfloat16 autocast on CUDA;
* reference: the textbook loop, a ``torch.utils.data.DataLoader`` over a ``TensorDataset``
  (``shuffle=True``, ``drop_last=True`` so both loops take the same steps, batches moved to the
  device one by one), ``torchattacks.PGD(model, eps, alpha, steps, random_start=True)`` on each
  batch (resp. the clean batch), then an SGD step on the cross-entropy, ``loss.item()`` per step.

Each loop first trains a throw-away model on ``--warmup`` batches (kernel selection, allocator),
then a fresh model for ``--epochs`` epochs of ``--n`` training images. The runs are interleaved
(ours PGD-AT, reference PGD-AT, ours natural, reference natural) and repeated ``--repeats``
times; each loop keeps its best time, so a job running next to the benchmark harms both alike.

Columns: ``pgd_at_images_per_s`` and ``natural_images_per_s`` (training images per second of
wall clock, everything inside the training call counted), ``*_vs_reference`` (that over the
reference's), and, to show the two loops do the same work, the last epoch's mean training
``*_loss`` and ``*_accuracy`` on the batches trained on (adversarial ones for PGD-AT).

    ADVROBUST_DATA=/path/to/data .venv/bin/python benchmarks/bench_adversarial_training.py \\
        --n 3000 --device cpu --out results_adversarial_training_cpu.md
"""
from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F
import torchattacks
from advrobust.data import load_dataset
from advrobust.defenses import PGDAT, Defense, Natural
from advrobust.models import create_model
from advrobust.runtime import device_name, resolve_device, seed_everything
from advrobust.training import TrainConfig, train
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

OURS = "advrobust train"
REFERENCE = "DataLoader + torchattacks.PGD"
CPU_TARGET = 1.0  # target: PGD-AT no slower than the reference on the CPU
GPU_TARGET = 3.0  # target: PGD-AT at least 3x the reference's throughput on a GPU


@dataclass(frozen=True)
class PGDSettings:
    """The inner maximisation of PGD-AT: L∞ radius, step size and number of steps."""

    eps: float
    alpha: float
    steps: int


@dataclass(frozen=True)
class EpochRun:
    """One timed training run: its images, wall-clock seconds and last-epoch loss and accuracy."""

    images: int
    seconds: float
    loss: float
    accuracy: float

    @property
    def images_per_second(self) -> float:
        return self.images / self.seconds


# (config, x, y, device, pgd or None for natural training) -> EpochRun
Runner = Callable[[TrainConfig, Tensor, Tensor, torch.device, PGDSettings | None], EpochRun]


def fresh_model(config: TrainConfig) -> nn.Module:
    """``config.model`` with the initial weights of ``config.seed`` (identical for both loops)."""
    seed_everything(config.seed)
    return create_model(config.model)


def trained_images(config: TrainConfig, n: int) -> int:
    """Images the training steps see: whole batches only (both loops drop the last partial one)."""
    return config.epochs * max(1, n // config.batch_size) * config.batch_size


def run_ours(config: TrainConfig, x: Tensor, y: Tensor, device: torch.device,
             pgd: PGDSettings | None) -> EpochRun:
    """:func:`advrobust.training.train` with PGD-AT (``pgd``) or natural training (None)."""
    defense: Defense = Natural() if pgd is None else PGDAT(eps=pgd.eps, alpha=pgd.alpha, steps=pgd.steps)
    model = fresh_model(config)
    start = time.perf_counter()
    history = train(model, x, y, config, device, defense=defense, progress=False)
    seconds = time.perf_counter() - start
    return EpochRun(trained_images(config, len(x)), seconds, history["loss"][-1], history["accuracy"][-1])


def run_reference(config: TrainConfig, x: Tensor, y: Tensor, device: torch.device,
                  pgd: PGDSettings | None) -> EpochRun:
    """The textbook loop: DataLoader, torchattacks.PGD per batch (``pgd``; None: clean batches),
    SGD step on the cross-entropy."""
    model = fresh_model(config)
    start = time.perf_counter()
    model = model.to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                                nesterov=config.nesterov, weight_decay=config.weight_decay)
    attack = None if pgd is None else torchattacks.PGD(model, eps=pgd.eps, alpha=pgd.alpha,
                                                       steps=pgd.steps, random_start=True)
    loader = DataLoader(TensorDataset(x, y), batch_size=config.batch_size, shuffle=True, drop_last=True)
    model.train()
    for _ in range(config.epochs):
        loss_sum, correct, seen = 0.0, 0, 0
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            if attack is not None:
                xb = attack(xb, yb)  # runs the model in eval mode, restores train mode
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(yb)
            correct += int((logits.argmax(1) == yb).sum())
            seen += len(yb)
    seconds = time.perf_counter() - start
    return EpochRun(trained_images(config, len(x)), seconds, loss_sum / seen, correct / seen)


RUNNERS: dict[str, Runner] = {OURS: run_ours, REFERENCE: run_reference}


def measure(config: TrainConfig, x: Tensor, y: Tensor, device: torch.device, pgd: PGDSettings,
            warmup_batches: int, repeats: int) -> dict[tuple[str, str], EpochRun]:
    """The best of ``repeats`` interleaved runs per (loop, "pgd_at" | "natural"), after a warm-up."""
    warm = min(len(x), warmup_batches * config.batch_size)
    warm_config = replace(config, epochs=1)
    for runner in RUNNERS.values():
        for settings in (pgd, None):
            runner(warm_config, x[:warm], y[:warm], device, settings)
    best: dict[tuple[str, str], EpochRun] = {}
    for _ in range(repeats):
        for training, settings in (("pgd_at", pgd), ("natural", None)):
            for loop, runner in RUNNERS.items():
                run = runner(config, x, y, device, settings)
                if (loop, training) not in best or run.seconds < best[loop, training].seconds:
                    best[loop, training] = run
    return best


def table(best: dict[tuple[str, str], EpochRun]) -> pd.DataFrame:
    """One row per loop (see the module docstring for the columns)."""
    rows = []
    for loop in RUNNERS:
        row: dict[str, object] = {"loop": loop}
        for training in ("pgd_at", "natural"):
            run, reference = best[loop, training], best[REFERENCE, training]
            row[f"{training}_images_per_s"] = run.images_per_second
            row[f"{training}_vs_reference"] = run.images_per_second / reference.images_per_second
        for training in ("pgd_at", "natural"):
            row[f"{training}_loss"] = best[loop, training].loss
            row[f"{training}_accuracy"] = best[loop, training].accuracy
        rows.append(row)
    return pd.DataFrame(rows).set_index("loop")


def target_report(frame: pd.DataFrame, device: torch.device) -> list[str]:
    """The throughput target for PGD-AT on this device, with its numbers and verdict."""
    target = GPU_TARGET if device.type == "cuda" else CPU_TARGET
    ours, reference = frame.loc[OURS], frame.loc[REFERENCE]
    ratio = ours.pgd_at_vs_reference
    verdict = "met" if ratio >= target else "NOT met"
    return [
        f"PGD-AT images/s ours / reference = {ours.pgd_at_images_per_s:.0f} / "
        + f"{reference.pgd_at_images_per_s:.0f} = {ratio:.2f}x (target >= {target:g}x on "
        + f"{'a GPU' if device.type == 'cuda' else 'the CPU'}): {verdict}",
        f"natural images/s ours / reference = {ours.natural_images_per_s:.0f} / "
        + f"{reference.natural_images_per_s:.0f} = {ours.natural_vs_reference:.2f}x",
    ]


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="cw_mnist", help="registered model (default cw_mnist)")
    parser.add_argument("--dataset", default="mnist", help="training set (default mnist)")
    parser.add_argument("--n", type=int, default=10000, help="training images (default 10000)")
    parser.add_argument("--steps", type=int, default=10, help="PGD steps (default 10)")
    parser.add_argument("--eps", type=float, default=0.3, help="L-inf radius (default 0.3, MNIST)")
    parser.add_argument("--alpha", type=float, default=0.01, help="PGD step size (default 0.01)")
    parser.add_argument("--batch-size", type=int, default=128, help="default 128")
    parser.add_argument("--epochs", type=int, default=1, help="epochs per timed run (default 1)")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda (default auto)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up batches per loop (default 3)")
    parser.add_argument("--repeats", type=int, default=2, help="timed runs per loop, best kept (default 2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-root", default=os.environ.get("ADVROBUST_DATA"), help="dataset directory")
    parser.add_argument("--out", type=Path, help="also write the table (.csv, else markdown)")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    config = TrainConfig(model=args.model, dataset=args.dataset, epochs=args.epochs,
                         batch_size=args.batch_size, seed=args.seed)
    data = load_dataset(args.dataset, "train", root=args.data_root, device="cpu").subset(args.n, args.seed)
    pgd = PGDSettings(eps=args.eps, alpha=args.alpha, steps=args.steps)
    best = measure(config, data.x, data.y, device, pgd, args.warmup, args.repeats)

    frame = table(best)
    header = (f"{args.model} on {len(data.y)} {args.dataset} training images, {args.epochs} epoch(s), "
              f"batch {args.batch_size}, SGD lr {config.lr} momentum {config.momentum}; PGD-{args.steps} "
              f"eps {args.eps:g} alpha {args.alpha:g}; {device_name(device)}, {args.threads} threads; "
              f"best of {args.repeats}")
    print(header + "\n")
    print(frame.to_markdown(floatfmt=".4g"))
    for line in target_report(frame, device):
        print(line)
    if args.out is not None:
        if args.out.suffix == ".csv":
            frame.to_csv(args.out)
        else:
            args.out.write_text(header + "\n\n" + frame.to_markdown(floatfmt=".4g") + "\n")
    return frame


if __name__ == "__main__":
    main()
