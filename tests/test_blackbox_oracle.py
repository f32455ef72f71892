"""The query oracle: counting, budgets, clipping, batching and the best-distortion trace."""
from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from advrobust.blackbox import HardLabelOracle, ScoreOracle
from advrobust.blackbox.oracle import QueryTrace
from advrobust.errors import ConfigError


class CountingModel(nn.Module):
    """Wraps a model; remembers every row it was asked about."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.seen: list[Tensor] = []

    def forward(self, x: Tensor) -> Tensor:
        self.seen.append(x.detach().clone())
        return self.model(x)

    @property
    def rows(self) -> int:
        return sum(s.shape[0] for s in self.seen)


def half_space(d: int = 5) -> nn.Linear:
    """Class 1 iff x_0 > 0.5 (two logits)."""
    layer = nn.Linear(d, 2)
    with torch.no_grad():
        layer.weight.zero_()
        layer.bias.zero_()
        layer.weight[1, 0] = 1.0
        layer.bias[1] = -0.5
    return layer


def test_counts_one_query_per_row_and_never_exceeds_the_budget() -> None:
    model = CountingModel(half_space())
    x0 = torch.full((3, 5), 0.2)
    oracle = HardLabelOracle(model, x0, torch.zeros(3, dtype=torch.long), budget=4, max_batch=2)
    index = torch.tensor([0, 1, 0, 0, 0, 0, 2, 1])
    labels, answered = oracle(torch.rand(8, 5), index)
    # Example 0 asks 5 times: its first 4 rows (in order) are answered, the 5th is refused.
    assert answered.tolist() == [True, True, True, True, True, False, True, True]
    assert labels[~answered].tolist() == [-1]
    assert oracle.queries.tolist() == [4, 2, 1]
    assert model.rows == 7 == int(oracle.queries.sum())
    assert all(s.shape[0] <= 2 for s in model.seen)  # chunked by max_batch
    _, answered = oracle(torch.rand(3, 5), torch.tensor([0, 1, 1]))
    assert answered.tolist() == [False, True, True]
    assert oracle.queries.tolist() == [4, 4, 1] and model.rows == 9
    assert oracle.exhausted().tolist() == [True, True, False]


def test_queries_are_clipped_and_best_distance_is_measured_after_clipping() -> None:
    model = CountingModel(half_space())
    x0 = torch.full((1, 5), 0.4)
    oracle = HardLabelOracle(model, x0, torch.zeros(1, dtype=torch.long), budget=10)
    far = x0.clone()
    far[0, 0] = 3.0  # clipped to 1.0: adversarial at distance 0.6, not 2.6
    adv, _ = oracle.is_adversarial(far, torch.tensor([0]))
    assert adv.tolist() == [True]
    assert float(model.seen[0].max()) == 1.0
    assert oracle.best_distance.item() == pytest.approx(0.6)
    assert float(oracle.best_x.max()) == 1.0


def test_trace_gives_the_best_distance_within_every_budget() -> None:
    oracle = HardLabelOracle(half_space(), torch.full((2, 5), 0.4), torch.zeros(2, dtype=torch.long), budget=10)
    points = torch.full((4, 5), 0.4)
    points[:, 0] = torch.tensor([0.9, 0.45, 0.7, 0.55])  # example 0: benign, then 0.3; example 1: 0.5, 0.15
    oracle(points, torch.tensor([0, 0, 1, 1]))
    points[:, 0] = torch.tensor([0.52, 0.8, 0.8, 0.8])
    oracle(points, torch.tensor([0, 1, 1, 1]))
    best = oracle.trace().best_at([0, 1, 2, 3, 10])
    assert best[0].tolist() == pytest.approx([float("inf"), 0.5, 0.5, 0.12, 0.12])
    assert best[1].tolist() == pytest.approx([float("inf"), 0.3, 0.15, 0.15, 0.15])
    assert oracle.best_distance.tolist() == pytest.approx([0.12, 0.15])
    assert torch.allclose(oracle.best_x[1, 0], torch.tensor(0.55))


def test_settle_spends_the_reserve_on_a_point_just_past_each_best_one() -> None:
    model = CountingModel(half_space())
    x0 = torch.full((3, 5), 0.4)
    oracle = HardLabelOracle(model, x0, torch.zeros(3, dtype=torch.long), budget=3, reserve=1)
    points = x0[[0, 1, 2, 2, 2]].clone()
    points[:, 0] = torch.tensor([0.6, 0.45, 0.7, 0.55, 0.52])  # adversarial iff > 0.5
    _, answered = oracle(points, torch.tensor([0, 1, 2, 2, 2]))
    # The attack sees a budget of 2: example 2's third query is refused.
    assert answered.tolist() == [True, True, True, True, False]
    assert oracle.remaining().tolist() == [1, 1, 0] and oracle.exhausted().tolist() == [False, False, True]
    settled = oracle.settle(1e-4)
    # Examples 0 and 2 spend the reserved query; example 1 found nothing and keeps x0.
    assert oracle.queries.tolist() == [2, 1, 3] and model.rows == 6
    assert settled[:, 0].tolist() == pytest.approx([0.4 + 1.0001 * 0.2, 0.4, 0.4 + 1.0001 * 0.15], abs=1e-7)
    assert torch.equal(settled[:, 1:], x0[:, 1:])
    # The trace keeps the best points as found.
    assert oracle.best_distance.tolist() == pytest.approx([0.2, float("inf"), 0.15])
    assert oracle.trace().best_at([3])[:, 0].tolist() == pytest.approx([0.2, float("inf"), 0.15])


def test_settle_keeps_the_best_point_when_the_step_past_it_fails_or_cannot_be_paid() -> None:
    def slab(x: Tensor) -> Tensor:
        """Class 1 only in the slab 0.5 < x_0 < 0.50001: the ray from x0 = 0.4 leaves it at once."""
        inside = (x[:, 0] > 0.5) & (x[:, 0] < 0.50001)
        return torch.stack([~inside, inside], dim=1).float()

    x0 = torch.full((1, 5), 0.4)
    point = x0.clone()
    point[0, 0] = 0.500005
    for budget, reserve, queries in ((2, 1, 2), (1, 0, 1)):
        oracle = HardLabelOracle(slab, x0, torch.zeros(1, dtype=torch.long), budget=budget, reserve=reserve)
        adv, _ = oracle.is_adversarial(point, torch.tensor([0]))
        assert adv.tolist() == [True]
        assert torch.equal(oracle.settle(1e-4), point)  # 0.4 + 1.0001 * 0.100005 is outside the slab
        assert oracle.queries.tolist() == [queries]  # with no query left, nothing is asked


def test_targeted_goal_and_tensor_bounds() -> None:
    model = nn.Linear(3, 3)
    with torch.no_grad():
        model.weight.copy_(torch.eye(3))
        model.bias.zero_()
    x0 = torch.tensor([[1.0, 0.0, 0.0]])
    lower, upper = torch.tensor([0.0, 0.0, 0.0]), torch.tensor([1.0, 0.5, 2.0])
    oracle = HardLabelOracle(model, x0, torch.tensor([0]), torch.tensor([2]), budget=5, bounds=(lower, upper))
    adv, _ = oracle.is_adversarial(torch.tensor([[0.0, 3.0, 0.0], [0.0, 0.0, 3.0]]), torch.tensor([0, 0]))
    assert adv.tolist() == [False, True]  # class 1 is not the target; class 2 is (clipped to 2.0)
    assert oracle.best_x.tolist() == [[0.0, 0.0, 2.0]]


def test_score_oracle_returns_probabilities_and_nan_when_refused() -> None:
    model = nn.Linear(4, 3)
    x0 = torch.rand(2, 4)
    oracle = ScoreOracle(model, x0, torch.zeros(2, dtype=torch.long), budget=1, num_classes=3)
    probs, answered = oracle(torch.rand(3, 4), torch.tensor([0, 0, 1]))
    assert answered.tolist() == [True, False, True]
    assert torch.allclose(probs[answered].sum(dim=1), torch.ones(2))
    assert bool(probs[1].isnan().all())


def test_trace_subset_renumbers_examples() -> None:
    trace = QueryTrace(3, torch.tensor([0, 2, 2]), torch.tensor([1, 1, 5]), torch.tensor([1.0, 2.0, 0.5]))
    sub = trace.subset(torch.tensor([False, True, True]))
    assert sub.best_at([10]).flatten().tolist() == [float("inf"), 0.5]


def test_bad_budget_and_norm_raise_config_error() -> None:
    with pytest.raises(ConfigError):
        HardLabelOracle(half_space(), torch.rand(1, 5), torch.zeros(1, dtype=torch.long), budget=-1)
    with pytest.raises(ConfigError):
        HardLabelOracle(half_space(), torch.rand(1, 5), torch.zeros(1, dtype=torch.long), budget=1, norm="l1")
