"""Small models and data with known answers, shared by the attack and evaluation tests.

Linear classifiers give closed-form minimal perturbations. With logits ``z = W x + b``, the
smallest L2 change that lets class j overtake the label y is ``(z_y - z_j) / ||w_y - w_j||_2``,
and the smallest overall is the minimum over j (the region where y wins is a convex polytope).
For two classes the smallest L∞ change is ``|z_1 - z_0| / ||w_1 - w_0||_1``. Every point is built
near the centre of [0, 1]^D and the constructors check that the optimal perturbation stays inside
the box, so the bounds never bind and the formulas are exact.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

D = 32  # input dimension of the linear models


@dataclass(frozen=True)
class LinearCase:
    """A linear model, correctly classified inputs and their closed-form minimal distances."""

    model: nn.Linear
    x: Tensor  # (N, D) in [0, 1]
    y: Tensor  # (N,) = the model's predictions
    l2: Tensor  # (N,) smallest L2 perturbation that changes the prediction
    linf: Tensor  # (N,) smallest L∞ perturbation (two-class case only, else NaN)


def binary_linear(distances: list[float], seed: int = 0) -> LinearCase:
    """Two-class linear model z_1 - z_0 = w·(x - 0.5); example i at L2 distance ``distances[i]``.

    Labels alternate between the two classes, so both directions are attacked.
    """
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(D, generator=g)
    model = _linear(
        torch.stack([torch.zeros(D), w]), torch.stack([torch.tensor(0.0), -0.5 * w.sum()])
    )
    unit = w / w.norm()
    n = len(distances)
    noise = 0.05 * (2 * torch.rand(n, D, generator=g) - 1)
    noise -= (noise @ unit)[:, None] * unit  # orthogonal to w: does not change the margin
    sides = torch.tensor([1.0 if i % 2 == 0 else -1.0 for i in range(n)])
    d = torch.tensor(distances)
    x = 0.5 + noise + (sides * d)[:, None] * unit
    margin = (x - 0.5) @ w  # z_1 - z_0
    case = LinearCase(
        model, x, (margin > 0).long(), margin.abs() / w.norm(), margin.abs() / w.abs().sum()
    )
    _check_box(x)
    _check_box(x - 1.1 * (sides * d)[:, None] * unit)
    return case


def multiclass_linear(
    n: int = 8, classes: int = 10, seed: int = 0, orthogonal: bool = False
) -> LinearCase:
    """``classes``-way linear model z = W (x - 0.5); example i leans toward class i mod K and is
    scaled so the minimal distances run from 0.05 to 0.3.

    With ``orthogonal`` the rows of W are orthogonal with equal norms, so every ||w_y - w_j|| is
    the same and the nearest boundary is that of the runner-up class.
    """
    g = torch.Generator().manual_seed(seed)
    weight = torch.randn(classes, D, generator=g)
    if orthogonal:
        weight = 5 * torch.linalg.qr(weight.T).Q.T  # (K, D), orthogonal rows of norm 5
    model = _linear(weight, -0.5 * weight.sum(dim=1))
    lean = weight[torch.arange(n) % classes]
    delta = lean / lean.norm(dim=1, keepdim=True) + 0.1 * (2 * torch.rand(n, D, generator=g) - 1)
    l2, _ = _nearest_boundary(weight, delta)
    delta = delta * (torch.linspace(0.05, 0.3, n) / l2)[:, None]
    l2, step = _nearest_boundary(weight, delta)
    x = 0.5 + delta
    _check_box(x)
    _check_box(x + 1.1 * step)
    return LinearCase(
        model, x, (delta @ weight.T).argmax(dim=1), l2, torch.full((n,), float("nan"))
    )


def tiny_mlp(seed: int = 0, classes: int = 10) -> nn.Module:
    """A seeded two-layer ReLU net on D inputs: non-linear, so random restarts differ."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(D, 64), nn.ReLU(), nn.Linear(64, classes))


def tiny_cnn(seed: int = 0) -> nn.Module:
    """A seeded conv net on 1x28x28 images (two strided convs, one linear layer, 10 classes)."""
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, stride=2),
        nn.ReLU(),
        nn.Conv2d(8, 16, 3, stride=2),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(16 * 6 * 6, 10),
    )


# Fast settings for every registered attack, used by the contract tests (budgets large enough to
# break the multi-class linear case). A newly registered attack must be added here.
ATTACK_SETTINGS: dict[str, dict[str, Any]] = {
    "fgsm": dict(eps=0.3),
    "pgd": dict(eps=0.3, alpha=0.05, steps=10, seed=0),
    "bim": dict(eps=0.3, alpha=0.05, steps=10),
    "cw_linf": dict(eps=0.3, alpha=0.05, steps=10, seed=0),
    "pgd_l2": dict(eps=1.5, alpha=0.3, steps=10, seed=0),
    "cw_l2": dict(steps=100, binary_search_steps=4, initial_const=1.0),
    "deepfool": dict(),
    "autoattack": dict(eps=0.3, steps=10, n_queries=100, seed=0),
}


def _linear(weight: Tensor, bias: Tensor) -> nn.Linear:
    layer = nn.Linear(weight.shape[1], weight.shape[0])
    with torch.no_grad():
        layer.weight.copy_(weight)
        layer.bias.copy_(bias)
    return layer


def _nearest_boundary(weight: Tensor, delta: Tensor) -> tuple[Tensor, Tensor]:
    """For z = W delta: (N,) minimal L2 distance to another class, (N, D) the step reaching it."""
    z = delta @ weight.T  # (N, K)
    y = z.argmax(dim=1)
    gaps = z.gather(1, y[:, None]) - z  # (N, K) >= 0, zero at y
    diffs = weight[y][:, None, :] - weight[None]  # (N, K, D) w_y - w_j
    distances = (gaps / diffs.norm(dim=2)).masked_fill(gaps == 0, float("inf"))
    nearest = distances.argmin(dim=1)
    rows = torch.arange(len(y))
    direction = diffs[rows, nearest] / diffs[rows, nearest].norm(dim=1, keepdim=True)
    return distances[rows, nearest], -distances[rows, nearest][:, None] * direction


def _check_box(x: Tensor) -> None:
    assert bool(((x >= 0) & (x <= 1)).all()), "test case leaves the box [0, 1]"
