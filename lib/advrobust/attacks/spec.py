"""An attack and its settings, named in a profile and built on a model in a chapter.

``AttackSpec(PGD, eps=0.3, alpha=0.01, steps=40)`` is the typed link from a profile's settings to
the attack a page runs: ``spec.build(model)`` is ``PGD(model, eps=0.3, ...)``, for white-box
attacks, black-box attacks (their ``budget`` goes to the oracle) and AutoAttack alike. The
settings are checked against the attack's constructor when the spec is made, so a typo in a
profile fails at import with one line, not deep inside a chapter. It is the one way chapters
start an attack.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Generic, TypeVar

from ..errors import ConfigError

AttackT = TypeVar("AttackT", covariant=True)


class AttackSpec(Generic[AttackT]):
    """``attack`` (a class whose first argument is the model) with keyword ``settings``.

    Args:
        attack: the attack class, e.g. :class:`~advrobust.attacks.PGD` or
            :class:`~advrobust.blackbox.SignOPT`; its ``name`` is the registry name.
        settings: its keyword arguments besides the model (thesis defaults for the rest).
    """

    __slots__ = ("attack", "settings")

    def __init__(self, attack: Callable[..., AttackT], /, **settings: Any) -> None:
        try:
            inspect.signature(attack).bind(None, **settings)
        except TypeError as error:
            raise ConfigError(f"{getattr(attack, '__name__', attack)}: {error}") from None
        self.attack = attack
        self.settings: Mapping[str, Any] = MappingProxyType(dict(settings))

    @property
    def name(self) -> str:
        """The attack's registry name (``"pgd"``, ``"sign_opt"``, ...), used in cache keys."""
        return str(getattr(self.attack, "name"))

    def build(self, model: Any) -> AttackT:
        """The attack on ``model`` (a torch module, or a score function for black-box attacks)."""
        return self.attack(model, **self.settings)

    def replace(self, **settings: Any) -> AttackSpec[AttackT]:
        """The same attack with some settings changed (or added)."""
        return AttackSpec(self.attack, **{**self.settings, **settings})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AttackSpec) and (self.attack, dict(self.settings)) == (
            other.attack, dict(other.settings))

    def __hash__(self) -> int:
        return hash((self.attack, tuple(sorted(self.settings.items()))))

    def __repr__(self) -> str:
        shown = ", ".join(f"{key}={value!r}" for key, value in self.settings.items())
        return f"AttackSpec({getattr(self.attack, '__name__', self.attack)}{', ' if shown else ''}{shown})"
