"""A training run as JSON: its config, its defense and the run it starts from.

:func:`~advrobust.training.cache.trained_model` writes :func:`describe_run` as the run directory's
``config.json``; :func:`read_run` turns such a description back into the run, for the ``torchrun``
entry point (:mod:`advrobust.training.distributed`) and for a job that trains one run elsewhere.
"""
from __future__ import annotations

from dataclasses import fields
from typing import Any

from ..defenses import Defense, Natural, create_defense
from ..errors import require
from .config import TrainConfig
from .loop import StartFrom


def describe_run(
    config: TrainConfig, defense: Defense | None = None, start_from: StartFrom | None = None
) -> dict[str, Any]:
    """The config's fields, with ``"defense"`` (its name and settings) when one is given and
    ``"start_from"`` (the starting run's fields and defense) when the run starts from another."""
    described = config.to_dict()
    if defense is not None:
        described["defense"] = defense.to_dict()
    if start_from is not None:
        described["start_from"] = {**start_from.config.to_dict(),
                                   "defense": (start_from.defense or Natural()).to_dict()}
    return described


def read_run(described: dict[str, Any]) -> tuple[TrainConfig, Defense | None, StartFrom | None]:
    """The config, defense and starting run of a :func:`describe_run` description."""
    settings = dict(described)
    defense = settings.pop("defense", None)
    start = settings.pop("start_from", None)
    known = {field.name for field in fields(TrainConfig)}
    require(isinstance(defense, dict | None) and isinstance(start, dict | None) and set(settings) <= known,
            f"a run description holds TrainConfig fields, 'defense' and 'start_from'; "
            f"unknown: {', '.join(sorted(set(settings) - known)) or 'a malformed defense or start_from'}")
    start_from = None
    if start is not None:
        start_config, start_defense, _ = read_run(start)
        start_from = StartFrom(start_config, start_defense)
    return TrainConfig(**settings), _defense(defense), start_from


def _defense(described: dict[str, Any] | None) -> Defense | None:
    """The defense of a :meth:`Defense.to_dict` description (JSON lists back to tuples)."""
    if described is None:
        return None
    name = described.get("defense")
    require(isinstance(name, str), "a defense description needs its registry name under 'defense'")
    settings = {key: tuple(value) if isinstance(value, list) else value
                for key, value in described.items() if key != "defense"}
    return create_defense(str(name), **settings)
