"""Natural training: configuration, determinism, exact resume, schedules and the checkpoint cache.

All data is synthetic; nothing here reads a dataset (``load_training_split`` is replaced).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace

import pytest
import torch
from advrobust.defenses import Natural
from advrobust.defenses.base import VicinalBatch, class_count, one_hot
from advrobust.errors import ConfigError
from advrobust.models import create_model
from advrobust.runtime import cache_root
from advrobust.training import (
    TrainConfig,
    load_checkpoint,
    random_crop_flip,
    run_directory,
    train,
    trained_model,
)
from advrobust.training import cache as cache_module
from torch import nn

CPU = torch.device("cpu")


def quadrant_images(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST-shaped images whose class (0-3) is the bright 14x14 quadrant, on uniform noise."""
    generator = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 4, (n,), generator=generator)
    x = 0.3 * torch.rand(n, 1, 28, 28, generator=generator)
    rows = (y // 2 * 14)[:, None] + torch.arange(14)
    cols = (y % 2 * 14)[:, None] + torch.arange(14)
    bright = torch.zeros(n, 28, 28, dtype=torch.bool)
    bright[torch.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]] = True
    return x + 0.7 * bright[:, None].float(), y


def small_config(**overrides) -> TrainConfig:
    fields = dict(
        model="cw_mnist", dataset="synthetic", epochs=2, batch_size=32, optimizer="adam", lr=1e-3
    )
    return TrainConfig(**{**fields, **overrides})


def fresh_model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return create_model("cw_mnist")


def assert_same_weights(a: nn.Module, b: nn.Module) -> None:
    state_a, state_b = a.state_dict(), b.state_dict()
    assert state_a.keys() == state_b.keys()
    for key in state_a:
        assert torch.equal(state_a[key], state_b[key]), key


def weights_differ(a: nn.Module, b: nn.Module) -> bool:
    return any(not torch.equal(a.state_dict()[k], b.state_dict()[k]) for k in a.state_dict())


# --- configuration -------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(epochs=0), "epochs"),
        (dict(epochs=-3), "epochs"),
        (dict(lr=0.0), "lr"),
        (dict(lr=-0.1), "lr"),
        (dict(batch_size=0), "batch_size"),
        (dict(optimizer="rmsprop"), "optimizer"),
        (dict(schedule="linear"), "schedule"),
        (dict(model="no_such_net"), "model"),
        (dict(momentum=-0.5), "momentum"),
        (dict(weight_decay=-1e-4), "weight_decay"),
        (dict(gamma=0.0), "gamma"),
        (dict(milestones=(3, 2)), "milestones"),
        (dict(train_subset=0), "train_subset"),
        (dict(seed=-1), "seed"),
        (dict(nesterov=True, optimizer="adam"), "nesterov"),
    ],
)
def test_bad_config_values_raise_one_line_config_errors(overrides, message):
    with pytest.raises(ConfigError, match=message) as error:
        small_config(**overrides)
    assert "\n" not in str(error.value)


def test_config_key_is_stable_and_covers_every_field():
    config = small_config()
    assert config.key() == small_config().key()
    assert len(config.key()) == 12 and int(config.key(), 16) >= 0
    changed = [
        replace(config, epochs=3), replace(config, lr=2e-3), replace(config, seed=1),
        replace(config, augment=True), replace(config, bf16=False),
        replace(config, train_subset=100),
        replace(config, schedule="multistep", milestones=(1,)), replace(config, dataset="other"),
    ]
    assert len({c.key() for c in changed} | {config.key()}) == len(changed) + 1


def test_config_round_trips_through_json():
    config = small_config(schedule="multistep", milestones=[1, 2], epochs=3)
    assert config.milestones == (1, 2)  # lists are frozen into tuples, so configs stay hashable
    again = TrainConfig(**json.loads(json.dumps(config.to_dict())))
    assert again == config and again.key() == config.key() and hash(again) == hash(config)


# --- the training loop ---------------------------------------------------------------------------

def test_cw_mnist_learns_a_separable_task():
    x, y = quadrant_images(512, seed=0)
    model = fresh_model()
    history = train(model, x, y, small_config(epochs=3), CPU)
    assert history["accuracy"][-1] > 0.9  # training-batch accuracy of the last epoch
    assert history["loss"][-1] < history["loss"][0]
    x_test, y_test = quadrant_images(256, seed=1)
    with torch.no_grad():
        assert (model(x_test).argmax(1) == y_test).float().mean() > 0.9
    assert not model.training  # handed back in eval mode


