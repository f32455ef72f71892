"""Data-parallel training (advrobust.training.shard, .distributed): two processes over gloo on the
CPU train as one process does with the same global batch, keep the per-example state (CAT's ε_i)
and the learned parameters (SPROUT's β, Free AT's δ) identical on every rank, and write a
checkpoint that resumes in one process.

The two processes are started once (``two_process_runs``) and train every scenario for one epoch
of two; the tests compare with one process. Tolerance: the weights are float32, and the two
processes average two local mean losses of 8 examples where one process takes one mean of 16 (and
the matrix products see 8 rows instead of 16), so sums are taken in another order: the weights
agree to ``ATOL`` = 1e-5 after 8 steps of SGD at lr 0.1, not bit for bit. The model has no
BatchNorm: normalisation layers stay per rank (see ``shard.py``), so only a BN-free model trains
exactly as one process does. The scenarios have no randomness of their own (CAT without label
smoothing starts its attack at 0), since each rank draws its randomness from its own stream;
SPROUT, random, is checked for consistency across ranks and resumption only.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp
from advrobust.defenses import CAT, SPROUT, Defense, FreeAT, Natural
from advrobust.defenses.base import VicinalBatch, class_count, one_hot
from advrobust.errors import ConfigError
from advrobust.training import TrainConfig, load_checkpoint
from advrobust.training.distributed import main
from advrobust.training.loop import StartFrom, train_on
from advrobust.training.run_file import describe_run, read_run
from advrobust.training.shard import Shard, process_group
from advrobust.training.sources import BatchSource, InMemory, Streamed
from torch import nn
from torch.utils.data import TensorDataset

WORLD = 2
ATOL = 1e-5
CPU = torch.device("cpu")
# 64 examples in global batches of 16: 4 steps per epoch, 8 examples per rank and step
CONFIG = TrainConfig(model="cw_mnist", dataset="synthetic", epochs=2, batch_size=16, optimizer="sgd", lr=0.1)
REFUSED = "refused"  # the scenario whose refusal each rank records


@dataclass(frozen=True)
class LearnedSmoothing(Natural):
    """Labels smoothed toward softmax(β), β learned by gradient ascent: SPROUT's learned label
    smoothing without its random draws, so that one and two processes can be compared."""

    def learned_parameters(self, model, device, batch_shape):
        return {"beta": torch.zeros(class_count(model), device=device, requires_grad=True)}

    def parameter_optimizer(self, parameters):
        return torch.optim.SGD(parameters, lr=0.5, maximize=True)

    def vicinal(self, model, x, y, state):
        k = state["beta"].numel()
        return VicinalBatch(x=x, y=0.5 * one_hot(y, k) + 0.5 * state["beta"].softmax(0))


def tiny_data() -> tuple[torch.Tensor, torch.Tensor]:
    """64 single-channel 4x4 images whose class (0-2) is the brightest of three row bands."""
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(64, 1, 4, 4, generator=generator)
    return x, x[:, 0, :3].mean(dim=2).argmax(dim=1)


def tiny_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 3))


def scenarios() -> dict[str, tuple[Defense, TrainConfig, BatchSource]]:
    """What both processes and the one-process reference train, by name."""
    x, y = tiny_data()
    return {
        "cat": (CAT(label_smoothing=False, eta=0.02, eps_max=0.05, alpha=0.02, steps=2), CONFIG, InMemory(x, y)),
        "free_at": (FreeAT(eps=0.05, replays=2), CONFIG, InMemory(x, y)),
        "learned_beta": (LearnedSmoothing(), CONFIG, InMemory(x, y)),
        "augmented": (Natural(), replace(CONFIG, augment=True), InMemory(x, y)),
        "streamed": (Natural(), CONFIG, Streamed(TensorDataset(x, y))),
        "sprout": (SPROUT(), CONFIG, InMemory(x, y)),
    }


def _rank(rank: int, port: int, root: Path) -> None:
    """One of the two processes: train every scenario for one epoch, record what the rank holds."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(WORLD))
    torch.set_num_threads(1)
    with process_group("cpu"):
        for name, (defense, config, source) in scenarios().items():
            model = tiny_model()
            history = train_on(model, source, config, CPU, root / name, defense=defense, stop_after_epoch=1)
            torch.save({"model": model.state_dict(), "history": history}, root / name / f"rank{rank}.pt")
        x, y = tiny_data()
        try:
            train_on(tiny_model(), Streamed(TensorDataset(x, y)), replace(CONFIG, augment=True), CPU)
        except ConfigError as error:
            (root / f"{REFUSED}{rank}.txt").write_text(str(error))


@pytest.fixture(scope="module")
def two_process_runs(tmp_path_factory) -> Path:
    """The run directories of every scenario after one epoch in two processes."""
    root = tmp_path_factory.mktemp("two_processes")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mp.spawn(_rank, args=(port, root), nprocs=WORLD, join=True)
    return root


def one_process(name: str, directory: Path, stop_after_epoch: int | None = None) -> tuple[nn.Module, dict]:
    defense, config, source = scenarios()[name]
    model = tiny_model()
    history = train_on(model, source, config, CPU, directory, defense=defense, stop_after_epoch=stop_after_epoch)
    return model, history


