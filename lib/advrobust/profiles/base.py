"""The profile names and their check."""
from __future__ import annotations

from ..errors import ConfigError

PROFILES = ("smoke", "quick", "paper")


def check_profile(profile: str) -> str:
    """Return ``profile`` if it is known, else raise a one-line :class:`ConfigError`."""
    if profile not in PROFILES:
        raise ConfigError(f"unknown profile {profile!r}; available: {', '.join(PROFILES)}")
    return profile
