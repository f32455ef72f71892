"""The ``advrobust`` command: the pipeline's commands, with user errors as one clean message.

``advrobust run|build|status ...`` is ``python -m advrobust.pipeline run|build|status ...``. An
:class:`~advrobust.errors.AdvRobustError` (an unknown profile, a failing chapter, a failed build)
prints ``error: <message>`` and exits with status 2; anything else is a bug and keeps its traceback.
"""
from __future__ import annotations

import sys
from collections.abc import Sequence

from .errors import AdvRobustError
from .pipeline import cli


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return cli.main(argv)
    except AdvRobustError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
