"""The job graph: units deduplicated across chapters and ordered so that needs come first.

Chapters share models through the cache (Chapter 6 attacks Chapter 4's adversarially trained
network), so the same unit may be listed by several chapters; the plan keeps it once. The graph
is printed by ``python -m advrobust.pipeline plan --profile P``.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from .unit import Resources, Unit


@dataclass(frozen=True)
class Plan:
    """Units in an order where every unit comes after the units it needs."""

    units: tuple[Unit, ...]

    @classmethod
    def of(cls, units: Iterable[Unit]) -> Plan:
        """The plan of ``units``: one unit per name (a name listed twice must name the same
        products), ordered by needs; a need outside the plan or a cycle is a ConfigError."""
        by_name: dict[str, Unit] = {}
        for unit in units:
            known = by_name.setdefault(unit.name, unit)
            if known.products != unit.products or known.needs != unit.needs:
                raise ConfigError(f"two different units are named {unit.name!r} ({known.chapter}, {unit.chapter})")
        for unit in by_name.values():
            missing = [need for need in unit.needs if need not in by_name]
            if missing:
                raise ConfigError(f"unit {unit.name!r} needs {', '.join(missing)}, which no chapter lists")
        return cls(tuple(_ordered(by_name)))

    def __len__(self) -> int:
        return len(self.units)

    def unit(self, name: str) -> Unit:
        """The unit called ``name``."""
        for unit in self.units:
            if unit.name == name:
                return unit
        raise ConfigError(f"no unit {name!r} in the plan")

    def pending(self, cache_dir: Path | str | None = None) -> list[Unit]:
        """The units whose products are not all cached yet, in plan order."""
        return [unit for unit in self.units if not unit.done(cache_dir)]

    def depth(self) -> dict[str, int]:
        """Each unit's position in its longest chain of needs (0: needs nothing)."""
        depth: dict[str, int] = {}
        for unit in self.units:
            depth[unit.name] = 1 + max((depth[need] for need in unit.needs), default=-1)
        return depth

    def describe(self, resources: Mapping[str, Resources], cache_dir: Path | str | None = None) -> str:
        """The graph as text: one line per unit, grouped by chapter, with its kind, the resources
        it asks for, whether it is cached, and the units it needs."""
        longest = 1 + max(self.depth().values(), default=-1)
        lines = [f"{len(self.units)} units, {len(self.pending(cache_dir))} to run; longest chain {longest} units"]
        for chapter in dict.fromkeys(unit.chapter for unit in self.units):
            lines.append(f"\n{chapter}")
            for unit in (u for u in self.units if u.chapter == chapter):
                ask = resources[unit.kind]
                state = "cached" if unit.done(cache_dir) else "to run"
                needs = f" <- {', '.join(unit.needs)}" if unit.needs else ""
                lines.append(f"  [{state}] {unit.kind} {unit.name} "
                             f"({ask.gpus} GPU, {ask.cpus} CPU, {ask.minutes} min){needs}")
        return "\n".join(lines)


def _ordered(units: Mapping[str, Unit]) -> list[Unit]:
    """``units`` in an order where needs come first (depth-first; a cycle is a ConfigError)."""
    order: list[Unit] = []
    state: dict[str, str] = {}

    def visit(name: str, path: tuple[str, ...]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            raise ConfigError(f"units need each other in a cycle: {' -> '.join((*path, name))}")
        state[name] = "visiting"
        for need in units[name].needs:
            visit(need, (*path, name))
        state[name] = "done"
        order.append(units[name])

    for name in units:
        visit(name, ())
    return order
