"""Figures of the book: one style, and the few plot kinds the chapters share."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch
from matplotlib.figure import Figure


def use_book_style() -> None:
    """Seaborn's white grid with a readable context; call once per notebook."""
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")
    plt.rcParams.update({"figure.dpi": 100, "savefig.bbox": "tight", "axes.titlesize": "medium"})


def stamp(fig: Figure, profile: str) -> Figure:
    """Write ``profile: <name>`` in the lower-right corner, so a figure never hides its scale."""
    fig.text(0.995, 0.005, f"profile: {profile}", ha="right", va="bottom", fontsize=7, color="0.4")
    return fig


def _as_image(x: torch.Tensor) -> np.ndarray:
    """(C,H,W) tensor in [0,1] -> (H,W) or (H,W,3) array for imshow."""
    array = x.detach().float().cpu().numpy()
    return array[0] if array.shape[0] == 1 else np.transpose(array, (1, 2, 0))


def adversarial_examples_figure(
    x: torch.Tensor,
    x_adv: torch.Tensor,
    clean_label: Sequence[str],
    clean_confidence: Sequence[float],
    adv_label: Sequence[str],
    adv_confidence: Sequence[float],
    profile: str,
) -> Figure:
    """Figure 1.1's layout: rows original, perturbation, adversarial example; one column per example.

    Each perturbation is shown on its own symmetric diverging scale (max |delta|) and titled with
    its L2 and L-infinity norms; images are titled with the predicted label and its confidence.
    """
    columns = x.shape[0]
    gray = x.shape[1] == 1
    fig, axes = plt.subplots(3, columns, figsize=(1.9 * columns, 6.4), squeeze=False)
    for j in range(columns):
        delta = (x_adv[j] - x[j]).float()
        scale = float(delta.abs().max().clamp_min(1e-12))
        axes[0, j].imshow(_as_image(x[j]), cmap="gray" if gray else None, vmin=0, vmax=1)
        axes[0, j].set_title(f"{clean_label[j]}\n({clean_confidence[j]:.0%})", fontsize="small")
        axes[1, j].imshow(_as_image(delta.mean(0, keepdim=True)), cmap="RdBu_r", vmin=-scale, vmax=scale)
        axes[1, j].set_title(f"L2 {delta.norm():.2f}\nL∞ {delta.abs().max():.2f}", fontsize="small")
        axes[2, j].imshow(_as_image(x_adv[j]), cmap="gray" if gray else None, vmin=0, vmax=1)
        axes[2, j].set_title(f"{adv_label[j]}\n({adv_confidence[j]:.0%})", fontsize="small")
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    for row, label in enumerate(("original", "perturbation", "adversarial")):
        axes[row, 0].set_ylabel(label)
    fig.tight_layout()
    return stamp(fig, profile)


def robust_accuracy_plot(
    curves: pd.DataFrame, norm: str, profile: str, clean_accuracy: float | None = None
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
    return stamp(fig, profile)


def distortion_histogram(
    distortions: Mapping[str, np.ndarray], profile: str, reference: Mapping[str, float] | None = None
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
    return stamp(fig, profile)


def image_grid(
    images: torch.Tensor, titles: Sequence[str], profile: str, columns: int = 8, row_labels: Sequence[str] = ()
) -> Figure:
    """A grid of images (N,C,H,W) in [0,1] with a title under each."""
    rows = int(np.ceil(images.shape[0] / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(1.3 * columns, 1.5 * rows), squeeze=False)
    for index, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if index < images.shape[0]:
            gray = images.shape[1] == 1
            ax.imshow(_as_image(images[index]), cmap="gray" if gray else None, vmin=0, vmax=1)
            ax.set_xlabel(titles[index], fontsize=8)
        else:
            ax.axis("off")
    for row, label in enumerate(row_labels):
        axes[row, 0].set_ylabel(label, fontsize=9)
    fig.tight_layout()
    return stamp(fig, profile)


def query_curves_figure(
    panels: Mapping[str, pd.DataFrame],
    y: str,
    profile: str,
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
    return stamp(fig, profile)
