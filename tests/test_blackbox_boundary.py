"""The Boundary attack and Guessing Smart (thesis §2.5 baselines): optimum, progress and invariants."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
from _blackbox_fixtures import LinearBlackBoxCase, linear_case, target_starts
from advrobust import registry
from advrobust.blackbox.base import BlackBoxAttack
from advrobust.blackbox.boundary import BoundaryAttack, starting_points
from advrobust.blackbox.guessing_smart import GuessingSmart
from advrobust.blackbox.oracle import HardLabelOracle
from advrobust.blackbox.perlin import perlin_noise
from advrobust.errors import ConfigError
from torch import Tensor, nn

IMAGE = (1, 16, 16)


class CountingModel(nn.Module):
    """Wraps a model and counts the rows it evaluates."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.rows = 0

    def forward(self, x: Tensor) -> Tensor:
        self.rows += x.shape[0]
        return self.model(x)


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    """The attacks index small tensors thousands of times; on a busy CPU the thread pool's hand-offs
    cost far more than the work (up to 25x here), so these tests run single-threaded."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def vectors() -> LinearBlackBoxCase:
    return linear_case(100, n=4)


@pytest.fixture(scope="module")
def images() -> LinearBlackBoxCase:
    return linear_case(256, n=4, shape=IMAGE)


def test_boundary_reaches_the_linear_optimum(vectors: LinearBlackBoxCase) -> None:
    result = BoundaryAttack(vectors.model, budget=6000, seed=0).run(vectors.x, vectors.y)
    assert bool(result.success.all())
    assert bool((result.l2 >= vectors.l2 * (1 - 1e-4)).all())  # nothing beats the optimum
    # Worst ratio measured over 3 problems × 4 seeds: 1.0100; bound = 1.0100 × 1.02 (three times the
    # worst distance beyond the optimum).
    assert bool((result.l2 <= 1.03 * vectors.l2).all()), (result.l2 / vectors.l2).tolist()


def test_boundary_targeted_from_starts_reaches_the_optimum(vectors: LinearBlackBoxCase) -> None:
    # With equal logit gaps, reaching class t needs exactly the untargeted optimum (see the fixture).
    target = (vectors.y + 1) % 10
    starts = target_starts(vectors, target)
    result = BoundaryAttack(vectors.model, budget=4000, seed=0).run(vectors.x, vectors.y, target, starts=starts)
    assert bool((vectors.model(result.x_adv).argmax(dim=1) == target).all())
    # Worst ratio measured over 3 problems × 4 seeds: 1.0171; bound = 1.0171 × 1.032.
    assert bool((result.l2 <= 1.05 * vectors.l2).all()), (result.l2 / vectors.l2).tolist()


def test_guessing_smart_reduces_the_distortion_of_its_start(images: LinearBlackBoxCase) -> None:
    oracle = HardLabelOracle(images.model, images.x, images.y, budget=100)
    generator = torch.Generator().manual_seed(0)
    start, found = starting_points(oracle, torch.arange(4), None, generator, noise_tries=100, tolerance=1e-3)
    assert bool(found.all())
    start_l2 = (start - images.x).flatten(1).norm(dim=1)
    result = GuessingSmart(images.model, budget=2000, seed=0).run(images.x, images.y)
    assert bool(result.success.all())
    assert bool((result.l2 >= images.l2 * (1 - 1e-4)).all())
    # Worst ratio to the start measured over 3 problems × 4 seeds: 0.42; bound = 0.42 × 1.43.
    assert bool((result.l2 <= 0.6 * start_l2).all()), (result.l2 / start_l2).tolist()


ATTACKS = [
    pytest.param(BoundaryAttack, {}, "vectors", id="boundary"),
    pytest.param(GuessingSmart, {}, "images", id="guessing_smart"),
    pytest.param(GuessingSmart, {"candidates": 4}, "images", id="guessing_smart_batched"),
]


@pytest.mark.parametrize(("attack", "settings", "case_name"), ATTACKS)
def test_invariants(
    attack: type[BlackBoxAttack], settings: dict, case_name: str, request: pytest.FixtureRequest
) -> None:
    case: LinearBlackBoxCase = request.getfixturevalue(case_name)
    x = case.x.clone()
    model = CountingModel(case.model)
    budget = 400
    result = attack(model, budget=budget, seed=3, **settings).run(x, case.y)
    assert torch.equal(x, case.x)  # input not mutated
    assert bool(((result.x_adv >= 0) & (result.x_adv <= 1)).all())
    assert bool(result.success.all())
    assert bool((case.model(result.x_adv).argmax(dim=1) != case.y).all())
    assert bool((result.queries <= budget).all()) and bool((result.queries == budget).all())
    assert model.rows - len(x) == int(result.queries.sum())  # the clean pass is free
    again = attack(case.model, budget=budget, seed=3, **settings).run(x, case.y)
    assert torch.equal(again.x_adv, result.x_adv) and torch.equal(again.queries, result.queries)
    other = attack(case.model, budget=budget, seed=4, **settings).run(x, case.y)
    assert not torch.equal(other.x_adv, result.x_adv)


@pytest.mark.parametrize(("attack", "settings", "case_name"), ATTACKS)
def test_targeted_with_starts_returns_the_target_class(
    attack: type[BlackBoxAttack], settings: dict, case_name: str, request: pytest.FixtureRequest
) -> None:
    case: LinearBlackBoxCase = request.getfixturevalue(case_name)
    target = (case.y + 3) % 10
    starts = target_starts(case, target)
    result = attack(case.model, budget=300, seed=0, **settings).run(case.x, case.y, target, starts=starts)
    assert bool((case.model(result.x_adv).argmax(dim=1) == target).all())
    closest = (starts[:, 2] - case.x).flatten(1).norm(dim=1)
    # Worst ratio measured over 3 problems × 4 seeds: 0.65 (all three attacks); bound = 0.65 × 1.5.
    assert bool((result.l2 < closest).all())


def test_the_start_is_the_closest_adversarial_candidate_blended_toward_x0(vectors: LinearBlackBoxCase) -> None:
    target = (vectors.y + 3) % 10
    starts = target_starts(vectors, target)
    oracle = HardLabelOracle(vectors.model, vectors.x, vectors.y, target, budget=100)
    start, found = starting_points(oracle, torch.arange(4), starts, torch.Generator(), noise_tries=1, tolerance=1e-3)
    assert bool(found.all())
    assert bool((vectors.model(start).argmax(dim=1) == target).all())
    assert oracle.queries.tolist() == [3 + 10] * 4  # the 3 candidates, then 10 bisection steps to 1e-3
    cosine = nn.functional.cosine_similarity(start - vectors.x, starts[:, 2] - vectors.x, dim=1)
    assert bool((cosine > 1 - 1e-5).all())  # on the segment from x0 to the closest target image
    assert bool(((start - vectors.x).norm(dim=1) < (starts[:, 2] - vectors.x).norm(dim=1)).all())


@pytest.mark.parametrize("attack", [BoundaryAttack, GuessingSmart])
def test_tiny_budgets_are_never_exceeded(attack: type[BlackBoxAttack], images: LinearBlackBoxCase) -> None:
    model = CountingModel(images.model)
    for budget in (1, 5, 13):
        model.rows = 0
        result = attack(model, budget=budget, seed=0).run(images.x, images.y)
        assert bool((result.queries <= budget).all())
        assert model.rows - len(images.x) == int(result.queries.sum())
        l2 = (result.x_adv - images.x).flatten(1).norm(dim=1)
        adversarial = images.model(result.x_adv).argmax(dim=1) != images.y
        assert bool((adversarial | (l2 == 0)).all())  # the best verified point, or x0 when none


def test_an_unreachable_start_leaves_the_example_alone(vectors: LinearBlackBoxCase) -> None:
    # Every start candidate is of the original class: nothing is adversarial, x0 comes back.
    starts = vectors.x[:, None].repeat(1, 2, 1)
    result = BoundaryAttack(vectors.model, budget=50, seed=0).run(vectors.x, vectors.y, starts=starts)
    assert not bool(result.success.any())
    assert result.queries.tolist() == [2, 2, 2, 2]
    assert torch.equal(result.x_adv, vectors.x)


def test_settings_are_checked(vectors: LinearBlackBoxCase) -> None:
    with pytest.raises(ConfigError):
        BoundaryAttack(vectors.model, budget=10, step_adaptation=1.0)
    with pytest.raises(ConfigError):
        GuessingSmart(vectors.model, budget=10, candidates=0)
    with pytest.raises(ConfigError, match="images"):
        GuessingSmart(vectors.model, budget=10).run(vectors.x, vectors.y)


def test_registered_as_blackbox_attacks(vectors: LinearBlackBoxCase) -> None:
    assert isinstance(registry.create("blackbox", "boundary", model=vectors.model, budget=10), BoundaryAttack)
    assert isinstance(registry.create("blackbox", "guessing_smart", model=vectors.model, budget=10), GuessingSmart)


def test_perlin_noise_is_unit_norm_seeded_and_low_frequency() -> None:
    noise = perlin_noise(64, (3, 28, 28), 5, torch.Generator().manual_seed(0))
    assert noise.shape == (64, 3, 28, 28)
    assert torch.allclose(noise.flatten(1).norm(dim=1), torch.ones(64))
    assert torch.equal(noise, perlin_noise(64, (3, 28, 28), 5, torch.Generator().manual_seed(0)))
    white = torch.randn(64, 3, 28, 28, generator=torch.Generator().manual_seed(0))
    white = white / white.flatten(1).norm(dim=1).view(-1, 1, 1, 1)

    def roughness(z: Tensor) -> float:  # mean squared difference of horizontal neighbours
        return float((z[..., 1:] - z[..., :-1]).pow(2).mean())

    assert roughness(noise) < 0.25 * roughness(white)
    with pytest.raises(ConfigError):
        perlin_noise(1, (1, 8, 8), 8, torch.Generator())

