"""The HIGGS loader, the LightGBM victims of §2.5.0.5 and their profile settings (tests/test_gbdt.py)."""
from __future__ import annotations

import gzip
import itertools
from pathlib import Path

import lightgbm
import numpy as np
import pandas as pd
import pytest
import torch
from _data_fixtures import digest, trust
from advrobust import registry
from advrobust.blackbox.opt import OPTAttack
from advrobust.blackbox.oracle import HardLabelOracle
from advrobust.data.tensors import TensorData
from advrobust.experiments import ch2_gbdt
from advrobust.data import higgs, load_dataset
from advrobust.errors import ConfigError, DataError
from advrobust.models.gbdt import GBDTScores, roc_auc
from advrobust.training import gbdt
from advrobust.training.gbdt import GBDTConfig, train_gbdt
from advrobust.profiles.gbdt import GBDTExperiment
from advrobust.profiles.gbdt import gbdt as gbdt_settings
from advrobust.tables import thesis_table

FEATURES = higgs.FEATURES


def _rows(n: int, seed: int) -> np.ndarray:
    """(n, 29) rows: a 0/1 label, then 28 features with 3 decimals (as in LightGBM's sample)."""
    rng = np.random.default_rng(seed)
    features = np.round(rng.normal(size=(n, FEATURES)), 3)
    labels = (features[:, 0] + features[:, 1] > 0).astype(float)
    return np.column_stack([labels, features])