def assert_close_states(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key, value in a.items():
        torch.testing.assert_close(value, b[key], atol=ATOL, rtol=0, msg=key)


@pytest.mark.parametrize("name", ["cat", "free_at", "learned_beta", "augmented", "streamed"])
def test_two_processes_train_as_one_with_the_same_global_batch(two_process_runs, tmp_path, name):
    single, history = one_process(name, tmp_path, stop_after_epoch=1)
    ranks = [load_checkpoint(two_process_runs / name / f"rank{rank}.pt") for rank in range(WORLD)]
    for key, value in ranks[0]["model"].items():  # the replicas stay bit-identical
        assert torch.equal(value, ranks[1]["model"][key]), key
    assert ranks[0]["history"] == {**ranks[1]["history"], "seconds": ranks[0]["history"]["seconds"]}
    written = load_checkpoint(two_process_runs / name / "last.pt")  # by rank 0
    assert written["epoch"] == 1
    assert_close_states(written["model"], single.state_dict())
    reference = load_checkpoint(tmp_path / "last.pt")
    # the full per-example state (every rank's examples) and the learned parameters
    assert_close_states(written["defense_state"], reference["defense_state"])
    assert_close_states(written["defense_parameters"], reference["defense_parameters"])
    for statistic in ("loss", "accuracy"):
        assert ranks[0]["history"][statistic] == pytest.approx(history[statistic], abs=ATOL)


def test_per_example_state_and_learned_parameters_are_really_exercised(two_process_runs):
    written = {name: load_checkpoint(two_process_runs / name / "last.pt") for name in ("cat", "free_at")}
    eps = written["cat"]["defense_state"]["eps"]
    assert eps.shape == (64,) and (eps > 0).any() and len(eps.unique()) > 1  # every rank's rows
    delta = written["free_at"]["defense_parameters"]["delta"]
    assert delta.shape == (16, 1, 4, 4) and (delta[:8].abs() > 0).any() and (delta[8:].abs() > 0).any()


@pytest.mark.parametrize("name", ["cat", "free_at", "learned_beta"])
def test_a_two_process_checkpoint_resumes_in_one_process(two_process_runs, tmp_path, name):
    resumed_dir = tmp_path / "resumed"
    shutil.copytree(two_process_runs / name, resumed_dir)
    resumed, history = one_process(name, resumed_dir)
    straight, straight_history = one_process(name, tmp_path / "straight")
    assert load_checkpoint(resumed_dir / "last.pt")["epoch"] == 2 and len(history["loss"]) == 2
    assert_close_states(resumed.state_dict(), straight.state_dict())
    assert history["loss"] == pytest.approx(straight_history["loss"], abs=ATOL)


def test_sprout_keeps_beta_identical_on_every_rank_and_resumes(two_process_runs, tmp_path):
    ranks = [load_checkpoint(two_process_runs / "sprout" / f"rank{rank}.pt") for rank in range(WORLD)]
    for key, value in ranks[0]["model"].items():
        assert torch.equal(value, ranks[1]["model"][key]), key
    for statistic in ("beta_mean", "beta_min", "beta_max"):
        assert ranks[0]["history"][statistic] == ranks[1]["history"][statistic]
    shutil.copytree(two_process_runs / "sprout", tmp_path / "sprout")
    _, history = one_process("sprout", tmp_path / "sprout")
    assert len(history["beta_mean"]) == 2 and history["beta_mean"][0] == ranks[0]["history"]["beta_mean"][0]


def test_streamed_data_is_not_cropped_across_processes(two_process_runs):
    messages = {(two_process_runs / f"{REFUSED}{rank}.txt").read_text() for rank in range(WORLD)}
    assert len(messages) == 1 and "dataset's transform" in messages.pop()


@pytest.mark.parametrize("batch_size, examples, message", [(15, 64, "divisible"), (16, 8, "fewer")])
def test_global_batches_that_do_not_split_evenly_are_refused(batch_size, examples, message):
    with pytest.raises(ConfigError, match=message) as error:
        Shard(rank=1, world=WORLD).check(batch_size, examples)
    assert "\n" not in str(error.value)
    Shard().check(batch_size, examples)  # one process takes any batch


def test_a_shard_takes_its_rows_of_each_global_batch():
    rows = torch.arange(16)
    assert Shard(1, 4).local(rows).tolist() == [4, 5, 6, 7]
    assert Shard().local(rows) is rows


def test_outside_torchrun_the_process_group_is_one_line(monkeypatch):
    for variable in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(variable, raising=False)
    with pytest.raises(ConfigError, match="torchrun") as error, process_group("cpu"):
        pass
    assert "\n" not in str(error.value)


def test_a_run_description_round_trips(tmp_path):
    config = replace(CONFIG, dataset="cifar10", model="small_vgg_cifar", milestones=(1,), schedule="multistep")
    defense = CAT(eta=0.01)
    start = StartFrom(config, SPROUT(mixup=False))
    described = json.loads(json.dumps(describe_run(config, defense, start)))
    again, again_defense, again_start = read_run(described)
    assert again == config and again_defense == defense and again_start == start
    assert read_run(json.loads(json.dumps(describe_run(config)))) == (config, None, None)
    with pytest.raises(ConfigError, match="colour"):
        read_run({**described, "colour": "red"})


def test_the_command_line_reports_a_bad_run_file_in_one_line(tmp_path, capsys):
    assert main([str(tmp_path / "missing.json")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: cannot read the run description") and error.count("\n") == 1
