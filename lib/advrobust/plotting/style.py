"""The book's figure style and the profile stamp that :class:`advrobust.experiments.report.Results` puts on
every figure it saves."""
from __future__ import annotations

import matplotlib.pyplot as plt
import seaborn as sns
from matplotlib.figure import Figure


def use_book_style() -> None:
    """Seaborn's white grid with a readable context; call once per notebook."""
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")
    plt.rcParams.update({"figure.dpi": 100, "savefig.bbox": "tight", "axes.titlesize": "medium"})


def stamp(fig: Figure, profile: str) -> Figure:
    """Write ``profile: <name>`` in the lower-right corner, so a figure never hides its scale."""
    fig.text(0.995, 0.005, f"profile: {profile}", ha="right", va="bottom", fontsize=7, color="0.4")
    return fig
