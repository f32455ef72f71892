"""A chapter's claims, measured: each with its effect, a 95% bootstrap interval and a verdict.

A claim says that an effect exceeds a margin (usually zero): "CAT is more robust than TRADES" is
"the mean paired difference of their per-example robust correctness is > 0". Its verdict is
``holds`` when the whole interval lies above the margin, ``fails`` when it lies below, and
``inconclusive`` when it contains the margin: a reduced profile's 10-100 examples cannot tell. A
claim that the effect is *at least* the margin (``strict=False``: "no larger than", "every game")
also holds when the interval's low end touches it.
A claim made of parts (an ordering of three attacks, a trend over several steps) fails if a part
fails and holds only if every part holds (:func:`joint_claim`); the record keeps the part the
verdict rests on. The intervals come from :mod:`.bootstrap`.

Chapters write their claims through :meth:`advrobust.experiments.report.Results.claims`, which shows them on
the page and records them in ``claims.json`` (:mod:`.record`) for the scorecard.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .bootstrap import Effect, mean_effect, paired_effect, seed_effect

__all__ = ["FAILS", "HOLDS", "INCONCLUSIVE", "VERDICTS", "Claim", "Effect", "Part", "claim_lines", "joint_claim",
           "joint_verdict", "judged", "mean_effect", "paired_effect", "seed_effect", "status", "verdict"]

HOLDS, FAILS, INCONCLUSIVE = "holds", "fails", "inconclusive"
VERDICTS = (HOLDS, FAILS, INCONCLUSIVE)
ATTACKS = ("PGD", "AutoAttack")  # the attacks a robustness claim is checked under, where both exist


@dataclass(frozen=True)
class Claim:
    """One claim of the chapter, measured.

    ``effect`` (None for a claim without one, e.g. a data-absent row) is the effect the verdict
    rests on and ``margin`` what it must exceed; ``attack`` names the attack for robustness claims
    ("PGD" or "AutoAttack"); ``item`` the thesis's table or figure it checks ("Table 4.2").
    """

    claim: str
    verdict: str  # HOLDS | FAILS | INCONCLUSIVE
    measured: str  # the numbers behind it, in words
    effect: Effect | None = None
    margin: float = 0.0
    attack: str | None = None
    item: str | None = None
    strict: bool = True  # the claim: effect > margin (False: effect ≥ margin)

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")
        if self.attack is not None and self.attack not in ATTACKS:
            raise ValueError(f"attack must be one of {ATTACKS} or None, got {self.attack!r}")

    @property
    def status(self) -> str:
        """The verdict (its name before claims carried effects; Chapter 3.1's tests read it)."""
        return self.verdict

    @property
    def needs(self) -> str:
        """What the effect must exceed: "> 0", "≥ -0.02"."""
        return f"{'>' if self.strict else '≥'} {self.margin:g}"

    def interval(self) -> str:
        """"effect +0.120 [+0.050, +0.200] over 64 examples (> 0)", or "" without an effect."""
        if self.effect is None:
            return ""
        return f"effect {self.effect} ({self.needs})"

    def phrase(self) -> str:
        """The verdict as a verb phrase for running text: "holds", "fails", "is inconclusive",
        with the interval in brackets."""
        verb = "is inconclusive" if self.verdict == INCONCLUSIVE else self.verdict
        return f"{verb} ({self.interval()})" if self.effect is not None else verb

    def line(self) -> str:
        """``[verdict] claim (attack): effect ... ; measured``."""
        attack = f" ({self.attack})" if self.attack else ""
        interval = f"{self.interval()}; " if self.effect is not None else ""
        return f"[{self.verdict}] {self.claim}{attack}: {interval}{self.measured}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (:mod:`.record` writes a chapter's claims with it)."""
        return {"claim": self.claim, "verdict": self.verdict, "measured": self.measured,
                "effect": None if self.effect is None else self.effect.to_dict(), "margin": self.margin,
                "attack": self.attack, "item": self.item, "strict": self.strict}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Claim:
        """Inverse of :meth:`to_dict`."""
        effect = data.get("effect")
        return cls(str(data["claim"]), str(data["verdict"]), str(data["measured"]),
                   None if effect is None else Effect.from_dict(effect), float(data.get("margin", 0.0)),
                   data.get("attack"), data.get("item"), bool(data.get("strict", True)))


@dataclass(frozen=True)
class Part:
    """One comparison of a claim made of several: its label, effect and margin."""

    label: str
    effect: Effect
    margin: float = 0.0
    strict: bool = True

    @property
    def verdict(self) -> str:
        return verdict(self.effect, self.margin, self.strict)


def verdict(effect: Effect, margin: float = 0.0, strict: bool = True) -> str:
    """For a claim that ``effect`` exceeds ``margin`` (``strict=False``: is at least ``margin``):
    holds when its interval lies above it (may touch it, when not strict), fails when it lies
    below, inconclusive when it contains it (or there is no interval)."""
    if math.isnan(effect.low) or math.isnan(effect.high):
        return INCONCLUSIVE
    if effect.low > margin or (not strict and effect.low >= margin):
        return HOLDS
    return FAILS if effect.high < margin else INCONCLUSIVE


def status(holds: bool) -> str:
    """``"holds"`` or ``"fails"``, for a claim checked without an interval."""
    return HOLDS if holds else FAILS


def joint_verdict(verdicts: Sequence[str]) -> str:
    """The verdict of a claim made of parts: it fails if a part fails, holds if every part holds."""
    if FAILS in verdicts:
        return FAILS
    return HOLDS if verdicts and all(v == HOLDS for v in verdicts) else INCONCLUSIVE


def judged(claim: str, effect: Effect, measured: str = "", margin: float = 0.0, attack: str | None = None,
           item: str | None = None, strict: bool = True) -> Claim:
    """The claim that ``effect`` exceeds ``margin`` (is at least it, unless ``strict``), with its
    :func:`verdict`; ``measured`` defaults to the effect."""
    return Claim(claim, verdict(effect, margin, strict), measured or str(effect), effect, margin, attack, item, strict)


def joint_claim(claim: str, parts: Sequence[Part], measured: str = "", attack: str | None = None,
                item: str | None = None) -> Claim:
    """A claim made of ``parts``, with their :func:`joint_verdict`. It records the part the
    verdict rests on: the failing part furthest below its margin, else an inconclusive part, else
    the part closest to its margin. ``measured`` defaults to every part's label and effect."""
    if not parts:
        return Claim(claim, INCONCLUSIVE, measured or "nothing measured", attack=attack, item=item)
    joint = joint_verdict([part.verdict for part in parts])

    def slack(part: Part) -> float:  # how far the interval clears the margin (the low end)
        return part.effect.low - part.margin if not math.isnan(part.effect.low) else -math.inf

    if joint == FAILS:
        deciding = min((p for p in parts if p.verdict == FAILS), key=lambda p: p.effect.high - p.margin)
    elif joint == INCONCLUSIVE:
        deciding = min((p for p in parts if p.verdict == INCONCLUSIVE), key=slack)
    else:
        deciding = min(parts, key=slack)
    described = measured or "; ".join(f"{part.label} {part.effect}" for part in parts)
    if len(parts) > 1:
        described += f" (deciding: {deciding.label})"
    return Claim(claim, joint, described, deciding.effect, deciding.margin, attack, item, deciding.strict)


def claim_lines(claims: Sequence[Claim]) -> str:
    """The claims as lines of text."""
    return "\n".join(claim.line() for claim in claims)
