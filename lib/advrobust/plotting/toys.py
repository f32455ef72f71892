"""Figure 4.1: decision boundaries of four trainings on the separable toy of thesis §4.1.1.

What is drawn is computed: each model's predicted label on a grid (shaded regions, the boundary
as a solid line; :func:`advrobust.plotting.hard_label_2d.decision_regions`), the training points, and
the true boundary x1 + x2 = 0 of :mod:`advrobust.toys.margin` dashed. The figure does not depend on
the profile (the toy runs in full everywhere), so it carries no profile stamp.
"""
from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from torch import Tensor, nn

from ..toys.hard_label_2d import evaluate_on_grid, labels_of
from ..toys.margin import toy_accuracy
from .hard_label_2d import decision_regions

_PAD = 1.5  # data units around the points


def plot_toy_boundaries(
    models: Mapping[str, nn.Module], x: Tensor, y: Tensor, x_test: Tensor, y_test: Tensor,
    grid_size: int = 301,
) -> Figure:
    """One panel per model, lettered (a), (b), ... in the order of ``models``: its decision regions
    over the training points (``x``, ``y``), the true boundary dashed, and its accuracy on
    (``x_test``, ``y_test``) in the title, under the model's name (the key of ``models``)."""
    low = x.min(dim=0).values.numpy() - _PAD
    high = x.max(dim=0).values.numpy() + _PAD
    limit = float(np.abs(np.concatenate([low, high])).max())
    line = np.array([-limit, limit])
    fig, axes = plt.subplots(1, len(models), figsize=(3.6 * len(models), 3.9), squeeze=False)
    for index, (ax, (name, model)) in enumerate(zip(axes[0], models.items())):
        accuracy = toy_accuracy(model, x_test, y_test)
        title = f"({chr(ord('a') + index)}) {name}\ntest accuracy {accuracy:.3f}"
        decision_regions(ax, evaluate_on_grid(labels_of(model), limit, grid_size), title)
        for label in (0, 1):
            points = x[y == label].numpy()
            ax.scatter(points[:, 0], points[:, 1], s=6, color=f"C{label}", label=f"class {label}")
        ax.plot(line, -line, "k--", linewidth=1, label="true boundary")
        ax.set_xlim(low[0], high[0])
        ax.set_ylim(low[1], high[1])
    axes[0, 0].legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig
