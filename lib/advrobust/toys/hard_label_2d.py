"""The hard-label objective g(θ) on 2-D classifiers, computed (thesis §2.4.1-2.4.3, Figures 2.1-2.4).

In two dimensions a direction is an angle θ, so the boundary-based objective of Eq. (2.13),

    g(θ) = min_{λ > 0} λ  s.t.  f(x0 + λ·(cos θ, sin θ)) ≠ y0,

can be computed for every θ at once by brute force: query f at a dense set of radii along all
rays in one batch, take the first radius whose label differs from y0, and refine it by bisection
(all rays in lock-step). This is the ground truth the figures show; the attacks compute g with
few queries instead (Algorithm 2, :func:`advrobust.blackbox.search.local_search`).

The classifiers of the figures:

* a 3-layer ReLU network trained on a 2-D "flower" dataset (Figure 2.1), with the C&W loss on its
  logits L(Z(x)) (Eq. (2.6), continuous) and on its one-hot decision L(f(x)) (discrete);
* the continuous-boundary classifier f(x) = 1 if ||x||² ≥ 0.4, else 0 (Figure 2.3a), whose g has a
  closed form (:func:`circle_distance`);
* a LightGBM GBDT on 2-D data (Figure 2.3b): axis-aligned, piecewise-constant decisions.

A classifier here is any function from (N, 2) points to (N,) labels. The plane is unbounded: rays
are searched up to ``max_radius`` and g is ``inf`` beyond it.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import lightgbm
import numpy as np
import torch
from torch import Tensor, nn

from ..errors import require
from ..models import ToyMLP
from ..models.gbdt import GBDTScores
from ..training import TrainConfig
from ..training.gbdt import fit_booster
from .fit import fit_toy

Classifier = Callable[[Tensor], Tensor]  # (N, 2) points -> (N,) labels
CIRCLE_RADIUS_SQ = 0.4  # Figure 2.3a: f(x) = 1 if ||x||² >= 0.4


@dataclass(frozen=True)
class Grid2D:
    """Values (H, W) of a function at the points (xs[j], ys[i]) of a square grid."""

    xs: np.ndarray  # (W,)
    ys: np.ndarray  # (H,)
    values: np.ndarray  # (H, W)


@dataclass(frozen=True)
class Objective1D:
    """g(θ) at angles ``theta`` (T,) for the point ``x0``; ``inf`` where no boundary was met."""

    x0: tuple[float, float]
    theta: np.ndarray  # (T,) in [0, 2π)
    g: np.ndarray  # (T,)

    def at(self, angle: float) -> float:
        """g at the computed angle nearest to ``angle`` (modulo 2π)."""
        gap = np.abs(np.angle(np.exp(1j * (self.theta - angle))))
        return float(self.g[int(gap.argmin())])

    def largest_jump(self) -> float:
        """The largest |g(θ_{k+1}) - g(θ_k)| between neighbouring angles (the circle closed)."""
        return float(np.abs(np.diff(np.append(self.g, self.g[0]))).max())


def unit_vectors(theta: Tensor) -> Tensor:
    """(T, 2) the directions (cos θ, sin θ)."""
    return torch.stack([theta.cos(), theta.sin()], dim=1)


def evaluate_on_grid(function: Callable[[Tensor], Tensor], limit: float = 1.0, size: int = 201) -> Grid2D:
    """``function`` ((N, 2) points -> (N,) values) on a size×size grid over [-limit, limit]²."""
    axis = torch.linspace(-limit, limit, size)
    yy, xx = torch.meshgrid(axis, axis, indexing="ij")
    points = torch.stack([xx.flatten(), yy.flatten()], dim=1)
    with torch.no_grad():
        values = function(points).reshape(size, size)
    return Grid2D(axis.numpy(), axis.numpy(), values.double().numpy())


# --- classifiers ------------------------------------------------------------------------------

def flower_dataset(n: int = 1200, seed: int = 0, petals: int = 3) -> tuple[Tensor, Tensor]:
    """``n`` points uniform in [-1, 1]², label 1 outside the curve r = 0.55 + 0.15·sin(petals·φ)."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 2, generator=generator) * 2 - 1
    radius = x.norm(dim=1)
    angle = torch.atan2(x[:, 1], x[:, 0])
    return x, (radius > 0.55 + 0.15 * torch.sin(petals * angle)).long()


def circle_dataset(n: int = 1200, seed: int = 0) -> tuple[Tensor, Tensor]:
    """``n`` points uniform in [-1, 1]² labelled by the circle classifier (Figure 2.3a's rule)."""
    x = torch.rand(n, 2, generator=torch.Generator().manual_seed(seed)) * 2 - 1
    return x, circle_classifier(x)


