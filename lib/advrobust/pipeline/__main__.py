"""``python -m advrobust.pipeline``: see :mod:`advrobust.pipeline.cli`."""
from advrobust.cli import main

raise SystemExit(main())
