"""Chapter 3.1's summarisation half (advrobust.profiles.summarisation, advrobust.experiments.
ch3_summarisation): the profiles, and the pipeline on a tiny Gigaword and DUC2003 written in Rush et
al.'s format into tmp_path beside the real DUC2004 (copied from $ADVROBUST_DATA): it trains, attacks
and returns every table beside the thesis's; without Gigaword the tables are the thesis's, marked
"Not run: Gigaword absent"; a missing or corrupt file is one DataError line."""
from __future__ import annotations

import dataclasses
import itertools
import os
import random
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from advrobust.data import Vocabulary, data_root
from advrobust.data.vocab import PAD, UNK
from advrobust.errors import ConfigError, DataError
from advrobust.experiments import ch3_summarisation as summ
from advrobust.profiles.seq2sick import TextModelSize, seq2sick
from advrobust.profiles.summarisation import summarisation
from advrobust.tables import thesis_table

OURS = "ours (smoke)"
# Table 3.7's third sentence, which DUC2004 lacks (the thesis's DUC2003 holds it), as Rush et al. print it
YANGTZE = ("flooding on the yangtze river remains serious although water levels on parts of the river "
           "decreased today , according to the state headquarters of flood control and drought relief .")
# 150 alphabetic words, so that the title vocabulary reaches past the keyword band's first 100 ranks
WORDS = ["police", "arrest"] + ["".join(letters) for letters in itertools.product("bdfgklmnprst", "aeiou", "gpx")][:148]


# smoke, with a summariser that learns the copy-ish task below in seconds (smoke's own does not)
SETTINGS = dataclasses.replace(summarisation("smoke"), summariser=TextModelSize(
    embedding_dim=32, hidden_size=64, layers=1, epochs=6, batch_size=32, dropout=0.0, lr=0.01))


def write_lines(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def articles(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 9))) for _ in range(count)]


def write_data(root: Path, duc2003: bool = True) -> Path:
    """A tiny Gigaword (copy-ish: each title is its article's first three words) in Rush et al.'s
    layout, DUC2003 with Table 3.7's Yangtze sentence, and the real, checksummed DUC2004."""
    train = articles(1000, 0)
    write_lines(root / "gigaword" / "train" / "train.article.txt", train)
    write_lines(root / "gigaword" / "train" / "train.title.txt", [" ".join(a.split()[:3]) for a in train])
    test = articles(20, 1)
    write_lines(root / "gigaword" / "Giga" / "input.txt", test)
    write_lines(root / "gigaword" / "Giga" / "task1_ref0.txt", [" ".join(a.split()[:3]) for a in test])
    if duc2003:
        write_lines(root / "seq2sick" / "DUC2003", articles(10, 2) + [YANGTZE])
    (root / "seq2sick").mkdir(exist_ok=True)
    shutil.copy(data_root() / "seq2sick" / "DUC2004", root / "seq2sick" / "DUC2004")
    return root


@pytest.fixture(scope="module")
def real_data() -> Path:
    if not os.environ.get("ADVROBUST_DATA"):
        pytest.fail("ADVROBUST_DATA is not set: point it at the dataset directory (CI: shared/data)")
    return data_root()


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    """One model cache for the module: the second run on the same Gigaword reads its models."""
    return tmp_path_factory.mktemp("cache")


def run_on(root: Path, cache: Path) -> dict[str, tuple[pd.DataFrame, str]]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ADVROBUST_DATA", str(root))
        patch.setenv("ADVROBUST_CACHE", str(cache))
        return summ.summarisation_tables(SETTINGS, "cpu", "smoke")


