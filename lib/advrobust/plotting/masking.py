"""Figures of Chapter 6: the first BN's statistics per channel (Figure 6.1), the feature maps after
the first BN+ReLU (Figure 6.2) and a diagram of adversarial masking and RobMask (Figure 6.3),
drawn by our own code."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle
from torch import Tensor


def norm_statistics_figure(statistics: pd.DataFrame, title: str = "Figure 6.1") -> Figure:
    """Figure 6.1: one panel per parameter (running mean, running variance, γ, β) of
    :func:`~advrobust.experiments.ch6_masking.first_norm_statistics`, one line per model over the
    channels."""
    parameters = list(dict.fromkeys(statistics["parameter"]))
    fig, axes = plt.subplots(1, len(parameters), figsize=(3.6 * len(parameters), 3.0), squeeze=False)
    for ax, parameter, letter in zip(axes[0], parameters, "abcdefgh", strict=False):
        frame = statistics[statistics["parameter"] == parameter]
        for model, rows in frame.groupby("model", sort=False):
            ax.plot(rows["channel"], rows["value"], marker=".", linewidth=1, label=str(model))
        ax.set_title(f"({letter}) {parameter}")
        ax.set_xlabel("channel")
    axes[0][0].legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def feature_maps_figure(maps: dict[str, Tensor], dramatic: np.ndarray, columns: int = 16,
                        title: str = "Figure 6.2") -> Figure:
    """Figure 6.2: every channel's feature map (C, H, W) of each model, side by side; channels
    where ``dramatic`` is True are framed in red. Each channel shares one colour scale across the
    models, so a blocked map is black in one panel and not in the other."""
    names = list(maps)
    stacked = np.stack([maps[name].numpy() for name in names])  # (M, C, H, W)
    top = stacked.reshape(len(names), stacked.shape[1], -1).max(axis=(0, 2))
    channels = stacked.shape[1]
    rows = int(np.ceil(channels / columns))
    fig, axes = plt.subplots(rows, columns * len(names) + len(names) - 1,
                             figsize=(0.42 * (columns * len(names) + 1), 0.46 * rows + 0.7), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for m, name in enumerate(names):
        offset = m * (columns + 1)
        axes[0][offset].set_title(name, loc="left", fontsize=8)
        for c in range(channels):
            ax = axes[c // columns][offset + c % columns]
            ax.imshow(stacked[m, c], cmap="gray", vmin=0, vmax=max(float(top[c]), 1e-12))
            if dramatic[c]:
                h, w = stacked.shape[2:]
                ax.add_patch(Rectangle((-0.5, -0.5), w, h, fill=False, edgecolor="red", linewidth=1.5))
    fig.suptitle(f"{title}: red frames = changed dramatically ({int(np.sum(dramatic))}/{channels})", fontsize=9)
    return fig


def _box(ax: plt.Axes, x: float, y: float, w: float, h: float, text: str, color: str) -> None:
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.02", facecolor=color, edgecolor="black"))
    ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=8)


def _arrow(ax: plt.Axes, start: tuple[float, float], end: tuple[float, float]) -> None:
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=10, color="black"))


def robmask_diagram(title: str = "Figure 6.3") -> Figure:
    """Figure 6.3, redrawn: (a) adversarial masking, the BN rescaling (γ, β) followed by ReLU acting
    as a mask on the convolution's feature maps; (b) RobMask, whose rescaling for strength
    ε_i = p_i ε_max is γ_i = W u_i, β_i = W′ u_i with u_i = (1 − p_i) u_0 + p_i u_εmax (Eq. (6.2))."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 3.8))
    for ax in (left, right):
        ax.set_xlim(0, 10)
        ax.set_ylim(0, 6)
        ax.axis("off")
    # (a) conv -> normalise -> (γ, β) -> ReLU = a mask on feature maps
    _box(left, 0.2, 2.5, 1.6, 1.0, "conv\nfeatures", "#dde7f5")
    _box(left, 2.4, 2.5, 1.9, 1.0, "normalise\n(x − μ)/σ", "#eeeeee")
    _box(left, 4.9, 2.5, 1.7, 1.0, "rescale\nγ·x̂ + β", "#fde2c8")
    _box(left, 7.2, 2.5, 1.3, 1.0, "ReLU", "#eeeeee")
    for a, b in ((1.8, 2.4), (4.3, 4.9), (6.6, 7.2), (8.5, 9.1)):
        _arrow(left, (a, 3.0), (b, 3.0))
    for k, shade in enumerate((0.9, 0.0, 0.6, 0.0, 0.3)):  # feature maps kept, blocked or scaled
        left.add_patch(Rectangle((9.15, 1.2 + 0.75 * k), 0.6, 0.6, facecolor=str(1 - shade) if shade else "black",
                                 edgecolor="black"))
    left.text(5.0, 5.2, "(a) adversarial masking: (γ, β) + ReLU\nkeep, magnify or block each channel",
              ha="center", fontsize=9)
    left.text(9.45, 0.6, "masked\nchannels", ha="center", fontsize=7)
    # (b) RobMask: p_i -> u_i -> (W u_i, W' u_i) -> the BN of the same layer
    _box(right, 0.1, 4.0, 2.3, 1.0, "p_i ~ U[0, 1]\nε_i = p_i·ε_max", "#e4f2e0")
    _box(right, 0.1, 1.0, 2.3, 1.6, "PGD(x, ε_i)\nthrough\nmask u_i", "#f8d7d7")
    _box(right, 3.0, 4.0, 2.6, 1.0, "u_i = (1 − p_i) u_0\n+ p_i u_εmax", "#e4f2e0")
    _box(right, 6.3, 4.5, 3.4, 0.8, "γ_i = W u_i  (W: C×k)", "#fde2c8")
    _box(right, 6.3, 3.5, 3.4, 0.8, "β_i = W′ u_i  (W′: C×k)", "#fde2c8")
    _box(right, 3.2, 1.2, 4.0, 1.2, "conv → normalise\n→ γ_i·x̂ + β_i → ReLU", "#eeeeee")
    _box(right, 7.9, 1.0, 2.0, 1.6, "loss on\nx (u_0) and\nx + δ_i (u_i)", "#dde7f5")
    _arrow(right, (2.4, 4.5), (3.0, 4.5))
    _arrow(right, (5.6, 4.6), (6.3, 4.9))
    _arrow(right, (5.6, 4.3), (6.3, 3.9))
    _arrow(right, (8.0, 3.5), (6.0, 2.4))
    _arrow(right, (1.3, 4.0), (1.3, 2.6))
    _arrow(right, (2.4, 1.8), (3.2, 1.8))
    _arrow(right, (7.2, 1.8), (7.9, 1.8))
    right.text(5.0, 0.3, "(b) RobMask: k basis rescalings shared by every strength (k = 2: AdvProp's parameter count)",
               ha="center", fontsize=9)
    fig.suptitle(title)
    return fig
