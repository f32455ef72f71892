"""Figures of the defense pages: loss landscapes (Figure 4.2), robust accuracy against eps, and
CAT's per-example eps_i (Algorithm 8), drawn from what the experiments compute."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from mpl_toolkits.mplot3d.axes3d import Axes3D

from ..robustness.landscape import LossLandscape


def plot_loss_landscape(ax: Axes3D, landscape: LossLandscape, title: str, zmax: float | None = None) -> None:
    """Draw ``landscape`` as a 3-D surface: x the gradient-sign step a, y the Rademacher step b."""
    a, b = np.meshgrid(landscape.a, landscape.b, indexing="ij")
    ax.plot_surface(a, b, landscape.loss, cmap="viridis", linewidth=0, antialiased=True)
    ax.set_xlabel("ε₁ (sign of gradient)")
    ax.set_ylabel("ε₂ (Rademacher)")
    ax.set_zlabel("loss")
    if zmax is not None:
        ax.set_zlim(0, zmax)
    ax.set_title(title)


def loss_landscape_figure(landscapes: Mapping[str, LossLandscape]) -> Figure:
    """Figure 4.2's layout: one 3-D panel per model, all on the same loss scale."""
    fig = plt.figure(figsize=(4.2 * len(landscapes), 3.8))
    zmax = max(float(landscape.loss.max()) for landscape in landscapes.values())
    for k, (name, landscape) in enumerate(landscapes.items(), start=1):
        plot_loss_landscape(fig.add_subplot(1, len(landscapes), k, projection="3d"), landscape, name, zmax)
    fig.tight_layout()
    return fig


def eps_curves_figure(curves: Mapping[str, pd.DataFrame], norm: str = "L∞") -> Figure:
    """Robust accuracy against eps, one line per model (the masking check of a rising curve).

    ``curves[model]`` has columns ``eps`` and ``robust_accuracy`` (e.g. ``MaskingReport.curve``);
    the clean accuracy is drawn at eps = 0 when a ``clean_accuracy`` column is present.
    """
    frames = []
    for name, frame in curves.items():
        points = frame[["eps", "robust_accuracy"]]
        if "clean_accuracy" in frame:
            clean = pd.DataFrame({"eps": [0.0], "robust_accuracy": [float(frame["clean_accuracy"].iloc[0])]})
            points = pd.concat([clean, points])
        frames.append(points.assign(model=name))
    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    sns.lineplot(data=pd.concat(frames), x="eps", y="robust_accuracy", hue="model", style="model", markers=True, ax=ax)
    ax.set_xlabel(f"ε ({norm})")
    ax.set_ylabel("robust accuracy (PGD)")
    ax.set_ylim(-0.02, 1.02)
    fig.tight_layout()
    return fig


def cat_eps_figure(eps_mean: Sequence[float], final_eps: np.ndarray, eps_max: float) -> Figure:
    """CAT's per-example perturbation levels eps_i (Algorithm 8): their mean after each epoch
    (``eps_mean``), with eps_max dashed, and the histogram of their final values (``final_eps``)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.4))
    left.plot(range(1, len(eps_mean) + 1), eps_mean, marker="o", label="mean $\\varepsilon_i$")
    left.axhline(eps_max, color="grey", linestyle="--", label="$\\varepsilon_{\\max}$")
    left.set(xlabel="epoch", ylabel="$\\varepsilon_i$", title="CAT: mean perturbation level after each epoch")
    left.legend()
    right.hist(final_eps, bins=30)
    right.set(xlabel="$\\varepsilon_i$ after training", ylabel="training examples", title="CAT: final $\\varepsilon_i$")
    return fig
