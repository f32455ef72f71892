"""Table 5.5: training time of every method for the same epochs, measured in one run.

The thesis times 10 epochs of each method on a GTX 1080. Seconds depend on the machine, so the
table's comparable number is the ratio to natural training measured in the same process, one
method after another on the same images; absolute seconds are shown only with the device that
produced them.
"""
from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace

import pandas as pd
import torch

from ..defenses import Defense
from ..runtime import device_name, seed_everything
from ..tables import thesis_table
from ..training import TrainConfig, load_training_split, train

DECIMALS = 2


def training_seconds(config: TrainConfig, defenses: Mapping[str, Defense], device: torch.device,
                     images: int, epochs: int) -> dict[str, float]:
    """Wall-clock seconds of ``epochs`` epochs on ``images`` training images for each of
    ``defenses`` (name -> defense), each from the same fresh random initialisation, without
    checkpoints or progress bars. One untimed warm-up step runs first."""
    timed = replace(config, epochs=epochs, train_subset=images)
    x, y = load_training_split(timed, None, device)
    warm_up = replace(timed, epochs=1, train_subset=timed.batch_size)
    train(config.build_model(), x[: timed.batch_size], y[: timed.batch_size], warm_up, device, progress=False)
    seconds = {}
    for name, defense in defenses.items():
        seed_everything(config.seed)
        model = config.build_model()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        started = time.perf_counter()
        train(model, x, y, timed, device, defense=defense, progress=False)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        seconds[name] = time.perf_counter() - started
    return seconds


def table_5_5(seconds: Mapping[str, float], device: torch.device, profile: str, images: int,
              epochs: int) -> pd.DataFrame:
    """Table 5.5: our seconds (with the device) and ratio to natural training beside the thesis's
    VGG-16 seconds and ratios (GTX 1080, 10 epochs of CIFAR-10)."""
    thesis = thesis_table("table_5_5").set_index("method")["vgg16"]
    ours = pd.Series(seconds)
    table = pd.DataFrame({
        ("seconds", "thesis (GTX 1080, 10 epochs of 50,000)"): thesis,
        ("seconds", f"ours ({profile}: {device_name(device)}, {epochs} epochs of {images:,})"): ours,
        ("ratio to Natural", "thesis"): thesis / thesis["Natural"],
        ("ratio to Natural", f"ours ({profile})"): ours / ours["Natural"],
    })
    return table.reindex(list(dict.fromkeys([*thesis.index, *ours.index]))).round(DECIMALS)
