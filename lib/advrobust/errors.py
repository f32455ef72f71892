"""User-facing errors: one clear line, never a traceback into internals.

Every error a reader can cause (an unknown name, an impossible parameter, a missing data file)
derives from :class:`AdvRobustError`. The command line prints ``error: <message>`` and exits with
status 2; notebooks show the same single message.
"""
from __future__ import annotations


class AdvRobustError(Exception):
    """Base class of the errors a user can cause and fix."""


class ConfigError(AdvRobustError, ValueError):
    """An unknown name (profile, model, attack, dataset) or an impossible parameter."""


class DataError(AdvRobustError, FileNotFoundError):
    """A data file is missing or corrupt; the message names the file, the directory and the fix."""


def require(condition: bool, message: str) -> None:
    """Raise :class:`ConfigError` with ``message`` unless ``condition`` holds."""
    if not condition:
        raise ConfigError(message)
