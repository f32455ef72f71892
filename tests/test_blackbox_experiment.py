"""Reading Table 2.2's metrics off query traces, the resumable attack runner, targeted starts."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from advrobust.attacks import AttackSpec
from advrobust.attacks.result import AttackResult
from advrobust.blackbox import BlackBoxResult, OPTAttack, QueryTrace, SignOPT
from advrobust.experiments import attack_runs
from advrobust.experiments.attack_runs import (
    _cache_path,
    distortion_table,
    random_targets,
    run_attacks,
    target_class_starts,
)
from advrobust.profiles.hard_label import hard_label
from advrobust.profiles.score_based import score_based
from advrobust.runtime import source_hash
from test_blackbox_oracle import CountingModel
from test_direction_search import linear_problem
from torch import nn


def made_up_result() -> BlackBoxResult:
    """Three examples: found at distances 3 → 1 (queries 10, 50), 2 (query 30), and never."""
    trace = QueryTrace(3, torch.tensor([0, 1, 0]), torch.tensor([10, 30, 50]), torch.tensor([3.0, 2.0, 1.0]))
    zeros = torch.zeros(3)
    return BlackBoxResult(
        x_adv=torch.zeros(3, 2), success=torch.tensor([True, True, False]), l2=zeros, linf=zeros,
        queries=torch.tensor([60, 60, 60]), original_correct=torch.ones(3, dtype=torch.bool), trace=trace,
    )


def test_distortion_table_reads_each_budget_off_the_trace() -> None:
    table = distortion_table({"a": made_up_result()}, [20, 40, 60], threshold=1.5).set_index("queries")
    assert table.loc[20, "avg_l2"] == pytest.approx(3.0)
    assert table.loc[40, "avg_l2"] == pytest.approx(2.5)
    assert table.loc[60, "avg_l2"] == pytest.approx(1.5)
    assert table.loc[40, "median_l2"] == pytest.approx(3.0)  # {3, 2, inf}
    assert table.loc[60, "success_rate"] == pytest.approx(1 / 3)
    assert table.loc[20, "found"] == pytest.approx(1 / 3)
    assert issubclass(BlackBoxResult, AttackResult)


def test_run_attacks_resumes_from_the_cache(tmp_path) -> None:
    model, x, y, _ = linear_problem(n=3)
    specs = {"Sign-OPT": AttackSpec(SignOPT, budget=300, seed=0)}
    first = run_attacks(model, specs, x, y, model_key="linear", cache_dir=tmp_path)["Sign-OPT"]
    counting = CountingModel(model)
    again = run_attacks(counting, specs, x, y, model_key="linear", cache_dir=tmp_path)["Sign-OPT"]
    assert counting.rows == 0, "a cached run must not query the model"
    assert torch.equal(first.x_adv, again.x_adv) and torch.equal(first.queries, again.queries)
    assert torch.equal(first.best_at([100, 300]), again.best_at([100, 300]))
    other = run_attacks(counting, specs, x[:2], y[:2], model_key="linear", cache_dir=tmp_path)
    assert counting.rows > 0 and len(other["Sign-OPT"].queries) == 2  # other inputs: a new run


def test_targets_differ_from_labels_and_starts_have_the_target_class() -> None:
    y = torch.arange(10).repeat(3)
    target = random_targets(y, 10, seed=0)
    assert bool((target != y).all()) and set(target.tolist()) <= set(range(10))
    images = torch.arange(40.0)[:, None]
    predicted = torch.arange(40) % 4
    starts = target_class_starts(predicted, images, torch.tensor([2, 0]), count=3)
    assert starts.shape == (2, 3, 1)
    assert (starts[0, :, 0] % 4 == 2).all() and (starts[1, :, 0] % 4 == 0).all()
    rare = target_class_starts(torch.tensor([0, 1, 1, 1]), images[:4], torch.tensor([0]), count=3)
    assert rare[0, :, 0].tolist() == [0.0, 0.0, 0.0]


def test_cached_runs_live_in_the_blackbox_folder_of_the_cache(tmp_path) -> None:
    model = nn.Linear(2, 2)
    x = torch.rand(2, 2)
    y = model(x).argmax(dim=1)
    run_attacks(model, {"s": AttackSpec(SignOPT, budget=50)}, x, y, model_key="k", cache_dir=tmp_path)
    assert [p.parent.name for p in tmp_path.rglob("*.pt")] == ["blackbox"]


def test_the_profiles_specs_keep_the_settings_of_the_thesis_pages() -> None:
    mnist = hard_label("smoke", "mnist")
    old = {  # label -> (registry name, settings) as the profiles wrote them before
        "Sign-OPT attack": ("sign_opt", {"budget": 600, "seed": 0}),
        "OPT attack": ("opt", {"budget": 600, "seed": 0}),
        "Boundary attack": ("boundary", {"budget": 600, "seed": 0}),
        "Guessing Smart": ("guessing_smart", {"budget": 600, "seed": 0}),
    }
    specs = mnist.untargeted_specs()
    assert list(specs) == list(old)
    assert {label: (spec.name, dict(spec.settings)) for label, spec in specs.items()} == old
    assert {k: dict(v.settings) for k, v in mnist.q_specs().items()} == {
        "Q=20": {"budget": 400, "seed": 0, "q": 20}, "Q=200": {"budget": 400, "seed": 0}}
    without = mnist.zo_specs()["ZO-SignSGD without SQO"]
    assert dict(without.settings) == {"budget": 400, "seed": 0, "single_query": False}
    assert [spec.name for spec in mnist.targeted_specs().values()] == ["sign_opt", "opt", "boundary", "svm_opt"]
    soft = score_based("smoke")
    assert (soft.zoo.name, dict(soft.zoo.settings)) == ("zoo", {
        "budget": 1500, "coords": 128, "lr": 0.1, "initial_const": 1.0, "binary_search_steps": 1, "steps": 3000,
        "seed": 0})
    assert (soft.nes.name, dict(soft.nes.settings)) == ("nes", {
        "budget": 1000, "eps": 0.3, "lr": 0.05, "samples": 20, "sigma": 1e-3, "seed": 0})


def test_tensor_settings_enter_the_cache_key_with_their_exact_values(tmp_path) -> None:
    x = torch.zeros(1, 3)
    lower = torch.tensor([0.0, -1.0, 2.0])
    upper = torch.tensor([1.0, 1.0, 3.0])

    def path(bounds: tuple) -> Path:
        return _cache_path(AttackSpec(OPTAttack, budget=10, bounds=bounds), "key", (x, None), tmp_path)

    assert path((lower, upper)) == path((lower.clone(), upper.clone()))
    assert path((lower, upper)) != path((lower, upper + 1e-6))  # below str(tensor)'s four decimals
    assert path((0.0, 1.0)) != path((lower, upper))


def test_a_changed_attack_package_gets_new_cache_files(tmp_path, monkeypatch) -> None:
    package = tmp_path / "package"
    package.mkdir()
    (package / "attack.py").write_text("STEP = 1\n")
    first = source_hash.__wrapped__(package)
    (package / "attack.py").write_text("STEP = 2\n")
    assert source_hash.__wrapped__(package) != first
    spec, x = AttackSpec(SignOPT, budget=50), torch.zeros(1, 2)
    before = _cache_path(spec, "key", (x,), tmp_path)
    assert before == _cache_path(spec, "key", (x,), tmp_path)
    monkeypatch.setattr(attack_runs, "source_hash", lambda package: "edited")
    assert _cache_path(spec, "key", (x,), tmp_path) != before