def test_seeded_runs_give_identical_weights_and_other_seeds_do_not():
    x, y = quadrant_images(128, seed=0)
    config = small_config(augment=True)
    first, second, other = fresh_model(), fresh_model(), fresh_model()
    history_first = train(first, x, y, config, CPU)
    history_second = train(second, x, y, config, CPU)
    assert_same_weights(first, second)
    assert history_first["loss"] == history_second["loss"]
    train(other, x, y, replace(config, seed=1), CPU)
    assert weights_differ(first, other)


def test_resumed_training_equals_the_uninterrupted_run(tmp_path):
    x, y = quadrant_images(160, seed=0)  # 5 batches of 32; dropout, augmentation, cosine lr on
    config = small_config(epochs=3, augment=True, schedule="cosine", optimizer="sgd", lr=0.05)
    straight = fresh_model()
    history_straight = train(straight, x, y, config, CPU, tmp_path / "straight")

    interrupted = fresh_model()
    train(interrupted, x, y, config, CPU, tmp_path / "resumed", stop_after_epoch=1)
    assert load_checkpoint(tmp_path / "resumed" / "last.pt")["epoch"] == 1
    resumed = fresh_model(seed=123)  # as in a new process; last.pt overwrites these weights
    history_resumed = train(resumed, x, y, config, CPU, tmp_path / "resumed")

    assert_same_weights(straight, resumed)
    for name in ("loss", "accuracy", "lr"):
        assert history_resumed[name] == history_straight[name]
    assert load_checkpoint(tmp_path / "resumed" / "last.pt")["epoch"] == 3


def test_a_finished_checkpoint_is_not_trained_further(tmp_path):
    x, y = quadrant_images(64, seed=0)
    config = small_config(epochs=1)
    done = fresh_model()
    train(done, x, y, config, CPU, tmp_path)
    again = fresh_model(seed=5)
    history = train(again, x, y, config, CPU, tmp_path, defense=_DefenseThatMustNotRun())
    assert_same_weights(done, again)
    assert len(history["loss"]) == 1


class _DefenseThatMustNotRun(Natural):
    def vicinal(self, model, x, y, state):
        raise AssertionError("training ran although the checkpoint was complete")


def test_a_checkpoint_of_another_config_is_refused(tmp_path):
    x, y = quadrant_images(64, seed=0)
    train(fresh_model(), x, y, small_config(epochs=1), CPU, tmp_path)
    with pytest.raises(ConfigError, match="different training config"):
        train(fresh_model(), x, y, small_config(epochs=1, lr=0.01), CPU, tmp_path)


def test_custom_objective_sees_every_example_once_per_epoch():
    x, y = quadrant_images(100, seed=0)
    x[:, 0, 0, 0] = torch.arange(100) / 100.0  # tag each image so the objective can recognise it
    seen: list[list[int]] = []

    class Recording(Natural):
        def vicinal(self, model, xb, yb, state):
            seen.append((xb[:, 0, 0, 0] * 100).round().long().tolist())
            return super().vicinal(model, xb, yb, state)

    train(fresh_model(), x, y, small_config(epochs=2, batch_size=25), CPU, defense=Recording())
    assert len(seen) == 8 and all(len(batch) == 25 for batch in seen)
    epochs = [sum(seen[:4], []), sum(seen[4:], [])]
    assert all(sorted(order) == list(range(100)) for order in epochs)
    assert epochs[0] != epochs[1]  # a new permutation every epoch


def test_incomplete_last_batch_is_dropped():
    x, y = quadrant_images(70, seed=0)
    calls = []

    class Recording(Natural):
        def vicinal(self, model, xb, yb, state):
            calls.append(len(xb))
            return super().vicinal(model, xb, yb, state)

    train(fresh_model(), x, y, small_config(epochs=1, batch_size=32), CPU, defense=Recording())
    assert calls == [32, 32]


def _linear_model() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(4, 2))


@pytest.mark.parametrize(
    "schedule, milestones, expected_factors",
    [
        ("constant", (), [1.0, 1.0, 1.0, 1.0]),
        ("multistep", (1, 3), [1.0, 0.5, 0.5, 0.25]),
        # cosine is annealed per step: 2 steps per epoch, 8 in all; epoch e starts at step 2e
        ("cosine", (), [0.5 * (1 + math.cos(math.pi * e / 4)) for e in range(4)]),
    ],
)
def test_learning_rate_schedules(schedule, milestones, expected_factors):
    x, y = torch.rand(8, 1, 2, 2), torch.randint(0, 2, (8,))
    config = TrainConfig(
        model="cw_mnist", dataset="synthetic", epochs=4, batch_size=4, optimizer="sgd", lr=0.2,
        schedule=schedule, milestones=milestones, gamma=0.5,
    )
    history = train(_linear_model(), x, y, config, CPU)
    assert history["lr"] == pytest.approx([0.2 * f for f in expected_factors])


