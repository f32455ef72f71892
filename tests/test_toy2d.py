"""g(θ) on 2-D classifiers (advrobust.toy2d; thesis §2.4, Figures 2.1-2.4) against closed forms."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from advrobust.toys import hard_label_2d as toy2d
from advrobust.blackbox.oracle import HardLabelOracle
from advrobust.blackbox.search import local_search
from advrobust.errors import ConfigError


def _angles(count: int) -> torch.Tensor:
    return torch.arange(count, dtype=torch.float64) * (2 * math.pi / count)


@pytest.mark.parametrize("x0", [(0.0, 0.0), (0.2, 0.1), (-0.35, 0.4), (0.0, -0.6)])
def test_circle_g_equals_the_closed_form(x0):
    objective = toy2d.objective_over_angles(toy2d.circle_classifier, x0, count=360)
    exact = toy2d.circle_distance(torch.tensor(x0), torch.from_numpy(objective.theta))
    assert np.abs(objective.g - exact.numpy()).max() < 1e-3
    if x0 == (0.0, 0.0):
        assert np.allclose(objective.g, math.sqrt(toy2d.CIRCLE_RADIUS_SQ), atol=1e-3)


def test_closed_form_solves_the_circle_equation():
    x0, theta = torch.tensor([0.3, -0.2]), _angles(16)
    g = toy2d.circle_distance(x0, theta)
    ends = x0.double() + g[:, None] * toy2d.unit_vectors(theta)
    assert torch.allclose(ends.pow(2).sum(dim=1), torch.full((16,), toy2d.CIRCLE_RADIUS_SQ, dtype=torch.float64))
    with pytest.raises(ConfigError, match="inside the circle"):
        toy2d.circle_distance(torch.tensor([1.0, 0.0]), theta)


def test_linear_classifier_g_is_the_distance_to_the_line_along_each_ray():
    w, b = torch.tensor([1.0, 2.0]), -0.5

    def classify(x: torch.Tensor) -> torch.Tensor:
        return (x @ w + b >= 0).long()

    x0, theta = torch.tensor([0.1, -0.2]), _angles(360)
    g = toy2d.g_along_rays(classify, x0, 0, theta, max_radius=3.0)
    along = toy2d.unit_vectors(theta).float() @ w
    expected = -(x0 @ w + b) / along
    reachable = (along > 0) & (expected <= 3.0)
    assert torch.allclose(g[reachable].float(), expected[reachable], atol=1e-4)
    assert torch.isinf(g[along < 0]).all()  # rays away from the line never meet it
    assert float(g.min()) == pytest.approx(float((x0 @ w + b).abs() / w.norm()), abs=1e-3)


def test_g_is_continuous_for_the_circle_and_nearly_so_for_a_gbdt():
    circle = toy2d.objective_over_angles(toy2d.circle_classifier, (0.2, 0.1), count=720)
    assert circle.largest_jump() < 0.005  # |dg/dθ| <= 0.4 here, θ steps 0.0087
    x, y = toy2d.circle_dataset(seed=0)
    tree = toy2d.gbdt_classifier(toy2d.train_gbdt_2d(x, y, seed=0))
    for count in (720, 2880):
        objective = toy2d.objective_over_angles(tree, (0.2, 0.1), count=count, steps=400)
        jumps = np.abs(np.diff(np.append(objective.g, objective.g[0])))
        assert np.isfinite(objective.g).all()
        assert jumps.max() < 0.1 * objective.g.mean()  # only small steps of the staircase
        assert (jumps > 0.02).sum() <= 0.02 * count  # and at few angles


def test_single_query_sign_is_the_sign_of_the_change_of_g_for_a_star_shaped_region():
    objective = toy2d.objective_over_angles(toy2d.circle_classifier, (0.25, -0.1), count=360)
    for shift in (1, 10, 60):
        assert toy2d.single_query_agreement(toy2d.circle_classifier, objective, shift) == 1.0
    inside = toy2d.single_query_sign(toy2d.circle_classifier, (0.0, 0.0), 0, 0.6, _angles(8))
    outside = toy2d.single_query_sign(toy2d.circle_classifier, (0.0, 0.0), 0, 0.65, _angles(8))
    assert inside.tolist() == [1] * 8 and outside.tolist() == [-1] * 8  # sqrt(0.4) = 0.632


def test_algorithm_2_through_the_oracle_agrees_with_the_dense_search():
    class Circle(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.stack([0.4 - x.pow(2).sum(dim=1), torch.zeros(len(x))], dim=1)

    x0, theta = (0.2, 0.1), torch.tensor([0.3, 2.0, 4.0], dtype=torch.float64)
    oracle = HardLabelOracle(Circle(), torch.tensor([x0]).repeat(3, 1), torch.zeros(3, dtype=torch.long),
                             budget=500, bounds=(-5.0, 5.0))
    g = local_search(oracle, torch.arange(3), toy2d.unit_vectors(theta).float(), torch.full((3,), 0.3), 1e-5)
    dense = toy2d.g_along_rays(toy2d.circle_classifier, torch.tensor(x0), 0, theta)
    assert torch.allclose(g.double(), dense, atol=1e-4)
    assert (oracle.queries > 0).all() and (oracle.queries < 500).all()


def test_losses_of_figure_2_1():
    scores = torch.tensor([[2.0, 1.0], [0.0, 3.0]])
    assert toy2d.cw_loss(scores, 0, kappa=math.inf).tolist() == [1.0, -3.0]
    assert toy2d.cw_loss(scores, 0).tolist() == [1.0, 0.0]  # κ = 0 clamps at zero
    labels = torch.tensor([0, 1])
    assert toy2d.hard_label_loss(labels, 0, kappa=math.inf).tolist() == [1.0, -1.0]  # two values only


def test_network_fits_the_flower_and_its_g_is_finite_everywhere_from_inside():
    x, y = toy2d.flower_dataset(n=600, seed=0)
    network = toy2d.train_mlp(x, y, hidden=16, steps=250, seed=0)
    classify = toy2d.labels_of(network)
    assert float((classify(x) == y).double().mean()) > 0.95
    objective = toy2d.objective_over_angles(classify, (0.05, 0.0), count=180)
    assert np.isfinite(objective.g).all() and objective.g.max() < 1.5


def test_grid_and_nearest_angle_helpers():
    grid = toy2d.evaluate_on_grid(toy2d.circle_classifier, limit=1.0, size=5)
    assert grid.values.shape == (5, 5) and grid.values[2, 2] == 0 and grid.values[0, 0] == 1
    objective = toy2d.Objective1D((0.0, 0.0), np.array([0.0, math.pi / 2, math.pi]), np.array([1.0, 2.0, 3.0]))
    assert objective.at(2 * math.pi - 0.1) == 1.0 and objective.at(1.5) == 2.0
    assert objective.largest_jump() == 2.0  # from θ = π back to θ = 0


def test_zoom_keeps_a_true_jump_and_shrinks_a_continuous_one():
    def shadowed(x: torch.Tensor) -> torch.Tensor:
        """Class 1 on the square [0.3, 0.4] × [-0.1, 0.1] and outside the unit circle."""
        square = (x[:, 0] >= 0.3) & (x[:, 0] <= 0.4) & (x[:, 1].abs() <= 0.1)
        return (square | (x.norm(dim=1) >= 1.0)).long()

    objective = toy2d.objective_over_angles(shadowed, (0.0, 0.0), count=720)
    jump = toy2d.zoom_on_largest_jump(shadowed, objective)
    corner = math.atan2(0.1, 0.3)  # past the square's corner a ray first meets the unit circle
    assert abs(jump.angle - corner) < 0.01
    assert jump.size == pytest.approx(1 - 0.3 / math.cos(corner), abs=1e-3)
    circle = toy2d.objective_over_angles(toy2d.circle_classifier, (0.2, 0.1), count=720)
    smooth = toy2d.zoom_on_largest_jump(toy2d.circle_classifier, circle)
    assert smooth.size < 1e-4 and smooth.share < 1e-3  # 1e-5 rad apart, |dg/dθ| ≤ 0.4