def _write(path: Path, rows: np.ndarray, sep: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "\n".join(sep.join(f"{v:.3f}" if j else f"{int(v)}" for j, v in enumerate(row)) for row in rows) + "\n"
    path.write_bytes(gzip.compress(text.encode()) if path.suffix == ".gz" else text.encode())
    return path


def _sample(root: Path, monkeypatch: pytest.MonkeyPatch, n_train: int = 40, n_test: int = 12) -> dict[str, np.ndarray]:
    folder = root / higgs.SAMPLE_FOLDER
    rows = {"train": _rows(n_train, 0), "test": _rows(n_test, 1)}
    paths = [_write(folder / higgs.SAMPLE_FILES[split], table, "\t") for split, table in rows.items()]
    trust(monkeypatch, higgs.SAMPLE_CHECKSUMS, *paths)
    return rows


# --- the HIGGS loader -------------------------------------------------------------------------------

@pytest.mark.parametrize("split", ["train", "test"])
def test_higgs_sample_layout_parses_label_then_features(monkeypatch, tmp_path, split):
    rows = _sample(tmp_path, monkeypatch)[split]
    data = load_dataset("higgs", split, root=tmp_path, download=False)
    assert data.x.shape == (len(rows), FEATURES) and data.x.dtype == torch.float32
    assert data.y.dtype == torch.int64 and data.y.tolist() == rows[:, 0].astype(int).tolist()
    assert torch.equal(data.x.flatten(1), torch.from_numpy(rows[:, 1:].astype(np.float32)))
    assert data.name == f"higgs_lightgbm_sample-{split}" and data.classes == ("background", "signal")


def test_higgs_uci_layout_holds_out_the_last_rows_and_wins_over_the_sample(monkeypatch, tmp_path):
    _sample(tmp_path, monkeypatch)
    rows = _rows(10, 2)
    _write(tmp_path / higgs.UCI_FILE, rows, ",")
    monkeypatch.setattr(higgs, "UCI_TEST_ROWS", 3)
    train = load_dataset("higgs", "train", root=tmp_path, download=False)
    test = load_dataset("higgs", "test", root=tmp_path, download=False)
    assert (train.name, test.name) == ("higgs-train", "higgs-test")
    assert torch.equal(train.x.flatten(1), torch.from_numpy(rows[:7, 1:].astype(np.float32)))
    assert test.y.tolist() == rows[7:, 0].astype(int).tolist()


def test_higgs_uci_file_too_short_for_the_test_split_is_a_data_error(tmp_path):
    _write(tmp_path / higgs.UCI_FILE, _rows(5, 0), ",")
    with pytest.raises(DataError, match="500,000"):
        load_dataset("higgs", "test", root=tmp_path, download=False)


def test_higgs_sample_checksum_mismatch_names_file_and_both_hashes(tmp_path):
    path = _write(tmp_path / higgs.SAMPLE_FOLDER / "binary.test", _rows(4, 0), "\t")
    with pytest.raises(DataError) as error:
        load_dataset("higgs", "test", root=tmp_path, download=False)
    message = str(error.value)
    assert str(path) in message and digest(path, "sha256") in message
    assert higgs.SAMPLE_CHECKSUMS["binary.test"][1] in message


def test_missing_higgs_names_both_layouts_their_sources_and_the_environment_variable(tmp_path):
    with pytest.raises(DataError) as error:
        load_dataset("higgs", "train", root=tmp_path, download=False)
    message = str(error.value)
    assert str(tmp_path / higgs.UCI_FILE) in message and higgs.UCI_URL in message
    assert str(tmp_path / higgs.SAMPLE_FOLDER / "binary.train") in message and higgs.SAMPLE_URL in message
    assert "ADVROBUST_DATA" in message and "\n" not in message


def test_incomplete_higgs_sample_is_an_error_and_not_fetched(monkeypatch, tmp_path):
    _write(tmp_path / higgs.SAMPLE_FOLDER / "binary.train", _rows(4, 0), "\t")
    monkeypatch.setattr(higgs, "fetch", lambda *args: pytest.fail("must not download"))
    with pytest.raises(DataError, match="incomplete HIGGS sample: missing binary.test"):
        load_dataset("higgs", "test", root=tmp_path)


def test_higgs_sample_download_is_verified(monkeypatch, tmp_path):
    mirror = tmp_path / "mirror"
    rows = _rows(6, 3)
    trust(monkeypatch, higgs.SAMPLE_CHECKSUMS, _write(mirror / "binary.test", rows, "\t"))
    monkeypatch.setattr(higgs, "SAMPLE_URL", mirror.as_uri() + "/")
    data = load_dataset("higgs", "test", root=tmp_path / "root")
    assert data.y.tolist() == rows[:, 0].astype(int).tolist()
    assert (tmp_path / "root" / higgs.SAMPLE_FOLDER / "binary.test").is_file()


@pytest.mark.parametrize("bad", ["labels", "columns"])
def test_higgs_rows_must_be_a_binary_label_and_28_features(monkeypatch, tmp_path, bad):
    rows = _rows(5, 0)
    rows = np.column_stack([rows[:, :1] + 2, rows[:, 1:]]) if bad == "labels" else rows[:, :-1]
    trust(monkeypatch, higgs.SAMPLE_CHECKSUMS, _write(tmp_path / higgs.SAMPLE_FOLDER / "binary.test", rows, "\t"))
    with pytest.raises(DataError, match="labels other than 0 and 1" if bad == "labels" else "28 features"):
        load_dataset("higgs", "test", root=tmp_path, download=False)


# --- LightGBM as a score function -------------------------------------------------------------------

def _booster(classes: int, features: int = 6, seed: int = 0) -> tuple[lightgbm.Booster, torch.Tensor]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(size=(300, features)).astype(np.float32)
    y = np.digitize(x[:, 0] + 0.5 * x[:, 1], np.linspace(0, 1.5, classes + 1)[1:-1])
    objective = {"objective": "binary"} if classes == 2 else {"objective": "multiclass", "num_class": classes}
    params = {**objective, "num_leaves": 8, "min_data_in_leaf": 5, "verbose": -1, "num_threads": 1, "seed": seed}
    return lightgbm.train(params, lightgbm.Dataset(x, label=y), num_boost_round=15), torch.from_numpy(x)


@pytest.mark.parametrize("classes", [2, 3])
def test_gbdt_scores_argmax_is_the_booster_prediction(classes):
    booster, x = _booster(classes)
    scores = GBDTScores(booster, num_threads=1)(x.view(-1, 1, 1, x.shape[1]))  # flattened to (B, D)
    probabilities = booster.predict(x.numpy())
    expected = (probabilities > 0.5).astype(int) if classes == 2 else probabilities.argmax(axis=1)
    assert scores.shape == (len(x), classes) and scores.dtype == torch.float64
    assert scores.argmax(dim=1).tolist() == expected.tolist()
    assert len(set(expected.tolist())) == classes  # every class is predicted somewhere
    if classes == 2:
        assert torch.equal(scores[:, 0], torch.zeros(len(x), dtype=torch.float64))
        assert np.allclose(scores[:, 1].numpy(), booster.predict(x.numpy(), raw_score=True))


def test_gbdt_scores_rejects_the_wrong_number_of_features():
    booster, x = _booster(2)
    with pytest.raises(ConfigError, match="expects 6 features"):
        GBDTScores(booster)(x[:, :5])


def test_gbdt_through_a_hard_label_oracle_counts_queries_and_answers_true_labels():
    booster, x = _booster(3)
    model = GBDTScores(booster, num_threads=1)
    x0, lower, upper = x[:2], x.amin(dim=0), x.amax(dim=0)
    oracle = HardLabelOracle(model, x0, model(x0).argmax(dim=1), budget=5, bounds=(lower, upper), max_batch=4)
    points = x0[[0] * 7 + [1] * 3] + torch.linspace(-0.6, 0.6, 10).view(-1, 1)  # some rows leave the box
    index = torch.tensor([0] * 7 + [1] * 3)
    labels, answered = oracle(points, index)
    clipped = torch.maximum(torch.minimum(points, upper), lower)
    truth = booster.predict(clipped.numpy()).argmax(axis=1)
    assert answered.tolist() == [True] * 5 + [False] * 2 + [True] * 3
    assert labels[answered].tolist() == truth[answered.numpy()].tolist()
    assert labels[~answered].tolist() == [-1, -1]
    assert oracle.queries.tolist() == [5, 3]


def test_opt_attack_fools_a_gbdt_within_its_budget():
    booster, x = _booster(2)
    model = GBDTScores(booster, num_threads=1)
    x0 = x[:3]
    y = model(x0).argmax(dim=1)
    bounds = (x.amin(dim=0), x.amax(dim=0))
    attack = registry.create("blackbox", "opt", model=model, budget=400, bounds=bounds, seed=0, initial_directions=10)
    result = attack.run(x0, y)
    assert result.success.all() and (result.queries <= 400).all()
    assert torch.equal(model(result.x_adv).argmax(dim=1) != y, torch.ones(3, dtype=torch.bool))
    assert ((result.x_adv >= bounds[0]) & (result.x_adv <= bounds[1])).all()


# --- training and caching ---------------------------------------------------------------------------

def test_train_gbdt_caches_the_model_file_and_reads_it_back(monkeypatch, tmp_path):
    _sample(tmp_path / "data", monkeypatch, n_train=120)
    config = GBDTConfig("higgs", num_trees=5, num_leaves=4, train_subset=100)
    monkeypatch.setitem(gbdt.KOZIEV_PARAMS, "min_data_in_leaf", 5)  # 100 rows: let the trees split
    first = train_gbdt(config, tmp_path / "data", tmp_path / "cache", num_threads=1)
    files = list((tmp_path / "cache").glob("gbdt-higgs_lightgbm_sample-*/model.txt"))
    assert len(files) == 1 and config.key() in str(files[0].parent)
    monkeypatch.setattr(lightgbm, "train", lambda *args, **kwargs: pytest.fail("must read the cache"))
    second = train_gbdt(config, tmp_path / "data", tmp_path / "cache", num_threads=1)
    x = load_dataset("higgs", "test", root=tmp_path / "data").x
    assert first.num_trees() == 5
    assert torch.equal(GBDTScores(first)(x), GBDTScores(second)(x))


def test_gbdt_config_key_changes_with_every_field_and_bad_values_raise():
    base = GBDTConfig("mnist", num_trees=10, num_leaves=8)
    variants = [GBDTConfig("higgs", 10, 8), GBDTConfig("mnist", 11, 8), GBDTConfig("mnist", 10, 9),
                GBDTConfig("mnist", 10, 8, learning_rate=0.1), GBDTConfig("mnist", 10, 8, train_subset=5),
                GBDTConfig("mnist", 10, 8, seed=1)]
    keys = {base.key()} | {v.key() for v in variants}
    assert len(keys) == 7 and base.key() == GBDTConfig("mnist", 10, 8).key()
    with pytest.raises(ConfigError, match="unknown dataset"):
        GBDTConfig("imagenet", 10, 8)
    with pytest.raises(ConfigError, match="num_trees"):
        GBDTConfig("mnist", 0, 8)
    params = base.lightgbm_params(10)
    assert params["objective"] == "multiclass" and params["num_class"] == 10 and params["max_depth"] == -1
    assert GBDTConfig("higgs", 10, 8).lightgbm_params(2)["objective"] == "binary"


def test_roc_auc_is_the_share_of_correctly_ordered_pairs():
    generator = torch.Generator().manual_seed(0)
    scores = torch.randint(0, 5, (60,), generator=generator).double()  # many ties
    labels = torch.randint(0, 2, (60,), generator=generator)
    pos, neg = scores[labels == 1], scores[labels == 0]
    pairs = list(itertools.product(pos.tolist(), neg.tolist()))
    expected = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in pairs) / len(pairs)
    assert roc_auc(scores, labels) == pytest.approx(expected)
    assert roc_auc(labels.double(), labels) == 1.0
    with pytest.raises(ConfigError, match="both classes"):
        roc_auc(scores, torch.zeros(60, dtype=torch.long))


