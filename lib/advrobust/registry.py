"""One registry for models, datasets, attacks and defenses (timm-style).

>>> @register("model", "cw_mnist", family="image_classifier")
... def cw_mnist(**kw): ...
>>> create("model", "cw_mnist")           # doctest: +SKIP
>>> available("model", family="image_classifier")   # doctest: +SKIP

Each kind lives in known packages (:data:`KIND_PACKAGES`), imported on the first look-up of that
kind, so ``create("blackbox", "sign_opt")`` works without importing the black-box package first,
and importing :mod:`advrobust` alone pulls in nothing heavy. A model also names its *family* (an
image classifier, a GBDT, a 2-D toy, and later sequence-to-sequence models and dialogue agents) so
that the contract tests pick the checks that fit it. Unknown names raise
:class:`~advrobust.errors.ConfigError` listing the valid ones.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, TypeVar

from .errors import ConfigError

# The packages whose import registers each kind.
KIND_PACKAGES: dict[str, tuple[str, ...]] = {
    "model": ("advrobust.models",),
    "dataset": ("advrobust.data",),
    "attack": ("advrobust.attacks", "advrobust.robustness"),  # AutoAttack lives with the evaluation
    "blackbox": ("advrobust.blackbox",),
    "defense": ("advrobust.defenses",),
}
KINDS = tuple(KIND_PACKAGES)
# Model families, each with its own contract (input and output shapes) in the tests.
FAMILIES = (
    "image_classifier",  # (N, C, H, W) images in [0, 1] -> (N, K) logits
    "toy",  # (N, 2) points -> (N, K) logits, the 2-D illustrations of Chapters 2 and 4
    "seq2seq",  # (B, S) source ids, (B,) lengths, (B, T) decoder-input ids -> (B, T, V) logits (§3.1)
    "language_model",  # (B, T) ids -> (B, T, V) next-token logits, Table 3.5's perplexity (§3.1.4)
    "text_classifier",  # (N, L) int64 character ids -> (N, K) logits, Table 1.1's char-CNN (Ch. 1)
    "dialogue_agent",  # (B, 6) goals, (B, T) dialogue ids -> DialogueOutput: (B, T, V) next-word and
    # (B, 6, O) selection logits; the negotiation agents of §3.2 (LYD17), read/write/choose by state
)

_REGISTRY: dict[str, dict[str, Callable[..., Any]]] = {kind: {} for kind in KINDS}
_FAMILY: dict[str, dict[str, str]] = {kind: {} for kind in KINDS}
_LOADED: set[str] = set()

F = TypeVar("F", bound=Callable[..., Any])


def register(kind: str, name: str | None = None, *, family: str | None = None) -> Callable[[F], F]:
    """Decorator registering a factory (function or class) under ``kind``/``name``.

    ``family`` is required for models (one of :data:`FAMILIES`) and unused for other kinds.
    """
    table = _table(kind, load=False)
    if kind == "model" and family not in FAMILIES:
        raise ValueError(f"model {name!r} needs a family from {FAMILIES}, got {family!r}")

    def decorate(factory: F) -> F:
        key = name or factory.__name__.lower()
        if key in table and table[key] is not factory:
            raise ValueError(f"{kind} {key!r} is registered twice")
        table[key] = factory
        if family is not None:
            _FAMILY[kind][key] = family
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


def available(kind: str, family: str | None = None) -> list[str]:
    """Sorted names registered under ``kind`` (only those of ``family`` when given)."""
    table = _table(kind)
    if family is None:
        return sorted(table)
    return sorted(name for name in table if _FAMILY[kind].get(name) == family)


def family(kind: str, name: str) -> str:
    """The family ``kind``/``name`` was registered with (models)."""
    lookup(kind, name)
    if name not in _FAMILY[kind]:
        raise ConfigError(f"{kind} {name!r} was registered without a family")
    return _FAMILY[kind][name]


def _table(kind: str, load: bool = True) -> dict[str, Callable[..., Any]]:
    if kind not in _REGISTRY:
        raise ConfigError(f"unknown registry kind {kind!r}; available: {', '.join(KINDS)}")
    if load and kind not in _LOADED:
        _LOADED.add(kind)
        for package in KIND_PACKAGES[kind]:
            importlib.import_module(package)
    return _REGISTRY[kind]