def test_progress_bar_only_when_asked_or_on_a_terminal(capsys):
    x, y = torch.rand(8, 1, 2, 2), torch.randint(0, 2, (8,))
    config = TrainConfig(model="cw_mnist", dataset="synthetic", epochs=1, batch_size=4, lr=0.1)
    train(_linear_model(), x, y, config, CPU)  # pytest's stderr is not a terminal
    assert capsys.readouterr().err == ""
    train(_linear_model(), x, y, config, CPU, progress=True)
    assert "train cw_mnist" in capsys.readouterr().err


# --- augmentation --------------------------------------------------------------------------------

def test_random_crop_flip_is_a_shifted_window_of_the_padded_image():
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(64, 3, 8, 8)
    out = random_crop_flip(x, generator, padding=2)
    assert out.shape == x.shape
    padded = nn.functional.pad(x, (2, 2, 2, 2))
    offsets, flips = set(), 0
    for n in range(len(x)):
        matches = [
            (dy, dx, flip)
            for dy in range(5)
            for dx in range(5)
            for flip in (False, True)
            if torch.equal(out[n], _window(padded[n], dy, dx, 8, flip))
        ]
        assert matches, f"example {n} is not a crop of its padded image"
        offsets.add(matches[0][:2])
        flips += matches[0][2]
    assert len(offsets) > 10 and 10 < flips < 54  # offsets and flips really vary


def _window(image: torch.Tensor, top: int, left: int, size: int, flip: bool) -> torch.Tensor:
    window = image[:, top : top + size, left : left + size]
    return window.flip(-1) if flip else window


def test_random_crop_flip_without_padding_only_flips():
    x = torch.rand(32, 1, 5, 5)
    out = random_crop_flip(x, torch.Generator().manual_seed(0), padding=0)
    flipped = [torch.equal(o, xi.flip(-1)) for o, xi in zip(out, x)]
    kept = [torch.equal(o, xi) for o, xi in zip(out, x)]
    assert all(f or k for f, k in zip(flipped, kept)) and any(flipped) and any(kept)


# --- the checkpoint cache ------------------------------------------------------------------------

@pytest.fixture
def synthetic_split(monkeypatch):
    """Replace the dataset read by ``trained_model`` with 64 synthetic images; counts the calls."""
    calls = []

    def fake_split(config, data_root, device):
        calls.append((config.dataset, data_root, device))
        return quadrant_images(64, seed=0)

    monkeypatch.setattr(cache_module, "load_training_split", fake_split)
    return calls


def test_trained_model_trains_once_then_loads_from_cache(tmp_path, synthetic_split, monkeypatch):
    config = small_config(epochs=1)
    first = trained_model(config, device="cpu", cache_dir=tmp_path)
    assert not first.training and len(synthetic_split) == 1

    def no_training(*args, **kwargs):
        raise AssertionError("trained again although final.pt exists")

    monkeypatch.setattr(cache_module, "train", no_training)
    second = trained_model(config, device="cpu", cache_dir=tmp_path)
    assert_same_weights(first, second)
    assert not second.training and len(synthetic_split) == 1  # the data was not even read

    directory = run_directory(config, tmp_path)
    assert directory.name == f"cw_mnist-synthetic-{config.key()}"
    assert json.loads((directory / "config.json").read_text()) == config.to_dict()


def test_checkpoints_load_with_weights_only(tmp_path, synthetic_split):
    config = small_config(epochs=1)
    model = trained_model(config, device="cpu", cache_dir=tmp_path)
    directory = run_directory(config, tmp_path)
    final = torch.load(directory / "final.pt", weights_only=True)
    last = torch.load(directory / "last.pt", weights_only=True)
    assert final.keys() == model.state_dict().keys()
    assert {"model", "steppers", "epoch", "history", "config_key", "defense_parameters"} <= last.keys()
    assert last["steppers"][0].keys() == {"optimizer", "scheduler"}
    assert last["epoch"] == 1 and last["config_key"] == config.key()


def test_different_configs_get_different_directories(tmp_path, synthetic_split):
    base = small_config(epochs=1)
    a = trained_model(base, device="cpu", cache_dir=tmp_path)
    b = trained_model(replace(base, seed=1), device="cpu", cache_dir=tmp_path)
    assert len(synthetic_split) == 2
    assert len(list(tmp_path.iterdir())) == 2
    assert weights_differ(a, b)


