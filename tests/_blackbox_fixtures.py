"""Linear classifiers in many dimensions with a closed-form optimum, for the black-box attack tests.

Black-box attacks need more room than the 32-dimensional cases of :mod:`_attack_fixtures`: their
query cost grows with the dimension. :func:`linear_case` builds a K-class linear model
z = W (x - 0.5) whose K rows are orthogonal with equal norms, and puts each example x0 at equal
logit gaps to all other classes. Then every facet of the example's decision region is equally
far, ``||x* - x0|| = gap / ||w_y - w_j||``, and the projection of x0 onto any facet stays inside
the facet, so every local optimum of a walk along the decision boundary is the global one. Small
offsets orthogonal to all rows of W (they do not change the logits) make the examples differ in
the other directions. The constructor checks that x0 and 1.1 times every optimal step stay
inside [0, 1]^D, so the box never binds and the optimum is exact.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from _attack_fixtures import _check_box, _linear
from torch import Tensor, nn


@dataclass(frozen=True)
class LinearBlackBoxCase:
    """A linear model, correctly classified inputs and their minimal L2 distances."""

    model: nn.Module
    x: Tensor  # (N, *shape) in [0, 1]
    y: Tensor  # (N,) = the model's predictions
    l2: Tensor  # (N,) smallest L2 perturbation that changes the prediction
    weight: Tensor  # (K, D) the rows of W


def linear_case(
    d: int,
    n: int = 4,
    classes: int = 10,
    distances: tuple[float, float] = (0.2, 0.4),
    shape: tuple[int, ...] | None = None,
    seed: int = 0,
) -> LinearBlackBoxCase:
    """``classes``-way linear model on ``d`` inputs; example i of class i mod K at an optimum L2
    distance spread evenly over ``distances``.

    With ``shape`` (whose product is ``d``, e.g. (1, 16, 16)) the inputs are image-shaped and the
    model flattens them first.
    """
    assert d >= classes, "orthogonal rows need d >= classes"
    g = torch.Generator().manual_seed(seed)
    basis = torch.linalg.qr(torch.randn(d, classes, generator=g)).Q  # (D, K) orthonormal columns
    weight = 5 * basis.T  # (K, D), rows of norm 5
    y = torch.arange(n) % classes
    optimum = torch.linspace(distances[0], distances[1], n)
    gap = optimum * (weight[0] - weight[1]).norm()  # every gap z_y - z_j, j != y
    offset = 0.05 * (2 * torch.rand(n, d, generator=g) - 1)
    offset -= offset @ basis @ basis.T  # orthogonal to every row: logits unchanged
    delta = (gap / 5)[:, None] * basis.T[y] + offset  # z_y = gap, z_j = 0
    x = 0.5 + delta
    _check_box(x)
    for j in range(classes):
        step = weight[j] - weight[y]
        step = optimum[:, None] * step / step.norm(dim=1, keepdim=True).clamp_min(1e-12)
        _check_box(x + 1.1 * step)
    layer = _linear(weight, -0.5 * weight.sum(dim=1))
    model: nn.Module = layer if shape is None else nn.Sequential(nn.Flatten(), layer)
    x = x if shape is None else x.view(n, *shape)
    with torch.no_grad():
        assert bool((model(x).argmax(dim=1) == y).all())
    return LinearBlackBoxCase(model, x, y, optimum, weight)


def target_starts(case: LinearBlackBoxCase, target: Tensor) -> Tensor:
    """(N, 3, ...) candidate starts for a targeted attack: one of the original class, then two of
    the target class (0.6 and 0.3 along w_t from the centre); the last is closer to every x0."""
    unit = case.weight[target] / case.weight[target].norm(dim=1, keepdim=True)
    own = case.x.flatten(1)
    points = torch.stack([own, 0.5 + 0.6 * unit, 0.5 + 0.3 * unit], dim=1)
    return points.view(len(case.x), 3, *case.x.shape[1:])


def logit_margin(z: Tensor, label: Tensor) -> Tensor:
    """(N,) z_label - max_{j != label} z_j of logits ``z`` (N, K): < 0 means another class wins."""
    others = z.masked_fill(nn.functional.one_hot(label, z.shape[1]).bool(), float("-inf"))
    return z.gather(1, label[:, None]).squeeze(1) - others.amax(dim=1)
