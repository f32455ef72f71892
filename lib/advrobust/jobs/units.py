"""Units for the book's cached products, built from the same settings the chapters use.

Two shapes of unit cover every expensive step of the book:

- :func:`trained_run`: a trainer's run directory (image, text, dialogue, self-play, GBDT), whose
  product, ``final.pt`` or the trainer's own final file, is named before it runs;
  :func:`image_training` is the image trainer's (:func:`advrobust.training.trained_model`).
- :func:`stage`: a step whose products are named only once it has run. A black-box attack run's
  cache file hashes the attacked images, which are the images the trained model classifies
  correctly; Chapter 3's text and dialogue runs are named by vocabulary sizes that the data decide.
  The unit's product is then a marker file, ``stages/<name>.done``, written when the step returns.
  Its name holds a hash of the step's settings and of the source of the code it runs, so changed
  settings or a changed attack make a new unit rather than trusting an old marker; a marker is not
  checked against the files the step wrote (deleting those makes the page compute them again).

Each chapter's experiments module lists its units in ``units(profile, seed)``; the book's plan is
the union (:func:`advrobust.pipeline.plan.book_plan`).
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import torch

from ..defenses import Defense
from ..runtime import cache_root, source_hash
from ..training import ModelRun, TrainConfig, trained_model
from ..training.cache import FINAL_WEIGHTS, run_directory
from ..training.checkpoint import save_atomic
from ..training.loop import StartFrom
from ..training.run_file import describe_run
from .estimate import image_training_work
from .unit import Unit, Work

STAGES = "stages"  # the cache folder of the stage markers
Run = Callable[[torch.device], object]


def trained_run(directory: Path, kind: str, chapter: str, run: Run, needs: Sequence[str | Unit] = (),
                final: str = FINAL_WEIGHTS, work: Work | None = None) -> Unit:
    """The unit of one trainer run: named by its run ``directory`` (as the trainer's cache names
    it), done when ``directory/final`` exists, made by ``run`` (the very call a chapter makes)."""
    return Unit(directory.name, kind, chapter, (f"{directory.name}/{final}",), run, _names(needs), work)


def image_training(config: TrainConfig, defense: Defense | None = None, start_from: StartFrom | None = None,
                   chapter: str = "") -> Unit:
    """The unit that trains ``config`` with ``defense`` from ``start_from``'s weights (see
    :func:`~advrobust.training.trained_model`); it needs the unit of the starting run."""
    needs = () if start_from is None else (image_training(start_from.config, start_from.defense).name,)
    unit = trained_run(run_directory(config, None, defense, start_from), "train", chapter,
                       functools.partial(_train_image_model, config, defense, start_from), needs,
                       work=image_training_work(config, defense))
    return dataclasses.replace(unit, distributed=functools.partial(_train_under_torchrun, config, defense, start_from))


def image_trainings(runs: Iterable[ModelRun | tuple[TrainConfig, Defense | None]], chapter: str) -> list[Unit]:
    """:func:`image_training` of each run (a :class:`~advrobust.training.ModelRun` or a (config,
    defense) pair), each preceded by the units of the runs it starts from."""
    units = []
    for run in (ModelRun(*fields) for fields in runs):
        if run.start_from is not None:
            units += image_trainings([ModelRun(run.start_from.config, run.start_from.defense)], chapter)
        units.append(image_training(*run, chapter=chapter))
    return units


def stage(name: str, kind: str, chapter: str, run: Run, settings: object, needs: Sequence[str | Unit] = (),
          code: Sequence[ModuleType] = (), work: Work | None = None) -> Unit:
    """The unit of a step whose products are named only once it runs (module docstring): ``run``
    fills the cache, then the marker ``stages/<name>-<key>.done`` is written, ``key`` hashing
    ``repr(settings)`` (frozen settings dataclasses print every field) and the source files of the
    packages of ``code``."""
    digest = hashlib.sha256(repr(settings).encode())
    for module in code:
        digest.update(source_hash(Path(module.__file__ or "").parent).encode())
    full_name = f"{chapter}-{name}-{digest.hexdigest()[:12]}"
    marker = f"{STAGES}/{full_name}.done"
    return Unit(full_name, kind, chapter, (marker,), _Marked(run, marker), _names(needs), work)


def _names(needs: Sequence[str | Unit]) -> tuple[str, ...]:
    return tuple(need if isinstance(need, str) else need.name for need in needs)


@dataclass(frozen=True)
class _Marked:
    """``run``, then the marker file (a stage's product) under the cache root."""

    run: Run
    marker: str

    def __call__(self, device: torch.device) -> None:
        self.run(device)
        path = cache_root() / self.marker
        path.parent.mkdir(parents=True, exist_ok=True)
        save_atomic({"done": True}, path)


def _train_under_torchrun(config: TrainConfig, defense: Defense | None, start_from: StartFrom | None,
                          processes: int) -> None:
    """Train the run in ``processes`` processes under torchrun (:mod:`advrobust.training.distributed`:
    one per GPU, or gloo CPU processes without GPUs) into the same run directory."""
    with tempfile.TemporaryDirectory() as scratch:
        described = Path(scratch) / "run.json"
        described.write_text(json.dumps(describe_run(config, defense, start_from)))
        launch = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}",
                  "-m", "advrobust.training.distributed", str(described), "--cache-dir", str(cache_root())]
        finished = subprocess.run(launch, capture_output=True, text=True, check=False)
    if finished.returncode != 0:  # a rank's own "error: ..." line, else torchrun's last words
        lines = [line.strip() for line in (finished.stderr + finished.stdout).splitlines() if line.strip()]
        said = [line for line in lines if line.startswith("error: ")] or lines or ["no output"]
        raise RuntimeError(f"torchrun exited with {finished.returncode}: {said[-1]}")


def _train_image_model(config: TrainConfig, defense: Defense | None, start_from: StartFrom | None,
                       device: torch.device) -> None:
    trained_model(config, device, defense=defense, start_from=start_from)
