"""Figures of the SPROUT page (thesis Chapter 5): the five-axis radar of Figure 5.1, the label
correlation β_s·β_t of Figure 5.8, the ablation bars of Figure 5.5, and robust accuracy against
one setting (eps, L2 budget, attack steps, network width) for Figures 5.2, 5.3, 5.6, 5.7 and 5.9.

:func:`~advrobust.plotting.defenses.eps_curves_figure` draws only L∞ PGD against eps (its axis
labels say so); :func:`accuracy_curves_figure` takes the x column and the labels.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import cycle

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

AXIS_LABELS = {  # Figure 5.1's axis names for the columns of experiments.ch5_scores.radar_scores
    "clean": "Clean Acc",
    "linf": "L∞ Acc",
    "cw": "C&W Acc",
    "contrast": "Invariance",
    "scalability": "Scalability",
}


def radar_figure(axes: pd.DataFrame, thesis_axes: pd.DataFrame | None = None) -> Figure:
    """Figure 5.1: one radar panel per method, our normalised axes (solid, filled) and, where
    ``thesis_axes`` has the method, the thesis's (dashed) on the same panel; each title gives
    both mean scores.

    Both frames have the columns of :func:`advrobust.experiments.ch5_scores.radar_scores`:
    ``method``, the axes (each in [0, 1]) and ``score``; the axes of ``axes`` are drawn, in its
    column order, clockwise from the top.
    """
    names = [column for column in axes.columns if column not in ("method", "score")]
    angles = np.linspace(0, 2 * np.pi, len(names), endpoint=False)
    closed = np.append(angles, angles[0])
    ours = axes.set_index("method")
    thesis = None if thesis_axes is None else thesis_axes.set_index("method")
    fig, panels = plt.subplots(
        1, len(ours), figsize=(3.4 * len(ours), 3.8), subplot_kw={"projection": "polar"}, squeeze=False
    )
    for ax, (method, row) in zip(panels[0], ours.iterrows()):
        values = row[names].to_numpy(dtype=float)
        ax.plot(closed, np.append(values, values[0]), color="C0", label="ours")
        ax.fill(closed, np.append(values, values[0]), color="C0", alpha=0.25)
        title = f"{method}\nours {row['score']:.4f}"
        if thesis is not None and method in thesis.index:
            printed = thesis.loc[method, names].to_numpy(dtype=float)
            ax.plot(closed, np.append(printed, printed[0]), color="k", linestyle="--", label="thesis")
            title += f" · thesis {thesis.loc[method, 'score']:.4f}"
        ax.set_theta_offset(np.pi / 2)
        ax.set_theta_direction(-1)
        ax.set_xticks(angles, [AXIS_LABELS.get(name, name) for name in names], fontsize=8)
        ax.set_ylim(0, 1)
        ax.set_yticks([0.2, 0.4, 0.6, 0.8, 1.0], ["20%", "40%", "60%", "80%", "100%"], fontsize=6)
        ax.set_rlabel_position(180 / len(names))
        ax.set_title(title, fontsize=9, pad=14)
    panels[0][0].legend(loc="lower left", bbox_to_anchor=(-0.25, -0.2), fontsize=7)
    fig.tight_layout()
    return fig


def beta_matrix_figure(beta: np.ndarray, class_names: Sequence[str]) -> Figure:
    """Figure 5.8: the matrix β_s·β_t of SPROUT's learned Dirichlet parameter β (K,), with the
    class names on both axes; entry (s, t) is proportional to |Cov(y_s, y_t)| of Eq. (5.7)."""
    beta = np.asarray(beta, dtype=float)
    fig, ax = plt.subplots(figsize=(6.2, 5.2))
    sns.heatmap(
        np.outer(beta, beta), xticklabels=list(class_names), yticklabels=list(class_names),
        annot=len(beta) <= 10, fmt=".2f", annot_kws={"fontsize": 7}, square=True, cmap="viridis", ax=ax,
    )
    ax.set_title("β_s · β_t of the learned β")
    fig.tight_layout()
    return fig


def ablation_figure(table: pd.DataFrame) -> Figure:
    """Figure 5.5: grouped bars of robust accuracy (PGD-L∞) per ablation variant, one bar per eps.

    ``table`` has columns ``variant`` (e.g. ``"GA"``, ``"Mixup+Dirichlet"``, ``"SPROUT"``), ``eps``
    and ``robust_accuracy``; variants appear in their order of first appearance.
    """
    fig, ax = plt.subplots(figsize=(max(6.0, 0.8 * table["variant"].nunique()), 3.6))
    sns.barplot(data=table, x="variant", y="robust_accuracy", hue="eps", palette="viridis", ax=ax)
    ax.set_xlabel("")
    ax.set_ylabel("robust accuracy (PGD)")
    ax.set_ylim(0, 1)
    ax.tick_params(axis="x", labelrotation=30)
    ax.legend(title="ε (L∞)", fontsize=7)
    fig.tight_layout()
    return fig


def accuracy_curves_figure(curves: Mapping[str, pd.DataFrame], x: str, xlabel: str, title: str) -> Figure:
    """Robust accuracy against the setting ``x``, one line per entry of ``curves`` (a model or a
    training setting). Each frame has the columns ``x`` and ``robust_accuracy``."""
    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    for (name, frame), marker in zip(curves.items(), cycle("os^DvPX*")):
        points = frame.sort_values(x)
        ax.plot(points[x], points["robust_accuracy"], marker=marker, markersize=4, label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("robust accuracy")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(title)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
