"""The five-axis score of Figure 5.1 from the measurements of Table 5.6 (thesis §5.3, §5.3.4.7).

Figure 5.1 compares the training methods on five axes, "separately normalized by the
best-performance method", and prints each method's average score. Re-derived from Table 5.6:

* clean accuracy, L∞ accuracy (PGD, eps = 0.03), C&W accuracy and invariance (contrast) are each
  divided by the largest value among the methods;
* scalability is min(time) / time, with time the seconds of 10 training epochs;
* the score is the mean of the five axes.

With Table 5.6's numbers this gives the printed 0.6718 (Natural), 0.7107 (TRADES) and 0.8798
(SPROUT) exactly, and 0.6941 for Adv Train, where the thesis prints 0.6900
(``data/thesis/figure_5_1.csv`` keeps the printed value).
"""
from __future__ import annotations

import pandas as pd

from ..errors import require

MEASURED = ("clean", "linf", "cw", "contrast", "seconds")  # Table 5.6's columns
AXES = ("clean", "linf", "cw", "contrast", "scalability")  # Figure 5.1's axes


def radar_scores(table: pd.DataFrame) -> pd.DataFrame:
    """Figure 5.1's normalised axes and score of each method of ``table``.

    Args:
        table: one row per method: a ``method`` column and the :data:`MEASURED` columns (accuracies
            as fractions, ``seconds`` the training time), like ``data/thesis/table_5_6.csv``.

    Returns:
        Columns ``method``, the :data:`AXES` (each in [0, 1], 1 for the best method) and
        ``score`` (their mean), in ``table``'s row order.
    """
    missing = [column for column in ("method", *MEASURED) if column not in table.columns]
    require(not missing, f"the table lacks the columns {missing}")
    measured = table.set_index("method")[list(MEASURED)].astype(float)
    require(bool((measured["seconds"] > 0).all()), "every training time must be > 0")
    accuracies = measured.drop(columns="seconds")
    best = accuracies.max()
    require(bool((best > 0).all()), f"an axis is 0 for every method: {list(best[best <= 0].index)}")
    axes = (accuracies / best).assign(scalability=measured["seconds"].min() / measured["seconds"])
    return axes[list(AXES)].assign(score=axes.mean(axis=1)).reset_index()
