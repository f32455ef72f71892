"""Figures 2.1-2.4: the hard-label objective g(θ) and its geometry on 2-D classifiers.

They draw what :mod:`advrobust.toys.hard_label_2d` computes (decision regions on a grid, g(θ) by
dense ray search); nothing is drawn by hand.
"""
from __future__ import annotations

import math
from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..toys.hard_label_2d import Grid2D, Objective1D

_REGION_COLORS = ("#c6dbef", "#fdd0a2")  # class 0, class 1


def decision_regions(ax: Axes, grid: Grid2D, title: str) -> None:
    """Shade the two predicted classes of ``grid`` and draw the boundary between them."""
    ax.contourf(grid.xs, grid.ys, grid.values, levels=[-0.5, 0.5, 1.5], colors=_REGION_COLORS)
    ax.contour(grid.xs, grid.ys, grid.values, levels=[0.5], colors="k", linewidths=1)
    _square(ax, title)


def surface(ax: Axes, grid: Grid2D, title: str, cmap: str = "viridis") -> None:
    """A filled contour plot of a real-valued function on ``grid`` with a colour bar."""
    filled = ax.contourf(grid.xs, grid.ys, grid.values, levels=30, cmap=cmap)
    ax.figure.colorbar(filled, ax=ax, fraction=0.046, pad=0.04)
    _square(ax, title)


def objective_curve(ax: Axes, objective: Objective1D, title: str) -> None:
    """g(θ) against θ ∈ [0, 2π); angles whose ray never meets the boundary are left blank."""
    ax.plot(objective.theta, np.where(np.isfinite(objective.g), objective.g, np.nan), color="C3")
    ax.set_xlim(0, 2 * np.pi)
    ax.set_xticks(np.linspace(0, 2 * np.pi, 5), ["0", "π/2", "π", "3π/2", "2π"])
    ax.set_xlabel("θ")
    ax.set_ylabel("g(θ)")
    ax.set_title(title, fontsize="medium")


def figure_2_1(
    regions: Grid2D, logit_loss: Grid2D, label_loss: Grid2D, objective: Objective1D
) -> Figure:
    """Figure 2.1: (a) the network's regions, (b) L(Z(x)), (c) L(f(x)), (d) g(θ) for the marked x0."""
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.6))
    decision_regions(axes[0], regions, "(a) decision boundary of f(x)")
    axes[0].plot(*objective.x0, "k*", markersize=10)
    surface(axes[1], logit_loss, "(b) L(Z(x))")
    surface(axes[2], label_loss, "(c) L(f(x))", cmap="cividis")
    objective_curve(axes[3], objective, "(d) g(θ)")
    fig.tight_layout()
    return fig


def figure_2_3(
    circle_regions: Grid2D, tree_regions: Grid2D, circle_g: Objective1D, tree_g: Objective1D
) -> Figure:
    """Figure 2.3: regions of the circle classifier (a) and the GBDT (b), and their g(θ) (c), (d)."""
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.6))
    decision_regions(axes[0], circle_regions, "(a) continuous boundary (‖x‖² = 0.4)")
    axes[0].plot(*circle_g.x0, "k*", markersize=10)
    decision_regions(axes[1], tree_regions, "(b) decision boundary of a GBDT")
    axes[1].plot(*tree_g.x0, "k*", markersize=10)
    objective_curve(axes[2], circle_g, "(c) g(θ) of (a)")
    objective_curve(axes[3], tree_g, "(d) g(θ) of (b)")
    fig.tight_layout()
    return fig


def figure_2_2(regions: Grid2D, objective: Objective1D, angles: tuple[float, ...]) -> Figure:
    """Figure 2.2: x0, the boundary, and for each of ``angles`` the ray and its distance g(θ)."""
    fig, ax = plt.subplots(figsize=(4.6, 4.4))
    decision_regions(ax, regions, "g(θ): distance to the boundary along θ")
    x0 = objective.x0
    ax.plot(*x0, "k*", markersize=11)
    ax.annotate("x0", x0, textcoords="offset points", xytext=(-16, -14))
    for k, angle in enumerate(angles):
        g = objective.at(angle)
        end = _along(x0, g, angle)
        ax.annotate("", end, x0, arrowprops={"arrowstyle": "->", "color": f"C{k}", "lw": 1.6})
        ax.plot(*end, "o", color=f"C{k}", markersize=5)
        ax.annotate(f"g(θ{k + 1}) = {g:.2f}", end, textcoords="offset points", xytext=(6, 4), color=f"C{k}",
                    fontsize=8)
    fig.tight_layout()
    return fig


def figure_2_4(
    regions: Grid2D, objective: Objective1D, angle: float, perturbed: Mapping[str, float], inside: Mapping[str, bool],
) -> Figure:
    """Figure 2.4: the single-query oracle (2.17) at direction ``angle``.

    The circle of radius g(θ) around x0; for each perturbed direction θ + εu (angles in
    ``perturbed``), the one queried point x0 + g(θ)·(θ+εu)/‖θ+εu‖ and whether it is still of class
    y0 (``inside[label]``: sign +1, g grew) or not (sign -1, a descent direction).
    """
    fig, ax = plt.subplots(figsize=(4.6, 4.4))
    decision_regions(ax, regions, "single-query oracle: sign(g(θ+εu) − g(θ))")
    x0 = objective.x0
    g = objective.at(angle)
    circle = plt.Circle(x0, g, fill=False, linestyle="--", color="0.3")
    ax.add_patch(circle)
    ax.plot(*x0, "k*", markersize=11)
    ax.annotate("x0 (class y0)", x0, textcoords="offset points", xytext=(-20, -14), fontsize=8)
    end = _along(x0, g, angle)
    ax.annotate("", end, x0, arrowprops={"arrowstyle": "->", "color": "k", "lw": 1.6})
    ax.annotate("θ", end, textcoords="offset points", xytext=(4, 4))
    for k, (label, theta) in enumerate(perturbed.items()):
        point = _along(x0, g, theta)
        sign = "+1: still y0, g grows" if inside[label] else "−1: adversarial, g falls"
        ax.plot([x0[0], point[0]], [x0[1], point[1]], "--", color=f"C{k + 1}", linewidth=1.2)
        ax.plot(*point, "o", color=f"C{k + 1}", markersize=7, label=f"{label}: {sign}")
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    return fig


def _along(x0: tuple[float, float], distance: float, angle: float) -> tuple[float, float]:
    """The point at ``distance`` from ``x0`` in the direction of ``angle`` (radians)."""
    return x0[0] + distance * math.cos(angle), x0[1] + distance * math.sin(angle)


def _square(ax: Axes, title: str) -> None:
    ax.set_aspect("equal")
    ax.set_title(title, fontsize="medium")
    ax.set_xlabel("x₁")
    ax.set_ylabel("x₂")
