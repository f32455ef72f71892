"""Figures of images: adversarial examples beside their originals (Figure 1.1's layout) and grids."""
from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure


def adversarial_examples_figure(
    x: torch.Tensor, x_adv: torch.Tensor, clean_titles: Sequence[str], adv_titles: Sequence[str]
) -> Figure:
    """Figure 1.1's layout: rows original, perturbation, adversarial example; one column per example.

    Each perturbation is shown on its own symmetric diverging scale (max |delta|) and titled with
    its L2 and L-infinity norms; the images are titled with ``clean_titles`` and ``adv_titles``
    (e.g. the predicted label and its confidence).
    """
    columns = x.shape[0]
    gray = x.shape[1] == 1
    fig, axes = plt.subplots(3, columns, figsize=(1.9 * columns, 6.4), squeeze=False)
    for j in range(columns):
        delta = (x_adv[j] - x[j]).float()
        scale = float(delta.abs().max().clamp_min(1e-12))
        axes[0, j].imshow(_as_image(x[j]), cmap="gray" if gray else None, vmin=0, vmax=1)
        axes[0, j].set_title(clean_titles[j], fontsize="small")
        axes[1, j].imshow(_as_image(delta.mean(0, keepdim=True)), cmap="RdBu_r", vmin=-scale, vmax=scale)
        axes[1, j].set_title(f"L2 {delta.norm():.2f}\nL∞ {delta.abs().max():.2f}", fontsize="small")
        axes[2, j].imshow(_as_image(x_adv[j]), cmap="gray" if gray else None, vmin=0, vmax=1)
        axes[2, j].set_title(adv_titles[j], fontsize="small")
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    for row, label in enumerate(("original", "perturbation", "adversarial")):
        axes[row, 0].set_ylabel(label)
    fig.tight_layout()
    return fig


def image_grid(
    images: torch.Tensor, titles: Sequence[str], columns: int = 8, row_labels: Sequence[str] = ()
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
    return fig


def _as_image(x: torch.Tensor) -> np.ndarray:
    """(C,H,W) tensor in [0,1] -> (H,W) or (H,W,3) array for imshow."""
    array = x.detach().float().cpu().numpy()
    return array[0] if array.shape[0] == 1 else np.transpose(array, (1, 2, 0))
