"""A chapter's claims, measured: one line each, ``[holds]``, ``[does NOT hold]`` or
``[inconclusive]``, then the claim and what was measured (Chapters 3.1 and 6)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Claim:
    """One claim of the chapter, measured."""

    claim: str
    status: str  # "holds" | "does NOT hold" | "inconclusive"
    measured: str

    def line(self) -> str:
        return f"[{self.status}] {self.claim}: {self.measured}"


def status(holds: bool) -> str:
    """``"holds"`` or ``"does NOT hold"``."""
    return "holds" if holds else "does NOT hold"


def claim_lines(claims: Sequence[Claim]) -> str:
    """The claims as lines for the page."""
    return "\n".join(claim.line() for claim in claims)