# --- profile settings -------------------------------------------------------------------------------

def test_paper_profile_follows_section_2505_and_table_2_1():
    settings = gbdt_settings("paper")
    table = thesis_table("table_2_1")
    for experiment, (trees, leaves) in zip(settings.experiments(), [(255, 500), (100, 100)]):
        assert (experiment.model.num_trees, experiment.model.num_leaves) == (trees, leaves)
        assert experiment.model.train_subset is None and experiment.n_attack == 100
        assert list(experiment.read_at) == table[table.dataset == experiment.dataset]["queries"].tolist()
        assert experiment.budget == max(experiment.read_at)
    spec = settings.opt(settings.mnist, (0.0, 1.0), seed=0)
    assert spec.attack is OPTAttack and dict(spec.settings) == {
        "budget": 32_230, "bounds": (0.0, 1.0), "seed": 0, "q": 20, "beta": 0.005, "alpha": 0.2,
        "initial_directions": 100}


def test_attack_bounds_are_the_unit_box_or_the_observed_feature_range():
    settings = gbdt_settings("smoke")
    train, attacked = torch.tensor([[0.0, 1.0], [2.0, -1.0]]), torch.tensor([[3.0, 0.0]])
    assert settings.mnist.attack_bounds(train, attacked) == (0.0, 1.0)
    lower, upper = settings.higgs.attack_bounds(train, attacked)
    assert lower.tolist() == [0.0, -1.0] and upper.tolist() == [3.0, 1.0]


