"""Curves the chapters share: robust accuracy against eps, distortion histograms, and distortion or
success rate against queries."""
from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure


def robust_accuracy_plot(
    curves: pd.DataFrame, norm: str, clean_accuracy: float | None = None
) -> Figure:
    """Robust accuracy against epsilon, one line per attack.

    ``curves`` has columns ``attack``, ``eps`` and ``robust_accuracy`` (fractions).
    """
    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    sns.lineplot(data=curves, x="eps", y="robust_accuracy", hue="attack", style="attack", markers=True, ax=ax)
    if clean_accuracy is not None:
        ax.axhline(clean_accuracy, color="0.5", linestyle=":", label="clean accuracy")
        ax.legend()
    ax.set_xlabel(f"ε ({norm})")
    ax.set_ylabel("robust accuracy")
    ax.set_ylim(-0.02, 1.02)
    fig.tight_layout()
    return fig


def distortion_histogram(
    distortions: Mapping[str, np.ndarray], reference: Mapping[str, float] | None = None
) -> Figure:
    """Distribution of per-example L2 distortion for each attack, with optional reference lines."""
    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    frame = pd.concat(
        [pd.DataFrame({"L2 distortion": np.asarray(v), "attack": k}) for k, v in distortions.items()]
    )
    sns.histplot(data=frame, x="L2 distortion", hue="attack", element="step", stat="count", bins=30, ax=ax)
    for label, value in (reference or {}).items():
        ax.axvline(value, color="k", linestyle="--", linewidth=1)
        ax.annotate(label, (value, ax.get_ylim()[1] * 0.95), rotation=90, va="top", ha="right", fontsize=8)
    fig.tight_layout()
    return fig


def query_curves_figure(
    panels: Mapping[str, pd.DataFrame],
    y: str,
    ylabel: str,
    references: Mapping[str, Mapping[str, float]] | None = None,
) -> Figure:
    """One panel per entry of ``panels``: ``y`` against ``queries``, one line per ``attack``.

    The layout of Figures 2.5-2.8. Each frame has columns ``attack``, ``queries`` and ``y``;
    ``references[panel]`` maps a label (e.g. the white-box C&W distortion) to a horizontal line.
    """
    fig, axes = plt.subplots(1, len(panels), figsize=(4.4 * len(panels), 3.5), squeeze=False)
    for ax, (title, frame) in zip(axes[0], panels.items()):
        finite = frame.replace([np.inf, -np.inf], np.nan)
        sns.lineplot(data=finite, x="queries", y=y, hue="attack", style="attack", ax=ax)
        for label, value in ((references or {}).get(title) or {}).items():
            ax.axhline(value, color="0.3", linestyle=":", linewidth=1.2, label=label)
        ax.set_title(title)
        ax.set_xlabel("queries")
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def distortion_vs_queries_figure(
    curves: Mapping[str, pd.DataFrame], thesis: Mapping[str, pd.DataFrame]
) -> Figure:
    """One panel per dataset: our average L2 against queries (line), the thesis's read points (markers).

    ``curves[name]`` has columns ``queries`` and ``avg_l2``; ``thesis[name]`` the same, Table 2.1's rows.
    """
    fig, axes = plt.subplots(1, len(curves), figsize=(4.4 * len(curves), 3.4), squeeze=False)
    for ax, (name, frame) in zip(axes[0], curves.items()):
        ax.plot(frame["queries"], frame["avg_l2"], label="ours")
        reference = thesis.get(name)
        if reference is not None and len(reference):
            ax.plot(reference["queries"], reference["avg_l2"], "o", color="k", label="thesis (Table 2.1)")
        ax.set_title(name)
        ax.set_xlabel("queries")
        ax.set_ylabel("average L2 distortion")
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