@pytest.fixture(scope="module")
def root(real_data, tmp_path_factory) -> Path:
    return write_data(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def computed(root, cache) -> dict[str, tuple[pd.DataFrame, str]]:
    return run_on(root, cache)


# --- the profiles ----------------------------------------------------------------------------------

def test_paper_is_the_thesis_and_quick_a_reduced_summariser():
    paper, quick = summarisation("paper"), summarisation("quick")
    model = paper.summariser
    assert (model.layers, model.hidden_size, model.embedding_dim) == (2, 500, 500)
    assert paper.train_pairs == 380_000 and paper.max_vocabulary == 50_000 and paper.sentences == 1_000
    assert paper.non_overlap.settings["beam_size"] == 5 and paper.non_overlap.settings["learning_rates"] == (2.0,)
    assert paper.keywords.settings["learning_rates"] == (0.1, 0.5) and paper.keywords.settings["iterations"] == 200
    assert paper.keyword_counts == (1, 2, 3) and paper.example_keywords == ("police", "arrest")
    assert (quick.summariser.embedding_dim, quick.summariser.hidden_size, quick.summariser.layers) == (128, 256, 1)
    assert quick.train_pairs == 50_000 and quick.sentences == 100 and quick.non_overlap.settings["iterations"] == 50
    for profile in ("smoke", "quick", "paper"):  # one attack for both tasks, as the thesis
        settings, translation = summarisation(profile), seq2sick(profile)
        assert (settings.non_overlap, settings.keywords) == (translation.non_overlap, translation.keywords)
        assert settings.keyword_band == translation.keyword_band
    config = quick.summariser_config(50_000, 30_000, 20_000)
    assert config.data_key == "gigaword-50000-min3" and dict(config.model_options)["tgt_vocab_size"] == 20_000
    assert quick.language_model_config(50_000, 30_000).model == "lstm_lm"
    with pytest.raises(ConfigError, match="unknown profile 'huge'"):
        summarisation("huge")


def test_source_data_pads_sentences_and_remembers_their_lines():
    vocabulary = Vocabulary.build([["a", "b", "c"]])
    data = summ.source_data([("a", "b"), ("c",), ("a", "z", "c")], vocabulary, "duc")
    assert data.x.tolist() == [[4, 5, PAD], [6, PAD, PAD], [4, UNK, 6]]
    assert data.lengths().tolist() == [2, 1, 3] and data.y.tolist() == [0, 1, 2]
    assert data.subset(2, 0).y.tolist() == sorted(data.subset(2, 0).y.tolist())


# --- the pipeline on data in Rush et al.'s format --------------------------------------------------

def test_every_table_is_computed_beside_the_thesis(computed):
    assert set(computed) == set(summ.TABLES)
    for name, (table, caption) in computed.items():
        assert summ.NOT_RUN not in caption and "Thesis beside ours" in caption, name
        assert {source for _, source in table.columns} == {"thesis", OURS}, name
    table_3_2 = computed["table_3_2"][0]
    assert table_3_2.loc["Gigaword", ("success", "thesis")] == 0.86
    assert table_3_2[("sentences", OURS)].to_dict() == {"DUC2003": 6, "DUC2004": 6, "Gigaword": 6}
    table_3_3 = computed["table_3_3"][0]
    assert table_3_3.loc[("DUC2004", 3), ("success", "thesis")] == 0.374  # smoke runs |K| = 1, 2 only
    assert table_3_3.loc[[("DUC2004", 1), ("DUC2004", 2)], ("success", OURS)].notna().all()
    for table in (table_3_2, table_3_3):
        ran = table[table[("success", OURS)].notna()]
        assert ran[("success", OURS)].between(0, 1).all()
        succeeded = ran[ran[("success", OURS)] > 0]
        assert (succeeded[("changed", OURS)] >= 1).all() and succeeded[("bleu", OURS)].between(0, 1).all()
    perplexity = computed["table_3_5_duc"][0][("perplexity", OURS)]
    assert perplexity[("Original", "DUC2003")] > 1 and perplexity[("Original", "DUC2004")] > 1


def test_examples_are_the_thesis_sentences_and_adversarial_inputs_are_words(computed, root, cache):
    ours = {name: computed[name][0][("text", OURS)] for name in ("table_3_7", "table_3_8")}
    assert [ours["table_3_7"][(i, "from")] for i in (1, 2, 3)] == ["DUC2004 line 90", "DUC2004 line 99",
                                                                   "DUC2003 line 11"]
    assert [ours["table_3_8"][(i, "from")] for i in (1, 2, 3)] == ["DUC2004 line 104", "DUC2004 line 54",
                                                                   "DUC2004 line 456"]
    assert ours["table_3_8"][(1, "keywords")] == "police arrest"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ADVROBUST_DATA", str(root))
        patch.setenv("ADVROBUST_CACHE", str(cache))
        found = summ.summarisation_data(SETTINGS)
        words = set(summ.summariser(found.train, SETTINGS, "cpu").source.words)
    for texts in ours.values():
        for i in (1, 2, 3):
            source, adversarial = texts[(i, "Source input seq")].split(), texts[(i, "Adv input seq")].split()
            assert len(adversarial) == len(source) and set(adversarial) <= words
            assert texts[(i, "success")] in ("True", "False")


def test_without_duc2003_its_rows_are_absent(real_data, cache, tmp_path):
    tables = run_on(write_data(tmp_path, duc2003=False), cache)
    table_3_2, caption = tables["table_3_2"]
    assert np.isnan(table_3_2.loc["DUC2003", ("success", OURS)]) and table_3_2.loc["DUC2003", ("success", "thesis")]
    assert table_3_2.loc[["Gigaword", "DUC2004"], ("success", OURS)].notna().all()
    assert "DUC2003 not run: missing DUC2003 file" in caption and str(tmp_path / "seq2sick") in caption
    perplexity = tables["table_3_5_duc"][0][("perplexity", OURS)]
    assert np.isnan(perplexity[("Original", "DUC2003")]) and perplexity[("Original", "DUC2004")] > 1
    assert tables["table_3_7"][0].loc[(3, "from"), ("text", OURS)] == "Gigaword line 1"  # Yangtze is absent


# --- absent and corrupt data -----------------------------------------------------------------------

def test_without_gigaword_the_tables_are_the_thesis_quoted(tmp_path, monkeypatch):
    monkeypatch.setenv("ADVROBUST_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("ADVROBUST_CACHE", str(tmp_path / "cache"))
    tables = summ.summarisation_tables(summarisation("smoke"), "cpu", "smoke")
    assert set(tables) == set(summ.TABLES)
    for name, (table, caption) in tables.items():
        pd.testing.assert_frame_equal(table, thesis_table(summ.TABLES[name][0]))
        assert "Not run: Gigaword absent" in caption and "Gigaword is not distributed with this book" in caption
        assert str(tmp_path / "data" / "gigaword") in caption and "\n" not in caption
    assert not (tmp_path / "cache").exists()  # nothing trained


def test_a_corrupt_file_is_one_data_error_line(real_data, tmp_path, monkeypatch):
    root = write_data(tmp_path / "data")
    monkeypatch.setenv("ADVROBUST_DATA", str(root))
    write_lines(root / "seq2sick" / "DUC2003", ["one line", "", "a line after an empty one"])
    duc2004 = root / "seq2sick" / "DUC2004"
    duc2004.write_bytes(duc2004.read_bytes().replace(b"cambodian", b"Cambodian", 1))
    found = summ.summarisation_data(summarisation("smoke"))
    assert set(found.sets) == {"Gigaword"}
    assert found.absent["DUC2003"].startswith("DUC2003: line 2 is empty")
    assert "checksum mismatch" in found.absent["DUC2004"] and str(duc2004) in found.absent["DUC2004"]
    titles = root / "gigaword" / "train" / "train.title.txt"
    titles.write_text("".join(titles.read_text().splitlines(keepends=True)[:-1]))
    with pytest.raises(DataError) as excinfo:
        summ.summarisation_data(summarisation("smoke"))
    message = str(excinfo.value)
    assert "\n" not in message and "train.article.txt has 1000 lines but train.title.txt has 999" in message
    caption = summ.summarisation_tables(summarisation("smoke"), "cpu", "smoke")["table_3_2"][1]
    assert caption.endswith(message) and "Not run: Gigaword absent" in caption


def test_example_sentences_match_as_the_thesis_prints_them():
    sets = {"DUC": (("a", "b", "c", "."), tuple(YANGTZE.split()), ("d", "e"))}
    assert summ.comparable("Flooding that’s the State affairs.") == summ.comparable("flooding that 's the state affairs .")
    assert summ.example_places(sets, "table_3_7") == [("DUC", 0), ("DUC", 2), ("DUC", 1)]
    with pytest.raises(ConfigError, match="too few distinct sentences"):
        summ.example_places({"DUC": (("a",),)}, "table_3_7")