# --- the experiment of Table 2.1 --------------------------------------------------------------------

class CountingScores(GBDTScores):
    """GBDT scores that count the rows they are asked about."""

    rows = 0

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        self.rows += x.shape[0]
        return super().__call__(x)


def _victim(scores: GBDTScores, x: torch.Tensor) -> ch2_gbdt.GBDTVictim:
    y = scores(x).argmax(dim=1)
    data = TensorData(x=x, y=y, classes=("0", "1", "2"), name="toy-test")
    experiment = GBDTExperiment("MNIST", GBDTConfig("mnist", 15, 8), n_attack=3, read_at=(100, 200), bounds="data")
    return ch2_gbdt.GBDTVictim(experiment, scores, data, data, scores(x))


def test_table_2_1_runs_are_cached_under_the_gbdt_config_and_a_second_run_does_not_query(monkeypatch, tmp_path):
    monkeypatch.setenv("ADVROBUST_CACHE", str(tmp_path))
    booster, x = _booster(3)
    settings = gbdt_settings("smoke")
    first = ch2_gbdt.attack_victims(settings, {"MNIST": _victim(GBDTScores(booster, num_threads=1), x)}, seed=0)
    run = first["MNIST"]
    assert torch.equal(run.x, x[:3]) and (run.result.queries <= 200).all() and bool(run.result.success.all())
    assert len(list((tmp_path / "blackbox").glob("opt-*.pt"))) == 1
    counting = CountingScores(booster, num_threads=1)
    victim = _victim(counting, x)
    counting.rows = 0  # the victim's own scores of the test set are not the attack's
    again = ch2_gbdt.attack_victims(settings, {"MNIST": victim}, seed=0)["MNIST"]
    assert counting.rows == len(x), "only choosing the examples may query; the attack is read from the cache"
    assert torch.equal(again.result.x_adv, run.result.x_adv) and torch.equal(again.result.queries, run.result.queries)
    ch2_gbdt.attack_victims(settings, {"MNIST": _victim(GBDTScores(booster, num_threads=1), x)}, seed=1)
    assert len(list((tmp_path / "blackbox").glob("opt-*.pt"))) == 2  # another seed: another run