def test_cache_location_argument_then_environment_then_repository(tmp_path, monkeypatch):
    monkeypatch.setenv("ADVROBUST_CACHE", str(tmp_path / "env"))
    assert cache_root(tmp_path / "arg") == tmp_path / "arg"
    assert cache_root() == tmp_path / "env"
    monkeypatch.delenv("ADVROBUST_CACHE")
    assert cache_root().parts[-2:] == ("data", "checkpoints")
    assert (cache_root().parents[1] / "lib" / "advrobust").is_dir()


def test_training_split_comes_from_load_dataset_with_subset(monkeypatch):
    class FakeData:
        def __init__(self, n):
            self.x, self.y = torch.zeros(n, 1, 28, 28), torch.zeros(n, dtype=torch.long)

        def subset(self, n, seed):
            requests.append(("subset", n, seed))
            return FakeData(n)

    requests = []

    def fake_load_dataset(name, split, root=None, device=None):
        requests.append((name, split, root, device))
        return FakeData(50)

    monkeypatch.setattr(cache_module, "load_dataset", fake_load_dataset)
    x, y = cache_module.load_training_split(small_config(train_subset=20, seed=7), "/data", CPU)
    assert requests == [("synthetic", "train", "/data", CPU), ("subset", 20, 7)]
    assert len(x) == len(y) == 20


def test_labels_beyond_the_model_classes_are_refused(tmp_path, monkeypatch):
    x, y = quadrant_images(8, seed=0)
    monkeypatch.setattr(cache_module, "load_training_split", lambda *a: (x, y + 10))
    with pytest.raises(ConfigError, match="classes"):
        trained_model(small_config(epochs=1), device="cpu", cache_dir=tmp_path)


# --- a defense's learned parameters (SPROUT's β is the first) ------------------------------------

@dataclass(frozen=True)
class _LearnedSmoothing(Natural):
    """Labels smoothed toward softmax(β), with β learned by gradient ascent on the loss: the shape
    of SPROUT's Dirichlet label smoothing (§5.3), small enough to check by hand."""

    alpha: float = 0.5
    beta_lr: float = 0.5

    def learned_parameters(self, model, device, batch_shape):
        return {"beta": torch.zeros(class_count(model), device=device, requires_grad=True)}

    def parameter_optimizer(self, parameters):
        return torch.optim.SGD(parameters, lr=self.beta_lr, maximize=True)

    def parameter_lr_factor(self, step, total_steps):
        return 1.0 - step / total_steps

    def vicinal(self, model, x, y, state):
        k = state["beta"].numel()
        return VicinalBatch(x=x, y=(1 - self.alpha) * one_hot(y, k) + self.alpha * state["beta"].softmax(0))


def _flat_model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 4))


def test_learned_parameters_take_one_ascent_step_per_batch(tmp_path):
    x, y = quadrant_images(64, seed=1)
    defense = _LearnedSmoothing()
    before = _flat_model()
    beta = torch.zeros(4, requires_grad=True)
    target = 0.5 * one_hot(y, 4) + 0.5 * beta.softmax(0)
    loss = -(target * torch.log_softmax(before(x), dim=1)).sum(dim=1).mean()
    (gradient,) = torch.autograd.grad(loss, beta)
    model = _flat_model()
    train(model, x, y, small_config(epochs=1, batch_size=64), CPU, tmp_path, defense=defense)  # one full batch
    learned = load_checkpoint(tmp_path / "last.pt")["defense_parameters"]["beta"]
    assert gradient.abs().max() > 1e-3
    assert torch.allclose(learned, defense.beta_lr * gradient, atol=1e-6)  # ascent: + lr * gradient


def test_learned_parameters_resume_exactly(tmp_path):
    x, y = quadrant_images(96, seed=2)
    config = small_config(epochs=3, batch_size=32)
    straight = _flat_model()
    train(straight, x, y, config, CPU, tmp_path / "straight", defense=_LearnedSmoothing())
    resumed = _flat_model()
    train(resumed, x, y, config, CPU, tmp_path / "resumed", defense=_LearnedSmoothing(), stop_after_epoch=1)
    halfway = load_checkpoint(tmp_path / "resumed" / "last.pt")
    train(resumed, x, y, config, CPU, tmp_path / "resumed", defense=_LearnedSmoothing())
    assert_same_weights(straight, resumed)
    final = {name: load_checkpoint(tmp_path / name / "last.pt") for name in ("straight", "resumed")}
    assert torch.equal(final["straight"]["defense_parameters"]["beta"], final["resumed"]["defense_parameters"]["beta"])
    assert not torch.equal(halfway["defense_parameters"]["beta"], final["resumed"]["defense_parameters"]["beta"])
    assert final["resumed"]["steppers"][1]["scheduler"]["last_epoch"] == 3 * (96 // 32)
