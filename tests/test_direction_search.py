"""OPT-attack, Sign-OPT, SVM-OPT and ZO-SignSGD: analytic optima, query accounting, invariants."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.optimize import minimize
from torch import Tensor, nn

from advrobust import registry
from advrobust.blackbox import HardLabelOracle
from advrobust.blackbox.search import local_search, unit
from advrobust.blackbox.svm import hard_margin_direction
from test_blackbox_oracle import CountingModel

D = 100  # input dimension of the linear problems


def linear_problem(n: int = 8, classes: int = 10, seed: int = 0) -> tuple[nn.Linear, Tensor, Tensor, Tensor]:
    """A linear classifier on [0, 1]^D with N correctly labelled points and their minimal L2
    distance to another class, (z_y - z_j)/||w_y - w_j|| minimised over j (exact when the optimal
    step stays inside the box, which is checked)."""
    g = torch.Generator().manual_seed(seed)
    weight = torch.randn(classes, D, generator=g)
    model = nn.Linear(D, classes).requires_grad_(False)
    model.weight.copy_(weight)
    model.bias.copy_(-0.5 * weight.sum(dim=1))
    x = (0.5 + 0.2 * torch.randn(n, D, generator=g)).clamp(0.05, 0.95)
    z = model(x)
    y = z.argmax(dim=1)
    gaps = z.gather(1, y[:, None]) - z
    diffs = weight[y][:, None] - weight[None]
    distances = (gaps / diffs.norm(dim=2)).masked_fill(gaps == 0, float("inf"))
    optimum, nearest = distances.min(dim=1)
    rows = torch.arange(n)
    step = -optimum[:, None] * diffs[rows, nearest] / diffs[rows, nearest].norm(dim=1, keepdim=True)
    assert bool(((x + 1.1 * step >= 0) & (x + 1.1 * step <= 1)).all()), "optimum leaves the box"
    return model, x, y, optimum


def margin(model: nn.Module, x: Tensor, label: Tensor) -> Tensor:
    """(N,) z_label - max_{j != label} z_j: < 0 means misclassified (up to float ties at 0)."""
    z = model(x)
    others = z.masked_fill(nn.functional.one_hot(label, z.shape[1]).bool(), float("-inf"))
    return z.gather(1, label[:, None]).squeeze(1) - others.amax(dim=1)


@pytest.fixture(scope="module")
def problem() -> tuple[nn.Linear, Tensor, Tensor, Tensor]:
    return linear_problem()


@pytest.mark.parametrize(("name", "budget"), [("sign_opt", 6000), ("svm_opt", 6000), ("opt", 10_000)])
def test_each_example_ends_within_ten_percent_of_the_optimum(problem, name: str, budget: int) -> None:
    model, x, y, optimum = problem
    result = registry.create("blackbox", name, model=model, budget=budget).run(x, y)
    assert bool(result.success.all())
    ratio = result.l2 / optimum
    assert bool((ratio >= 1 - 1e-4).all()), "closer than the closed-form optimum: distances are wrong"
    assert float(ratio.max()) <= 1.10, f"{name}: worst ratio {float(ratio.max()):.3f}"


def test_single_query_oracle_beats_finite_differences_for_zo_signsgd(problem) -> None:
    model, x, y, optimum = problem
    best = {}
    for single_query in (True, False):
        atk = registry.create("blackbox", "zo_signsgd", model=model, budget=2000, single_query=single_query)
        best[single_query] = float((atk.run(x, y).best_at([2000])[:, 0] / optimum.double()).median())
    assert best[True] < best[False]


def test_local_search_finds_the_boundary_along_a_ray(problem) -> None:
    model, x, y, _ = problem
    oracle = HardLabelOracle(model, x, y, budget=1000)
    toward_runner_up = model.weight[model(x).topk(2).indices[:, 1]] - model.weight[y]
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(1))
    direction = unit(unit(toward_runner_up, "l2") + 0.5 * unit(noise, "l2"), "l2")
    # Along the ray, class j overtakes y at λ_j = (z_y - z_j) / <w_y - w_j, d> where that is > 0.
    z = model(x)
    slopes = (model.weight[None] - model.weight[y][:, None]) @ direction[:, :, None]  # (N, K, 1)
    crossing = (z.gather(1, y[:, None]) - z) / slopes.squeeze(-1)
    expected = crossing.masked_fill(~(crossing > 0), float("inf")).min(dim=1).values  # NaN at j = y
    inside = (x + expected[:, None] * direction).clamp(0, 1).eq(x + expected[:, None] * direction).all(dim=1)
    g = local_search(oracle, torch.arange(len(y)), direction, expected * 0.9, tol=1e-6)
    assert torch.allclose(g[inside], expected[inside], atol=2e-6)
    assert int(inside.sum()) >= 4


@pytest.mark.parametrize("name", ["sign_opt", "svm_opt", "opt", "zo_signsgd"])
def test_invariants(problem, name: str) -> None:
    model, x, y, _ = problem
    counting = CountingModel(model)
    before = x.clone()
    result = registry.create("blackbox", name, model=counting, budget=700, seed=3).run(x, y)
    assert torch.equal(x, before), "input mutated"
    assert bool((result.x_adv >= 0).all() and (result.x_adv <= 1).all())
    assert bool(result.success.all()) and bool((margin(model, result.x_adv, y) < 1e-4).all())
    assert bool((result.queries <= 700).all())
    # Every row the model saw, except the clean pass, is a counted query.
    assert counting.rows - len(y) == int(result.queries.sum())
    # The trace ends at the returned distortion.
    assert torch.allclose(result.best_at([700])[:, 0].float(), result.l2, atol=1e-5)
    again = registry.create("blackbox", name, model=model, budget=700, seed=3).run(x, y)
    assert torch.equal(again.x_adv, result.x_adv) and torch.equal(again.queries, result.queries)


def test_targeted_attack_from_target_class_starts(problem) -> None:
    model, x, y, _ = problem
    target = (y + 1) % 10
    g = torch.Generator().manual_seed(2)
    pool = torch.rand(4000, D, generator=g)
    labels = model(pool).argmax(dim=1)
    starts = torch.stack([pool[labels == t][:5] for t in target.tolist()])  # (N, 5, D)
    result = registry.create("blackbox", "sign_opt", model=model, budget=3000).run(x, y, target, starts=starts)
    assert bool(result.success.all()) and bool((margin(model, result.x_adv, target) > -1e-4).all())
    start_distance = (starts - x[:, None]).norm(dim=2).min(dim=1).values
    assert bool((result.l2 < 0.5 * start_distance).all())


def test_examples_already_adversarial_are_not_attacked(problem) -> None:
    model, x, y, _ = problem
    wrong = y.clone()
    wrong[0] = (y[0] + 1) % 10
    result = registry.create("blackbox", "sign_opt", model=model, budget=300).run(x[:2], wrong[:2])
    assert result.queries[0] == 0 and result.l2[0] == 0 and not bool(result.original_correct[0])
    assert result.queries[1] > 0


def test_opt_linf_reaches_the_linf_ball() -> None:
    g = torch.Generator().manual_seed(0)
    w = torch.randn(D, generator=g)
    model = nn.Linear(D, 2).requires_grad_(False)
    model.weight.copy_(torch.stack([torch.zeros(D), w]))
    model.bias.copy_(torch.tensor([0.0, float(-0.5 * w.sum())]))
    x = 0.5 + 0.1 * (2 * torch.rand(4, D, generator=g) - 1)
    margin = (x - 0.5) @ w
    x -= ((margin - margin.sign() * 0.05 * w.abs().sum()) / w.norm() ** 2)[:, None] * w  # L∞ optimum 0.05
    y = ((x - 0.5) @ w > 0).long()
    result = registry.create("blackbox", "opt", model=model, budget=20_000, norm="linf", epsilon=0.06).run(x, y)
    best = result.best_at([2000, 20_000])
    assert bool((best[:, 1] <= 0.06 * 1.02).all()) and bool((best[:, 1] < best[:, 0]).all())
    assert bool((best[:, 1] >= 0.05).all())


def test_svm_direction_is_the_minimum_norm_consistent_vector() -> None:
    g = torch.Generator().manual_seed(0)
    u = torch.randn(1, 12, 20, generator=g)
    truth = torch.randn(20, generator=g)
    signs = torch.sign(u[0] @ truth)[None]
    z = hard_margin_direction(u, signs, iterations=2000)[0].double().numpy()
    points = (signs[0, :, None] * u[0]).double().numpy()
    assert (points @ z >= 1 - 1e-4).all()
    reference = minimize(
        lambda v: v @ v, np.zeros(20), jac=lambda v: 2 * v, method="SLSQP",
        constraints=[{"type": "ineq", "fun": lambda v: points @ v - 1, "jac": lambda v: points}],
    )
    assert np.linalg.norm(z) == pytest.approx(np.linalg.norm(reference.x), rel=1e-3)