def train_mlp(
    x: Tensor, y: Tensor, hidden: int = 32, steps: int = 400, lr: float = 1e-2, seed: int = 0
) -> ToyMLP:
    """The 3-layer ReLU network of Figure 2.1a fitted to (``x``, ``y``) by full-batch Adam on
    cross-entropy: ``steps`` epochs of one full batch each, by the one trainer."""
    config = TrainConfig(model="mlp_2d", dataset="flower", epochs=steps, batch_size=len(x), optimizer="adam",
                         lr=lr, seed=seed)
    return fit_toy(config, x, y, hidden=hidden)


def circle_classifier(x: Tensor) -> Tensor:
    """Figure 2.3a: f(x) = 1 if ||x||² ≥ 0.4, else 0."""
    return (x.pow(2).sum(dim=1) >= CIRCLE_RADIUS_SQ).long()


def train_gbdt_2d(x: Tensor, y: Tensor, num_trees: int = 30, num_leaves: int = 8, seed: int = 0) -> lightgbm.Booster:
    """A small binary LightGBM model on 2-D points (Figure 2.3b); one thread, deterministic."""
    params = {"objective": "binary", "num_leaves": num_leaves, "learning_rate": 0.3, "min_data_in_leaf": 5,
              "seed": seed, "deterministic": True, "num_threads": 1, "verbose": -1}
    return fit_booster(params, x, y, num_trees)


def labels_of(scores: Callable[[Tensor], Tensor]) -> Classifier:
    """The classifier x -> argmax of ``scores(x)`` (a torch network, or :class:`GBDTScores`)."""
    def classify(x: Tensor) -> Tensor:
        with torch.no_grad():
            return scores(x).argmax(dim=1)
    return classify


def gbdt_classifier(booster: lightgbm.Booster) -> Classifier:
    """The booster's predicted class, through the same :class:`GBDTScores` the attacks query."""
    return labels_of(GBDTScores(booster, num_threads=1))


# --- losses (Figure 2.1b, c) ---------------------------------------------------------------------

def cw_loss(scores: Tensor, y0: int, kappa: float = 0.0) -> Tensor:
    """Eq. (2.6): max{[Z]_{y0} - max_{i≠y0} [Z]_i, -κ} per row of ``scores`` (N, K)."""
    others = scores.clone()
    others[:, y0] = -math.inf
    return (scores[:, y0] - others.amax(dim=1)).clamp_min(-kappa)


def hard_label_loss(labels: Tensor, y0: int, num_classes: int = 2, kappa: float = 0.0) -> Tensor:
    """Eq. (2.6) with the one-hot decision f(x) in place of Z(x): a step function (Figure 2.1c)."""
    return cw_loss(nn.functional.one_hot(labels, num_classes).double(), y0, kappa)


# --- g(θ) ------------------------------------------------------------------------------------------

def g_along_rays(
    classify: Classifier, x0: Tensor, y0: int, theta: Tensor, max_radius: float = 2.0, steps: int = 800,
    refinements: int = 30,
) -> Tensor:
    """(T,) g(θ) of Eq. (2.13) for every angle of ``theta`` (T,), by dense search and bisection.

    All T·``steps`` points x0 + λ_k·e_θ (λ_k = k·max_radius/steps) are classified in one batch; the
    first λ_k whose label differs from ``y0`` brackets the boundary in (λ_{k-1}, λ_k], which
    ``refinements`` rounds of bisection (one batch of T points each) shrink. Regions thinner than
    max_radius/steps can be missed; rays that meet no boundary get ``inf``.
    """
    require(max_radius > 0 and steps >= 1, "max_radius must be positive and steps at least 1")
    direction = unit_vectors(theta.double())
    x0 = x0.double().view(1, 2)
    radii = torch.arange(1, steps + 1, dtype=torch.float64) * (max_radius / steps)
    points = x0 + radii.view(1, -1, 1) * direction.view(-1, 1, 2)
    changed = (classify(points.view(-1, 2).float()) != y0).view(len(theta), steps)
    found = changed.any(dim=1)
    first = changed.long().argmax(dim=1)
    hi = radii[first]
    lo = torch.where(first > 0, radii[(first - 1).clamp_min(0)], torch.zeros_like(hi))
    for _ in range(refinements):
        mid = (lo + hi) / 2
        adversarial = classify((x0 + mid.view(-1, 1) * direction).float()) != y0
        hi = torch.where(adversarial, mid, hi)
        lo = torch.where(adversarial, lo, mid)
    return torch.where(found, hi, math.inf)


