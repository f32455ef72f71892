"""One registry for models, datasets, attacks and defenses (timm-style).

>>> @register("model", "cw_mnist")
... def cw_mnist(**kw): ...
>>> create("model", "cw_mnist")           # doctest: +SKIP
>>> available("model")                     # doctest: +SKIP

Unknown names raise :class:`~advrobust.errors.ConfigError` listing the valid ones.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from .errors import ConfigError

KINDS = ("model", "dataset", "attack", "blackbox", "defense")
_REGISTRY: dict[str, dict[str, Callable[..., Any]]] = {kind: {} for kind in KINDS}

F = TypeVar("F", bound=Callable[..., Any])


def register(kind: str, name: str | None = None) -> Callable[[F], F]:
    """Decorator registering a factory (function or class) under ``kind``/``name``."""
    table = _table(kind)

    def decorate(factory: F) -> F:
        key = name or factory.__name__.lower()
        if key in table and table[key] is not factory:
            raise ValueError(f"{kind} {key!r} is registered twice")
        table[key] = factory
        return factory

    return decorate


def lookup(kind: str, name: str) -> Callable[..., Any]:
    """The factory registered as ``kind``/``name``."""
    table = _table(kind)
    if name not in table:
        raise ConfigError(
            f"unknown {kind} {name!r}; available: {', '.join(sorted(table)) or '(none)'}"
        )
    return table[name]


def create(kind: str, name: str, **kwargs: Any) -> Any:
    """Build ``kind``/``name`` with ``kwargs``; ``None`` values are dropped (factory defaults apply)."""
    return lookup(kind, name)(**{k: v for k, v in kwargs.items() if v is not None})


def available(kind: str) -> list[str]:
    """Sorted names registered under ``kind``."""
    return sorted(_table(kind))


def _table(kind: str) -> dict[str, Callable[..., Any]]:
    if kind not in _REGISTRY:
        raise ConfigError(f"unknown registry kind {kind!r}; available: {', '.join(KINDS)}")
    return _REGISTRY[kind]