def test_table_2_1_claim_reads_the_average_along_the_read_points():
    table = pd.DataFrame({"dataset": ["HIGGS"] * 3 + ["MNIST"] * 3, "queries": [500, 200, 1000] * 2,
                          "avg_l2": [0.2, 0.4, 0.1, 0.5, 0.5, 0.25], "found": [1.0, 1.0, 1.0, 1.0, 0.5, 1.0]})
    claims = ch2_gbdt.l2_falls(table).set_index("dataset")
    assert claims.loc["HIGGS", "average L2 at the read points"] == "0.4000 → 0.2000 → 0.1000"
    assert claims.loc["HIGGS", "falls at every step"] and not claims.loc["MNIST", "falls at every step"]
    assert claims.loc["HIGGS", "relative fall, first to last"] == pytest.approx(0.75)
    assert not ch2_gbdt.found_from_first_read(table)  # MNIST's first read point (200) found half
    assert ch2_gbdt.found_from_first_read(table.assign(found=1.0))


def test_table_2_1_claim_pairs_each_fall_over_the_examples_found_at_both_read_points():
    from advrobust.blackbox import BlackBoxResult, QueryTrace

    def run(improvements: list[tuple[int, int, float]], n: int = 4) -> ch2_gbdt.GBDTRun:
        example, query, distance = (torch.tensor(column) for column in zip(*improvements))
        result = BlackBoxResult(x_adv=torch.zeros(n, 2), success=torch.ones(n, dtype=torch.bool), l2=torch.ones(n),
                                linf=torch.ones(n), queries=torch.full((n,), 300),
                                original_correct=torch.ones(n, dtype=torch.bool),
                                trace=QueryTrace(n, example, query, distance.float()))
        experiment = GBDTExperiment("MNIST", GBDTConfig("mnist", 15, 8), n_attack=n, read_at=(100, 200, 300),
                                    bounds="data")
        return ch2_gbdt.GBDTRun(experiment, torch.zeros(n, 2), result)

    falling = [(i, 50, 4.0) for i in range(4)] + [(i, 150, 2.0 + i / 10) for i in range(4)] + [
        (i, 250, 1.0) for i in range(4)]
    late = [(0, 50, 4.0), (1, 250, 1.0)]  # example 1 found only after the second read point
    claims = ch2_gbdt.falls_claims({"MNIST": run(falling), "HIGGS": run(late, n=2)})
    assert claims["MNIST"].verdict == "holds" and claims["MNIST"].item == "Table 2.1"
    assert claims["MNIST"].effect is not None and claims["MNIST"].effect.count == 4
    assert claims["HIGGS"].verdict == "inconclusive"  # example 0 never improves: a zero-width interval at 0
    assert ch2_gbdt.falls_phrase(claims["MNIST"]).startswith("falls at every read point (the claim holds (effect")