def objective_over_angles(
    classify: Classifier, x0: tuple[float, float], count: int = 720, max_radius: float = 2.0, steps: int = 800,
) -> Objective1D:
    """g(θ) at ``count`` equally spaced angles in [0, 2π) for the point ``x0`` and its own label."""
    point = torch.tensor(x0, dtype=torch.float32)
    y0 = int(classify(point.view(1, 2))[0])
    theta = torch.arange(count, dtype=torch.float64) * (2 * math.pi / count)
    g = g_along_rays(classify, point, y0, theta, max_radius, steps)
    return Objective1D(x0, theta.numpy(), g.numpy())


def circle_distance(x0: Tensor, theta: Tensor, radius_sq: float = CIRCLE_RADIUS_SQ) -> Tensor:
    """Closed-form g(θ) for the circle classifier and x0 inside the circle (||x0||² < radius_sq).

    Solving ||x0 + λ e_θ||² = r² for λ > 0: λ = -x0·e_θ + sqrt((x0·e_θ)² + r² - ||x0||²).
    """
    x0 = x0.double().view(2)
    require(float(x0.pow(2).sum()) < radius_sq, "the closed form needs x0 inside the circle")
    along = unit_vectors(theta.double()) @ x0
    return -along + (along.pow(2) + radius_sq - x0.pow(2).sum()).sqrt()


def single_query_sign(
    classify: Classifier, x0: tuple[float, float], y0: int, g: Tensor | float, angles: Tensor
) -> Tensor:
    """Eq. (2.17) for each angle θ' of ``angles`` (T,): +1 if f(x0 + g·e_θ') = y0, else -1.

    With g = g(θ) (a number, or (T,) values, one per angle), this is sign(g(θ') - g(θ)) from one
    query per direction (Figure 2.4), exact wherever the class-y0 region is star-shaped around x0.
    """
    radius = torch.as_tensor(g, dtype=torch.float64).reshape(-1, 1)
    points = torch.tensor(x0, dtype=torch.float64).view(1, 2) + radius * unit_vectors(angles.double())
    return torch.where(classify(points.float()) == y0, 1, -1)


def single_query_agreement(classify: Classifier, objective: Objective1D, shift: int = 1, tol: float = 1e-6) -> float:
    """Share of angles θ_k at which the single query (2.17) toward θ_{k+shift} gives the true
    sign(g(θ_{k+shift}) - g(θ_k)); pairs with a non-finite g or a change below ``tol`` are left out."""
    y0 = int(classify(torch.tensor([objective.x0], dtype=torch.float32))[0])
    g = torch.from_numpy(objective.g)
    theta = torch.from_numpy(objective.theta)
    g_next, theta_next = g.roll(-shift), theta.roll(-shift)
    signs = single_query_sign(classify, objective.x0, y0, torch.where(g.isfinite(), g, 0.0), theta_next)
    valid = g.isfinite() & g_next.isfinite() & ((g_next - g).abs() > tol)
    require(bool(valid.any()), "no pair of neighbouring angles with a finite, changing g")
    return float((signs == torch.sign(g_next - g).long())[valid].double().mean())


@dataclass(frozen=True)
class Jump:
    """The largest jump of g between neighbouring angles, resolved on a fine window around it."""

    angle: float  # θ (radians) where the coarse grid's largest jump starts
    size: float  # the largest |g(θ_{k+1}) - g(θ_k)| on the fine window
    share: float  # ``size`` relative to the mean of g on the window


def zoom_on_largest_jump(
    classify: Classifier, objective: Objective1D, half_width: float = 0.005, count: int = 1001, steps: int = 400
) -> Jump:
    """Recompute g on ``count`` angles within ±``half_width`` of ``objective``'s largest jump.

    A continuous g has jumps that shrink with the spacing of the angles (here ``2·half_width/(count-1)``);
    a discontinuity keeps its size (§2.4.2: the GBDT of Figure 2.3b).
    """
    where = float(objective.theta[int(np.abs(objective.g - np.roll(objective.g, -1)).argmax())])
    window = torch.linspace(where - half_width, where + half_width, count, dtype=torch.float64)
    x0 = torch.tensor(objective.x0)
    zoomed = g_along_rays(classify, x0, int(classify(x0.view(1, 2))[0]), window, steps=steps)
    size = float(zoomed.diff().abs().max())
    return Jump(where, size, size / float(zoomed.mean()))
