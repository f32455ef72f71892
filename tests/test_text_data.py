"""Chapter 3.1's text data: Multi30k and DUC2004 from $ADVROBUST_DATA (CI: shared/data), the
user-supplied corpora (Gigaword, DUC2003, WMT15, AG News) from small files written into tmp_path,
vocabularies and padded id tensors."""
from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import pytest
import torch
from _data_fixtures import trust
from advrobust.data import (
    ParallelCorpus,
    Vocabulary,
    agnews,
    data_root,
    load_ag_news,
    load_duc,
    load_gigaword,
    load_multi30k,
    load_wmt15,
    sequence_pairs,
    text_statistics,
)
from advrobust.data.vocab import BOS, EOS, PAD, SPECIALS, UNK
from advrobust.errors import ConfigError, DataError


@pytest.fixture(scope="module")
def shared() -> Path:
    """The real data directory, $ADVROBUST_DATA (a failure, never a skip, when it is not set)."""
    if not os.environ.get("ADVROBUST_DATA"):
        pytest.fail("ADVROBUST_DATA is not set: point it at the dataset directory (CI: shared/data)")
    return data_root()


def write_lines(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def one_line_error(excinfo: pytest.ExceptionInfo[DataError]) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    return message


# --- Multi30k and DUC2004, the shipped data --------------------------------------------------------

@pytest.fixture(scope="module")
def multi30k_train(shared: Path) -> ParallelCorpus:
    return load_multi30k("train", shared)


def test_multi30k_tok_splits_have_the_official_sizes(shared, multi30k_train):
    assert len(multi30k_train) == 29_000
    assert multi30k_train.name == "multi30k-tok-train"
    # the token counts of multi30k/dataset's README
    assert sum(map(len, multi30k_train.source)) == 377_534
    assert sum(map(len, multi30k_train.target)) == 360_706
    assert len(load_multi30k("val", shared)) == 1_014
    test = load_multi30k("test2016", shared)
    assert len(test) == 1_000
    assert test.source[0] == ("a", "man", "in", "an", "orange", "hat", "starring", "at", "something", ".")
    assert test.target[0] == ("ein", "mann", "mit", "einem", "orangefarbenen", "hut", ",", "der", "etwas",
                              "anstarrt", ".")


def test_multi30k_vocabularies_with_min_freq_3(multi30k_train):
    english = Vocabulary.build(multi30k_train.source, min_freq=3)
    german = Vocabulary.build(multi30k_train.target, min_freq=3)
    assert (len(english), len(german)) == (4_564 + 4, 5_378 + 4)
    assert english.words[:5] == (*SPECIALS, "a")  # "a" is the most frequent English token
    assert len(Vocabulary.build(multi30k_train.source)) == 10_210 + 4


def test_multi30k_raw_layouts_and_table_3_1_lengths(shared):
    tok = load_multi30k("test2016", shared)
    raw = load_multi30k("test2016", shared, layout="raw")  # lower-cased, 13a-tokenised
    wmt16 = load_multi30k("test2016", shared, layout="wmt16")
    words = load_multi30k("test2016", shared, layout="raw", tokenizer="whitespace")
    assert len(raw) == len(wmt16) == len(words) == 1_000
    assert raw.source[0] == tok.source[0]
    assert wmt16.source == raw.source and wmt16.target == raw.target  # the same test captions
    assert words.source[0] == ("A", "man", "in", "an", "orange", "hat", "starring", "at", "something.")
    # Table 3.1's Multi30k row says 500 samples of 11.5 words
    assert text_statistics(words.source[:500]) == (500, pytest.approx(11.338))
    assert text_statistics(tok.source[:500]) == (500, pytest.approx(12.396))
    assert tok.mean_source_length() == pytest.approx(12.968)


def test_multi30k_wmt16_validation_has_the_uncorrected_german(shared):
    raw = load_multi30k("val", shared, layout="raw")
    wmt16 = load_multi30k("val", shared, layout="wmt16")
    assert len(wmt16) == 1_014  # the tarball's trailing empty line is dropped
    assert wmt16.source == raw.source
    assert sum(a != b for a, b in zip(wmt16.target, raw.target)) == 61


def test_duc2004_is_table_3_1s_row(shared):
    duc = load_duc(2004, shared)
    assert len(duc) == 500 and sum(map(len, duc)) == 17_779
    assert duc[0][:5] == ("cambodian", "leader", "hun", "sen", "on")
    assert round(text_statistics(duc).mean_length, 2) == 35.56


def test_a_corrupt_copy_is_rejected(shared, tmp_path):
    for root in ("intact", "corrupt"):  # two roots: verified digests are cached per path
        (tmp_path / root / "multi30k" / "tok").mkdir(parents=True)
        for name in ("test_2016_flickr.lc.norm.tok.en", "test_2016_flickr.lc.norm.tok.de"):
            shutil.copy(shared / "multi30k" / "tok" / name, tmp_path / root / "multi30k" / "tok" / name)
    assert len(load_multi30k("test2016", tmp_path / "intact")) == 1_000
    corrupt = tmp_path / "corrupt" / "multi30k" / "tok" / "test_2016_flickr.lc.norm.tok.en"
    content = bytearray(corrupt.read_bytes())
    content[100] ^= 1
    corrupt.write_bytes(bytes(content))
    with pytest.raises(DataError, match="checksum mismatch") as excinfo:
        load_multi30k("test2016", tmp_path / "corrupt")
    assert str(corrupt) in one_line_error(excinfo)

    duc = tmp_path / "seq2sick" / "DUC2004"
    duc.parent.mkdir()
    duc.write_bytes((shared / "seq2sick" / "DUC2004").read_bytes().replace(b"cambodian", b"Cambodian", 1))
    with pytest.raises(DataError, match="checksum mismatch") as excinfo:
        load_duc(2004, tmp_path)
    assert str(duc) in one_line_error(excinfo)


@pytest.mark.parametrize("layout, missing", [
    ("tok", "test_2016_flickr.lc.norm.tok.en"),
    ("raw", "test_2016_flickr.en.gz"),
    ("wmt16", "mmt_task1_test2016.tar.gz"),
])
def test_missing_multi30k_files_are_named_with_their_source(tmp_path, layout, missing):
    with pytest.raises(DataError) as excinfo:
        load_multi30k("test2016", tmp_path, layout=layout)
    message = one_line_error(excinfo)
    assert missing in message and str(tmp_path / "multi30k") in message
    assert "https://" in message and "ADVROBUST_DATA" in message


def test_multi30k_rejects_unknown_arguments(tmp_path):
    with pytest.raises(ConfigError, match="split"):
        load_multi30k("test", tmp_path)
    with pytest.raises(ConfigError, match="layout"):
        load_multi30k("train", tmp_path, layout="bpe")
    with pytest.raises(ConfigError, match="tokenizer"):
        load_multi30k("train", tmp_path, layout="raw", tokenizer="moses")
    with pytest.raises(ConfigError, match="already tokenised"):
        load_multi30k("train", tmp_path, tokenizer="13a")


# --- user-supplied corpora -------------------------------------------------------------------------

ARTICLES = ["police arrest two men in #### robbery", "stocks fall on weak earnings", "rain expected"]
TITLES = ["two arrested", "stocks fall", "rain"]


@pytest.mark.parametrize("sumdata", [False, True], ids=["flat", "sumdata"])
def test_gigaword_reads_rush_et_al_files(tmp_path, sumdata):
    base = tmp_path / "gigaword"
    write_lines(base / ("Giga" if sumdata else "") / "input.txt", ARTICLES)
    write_lines(base / ("Giga" if sumdata else "") / "task1_ref0.txt", TITLES)
    write_lines(base / ("train" if sumdata else "") / "train.article.txt", ARTICLES * 2)
    write_lines(base / ("train" if sumdata else "") / "train.title.txt", TITLES * 2)
    test = load_gigaword("test", tmp_path)
    assert len(test) == 3 and test.name == "gigaword-test"
    assert test.source[0] == ("police", "arrest", "two", "men", "in", "####", "robbery")
    assert test.target[2] == ("rain",)
    train = load_gigaword("train", tmp_path, max_pairs=4)
    assert len(train) == 4 and train.target[3] == ("two", "arrested")
    with pytest.raises(DataError) as excinfo:
        load_gigaword("valid", tmp_path)
    message = one_line_error(excinfo)
    assert "valid.article.filter.txt" in message and "Gigaword is not distributed with this book" in message


def test_a_parallel_corpus_with_unequal_sides_is_rejected(tmp_path):
    write_lines(tmp_path / "gigaword" / "input.txt", ARTICLES)
    write_lines(tmp_path / "gigaword" / "task1_ref0.txt", TITLES[:2])
    with pytest.raises(DataError) as excinfo:
        load_gigaword("test", tmp_path)
    message = one_line_error(excinfo)
    assert "input.txt has 3 lines but task1_ref0.txt has 2" in message


def test_duc2003_is_read_unverified(tmp_path):
    with pytest.raises(DataError) as excinfo:
        load_duc(2003, tmp_path)
    assert "DUC2003" in one_line_error(excinfo) and str(tmp_path / "seq2sick") in str(excinfo.value)
    write_lines(tmp_path / "seq2sick" / "DUC2003", ARTICLES + ["", ""])  # trailing empty lines dropped
    duc = load_duc(2003, tmp_path)
    assert len(duc) == 3 and duc[1] == ("stocks", "fall", "on", "weak", "earnings")
    with pytest.raises(ConfigError, match="DUC year"):
        load_duc(2005, tmp_path)


def test_wmt15_reads_a_users_parallel_corpus(tmp_path):
    with pytest.raises(DataError) as excinfo:
        load_wmt15(tmp_path)
    message = one_line_error(excinfo)
    assert "train.en" in message and str(tmp_path / "wmt15") in message and "statmt.org" in message
    write_lines(tmp_path / "wmt15" / "train.en", ["the dog sits .", "hello"])
    write_lines(tmp_path / "wmt15" / "train.de", ["der hund sitzt .", "hallo"])
    corpus = load_wmt15(tmp_path)
    assert len(corpus) == 2 and corpus.target[0] == ("der", "hund", "sitzt", ".")


def write_ag_news(path: Path, rows: list[list[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as stream:
        csv.writer(stream, quoting=csv.QUOTE_ALL).writerows(rows)
    return path


def test_ag_news_reads_the_char_cnn_csv(tmp_path, monkeypatch):
    with pytest.raises(DataError) as excinfo:
        load_ag_news("test", tmp_path)
    assert "test.csv" in one_line_error(excinfo)
    path = write_ag_news(tmp_path / "ag_news_csv" / "test.csv", [
        ["3", "Wall St. Bears Claw Back", "Reuters - Short-sellers, \"cynics\", are back."],
        ["2", "Cup final", "A goal, late."],
        ["4", "New chip", "Faster."],
    ])
    with pytest.raises(DataError, match="checksum mismatch"):  # not torchtext's file
        load_ag_news("test", tmp_path)
    trust(monkeypatch, agnews.CHECKSUMS, path)
    data = load_ag_news("test", tmp_path)
    assert len(data) == 3 and data.name == "ag_news-test"
    assert data.texts[0] == "Wall St. Bears Claw Back Reuters - Short-sellers, \"cynics\", are back."
    assert data.labels.tolist() == [2, 1, 3] and data.labels.dtype == torch.int64
    assert [data.classes[i] for i in data.labels] == ["Business", "Sports", "Sci/Tech"]


@pytest.mark.parametrize("bad_row, problem", [
    (["2", "only a title"], "2 fields, expected 3"),
    (["5", "title", "description"], "class '5', expected 1-4"),
])
def test_ag_news_rejects_a_malformed_row(tmp_path, monkeypatch, bad_row, problem):
    path = write_ag_news(tmp_path / "ag_news_csv" / "train.csv",
                         [["1", "a", "b"], bad_row, ["2", "c", "d"]])
    trust(monkeypatch, agnews.CHECKSUMS, path)
    with pytest.raises(DataError) as excinfo:
        load_ag_news("train", tmp_path)
    assert f"{path} line 2: {problem}" in one_line_error(excinfo)


# --- vocabularies and id tensors -------------------------------------------------------------------

def test_vocabulary_round_trip_and_unknown_words():
    vocab = Vocabulary.build([("a", "dog", "runs"), ("a", "cat", "runs")])
    ids = vocab.encode(("a", "dog", "runs"), bos=True, eos=True)
    assert ids[0] == BOS and ids[-1] == EOS
    assert vocab.decode(ids + [PAD, PAD]) == ["a", "dog", "runs"]
    assert vocab.encode(("a", "zebra")) == [vocab.id("a"), UNK]
    assert vocab.decode(vocab.encode(("a", "zebra"))) == ["a", "<unk>"]
    assert vocab.coverage([("a", "zebra")]) == 0.5


def test_vocabulary_ties_are_alphabetical_whatever_the_order():
    sentences = [("b", "c", "a"), ("c", "b", "d"), ("a", "e")]
    forward = Vocabulary.build(sentences)
    backward = Vocabulary.build([tuple(reversed(s)) for s in reversed(sentences)])
    assert forward == backward
    assert forward.words[len(SPECIALS):] == ("a", "b", "c", "d", "e")  # a, b, c twice; d, e once
    assert Vocabulary.build(sentences, min_freq=2).words[len(SPECIALS):] == ("a", "b", "c")
    assert Vocabulary.build(sentences, max_size=4).words[len(SPECIALS):] == ("a", "b", "c", "d")


def test_sequence_pairs_pads_sources_and_frames_targets():
    corpus = ParallelCorpus(source=(("a", "dog"), ("a", "big", "dog", "runs")),
                            target=(("ein", "hund"), ("hund",)), name="toy")
    english = Vocabulary.build(corpus.source)
    german = Vocabulary.build(corpus.target)
    data = sequence_pairs(corpus, english, german)
    assert data.x.tolist() == [english.encode(("a", "dog")) + [PAD, PAD], english.encode(corpus.source[1])]
    assert data.y.tolist() == [[BOS, german.id("ein"), german.id("hund"), EOS],
                               [BOS, german.id("hund"), EOS, PAD]]
    assert data.lengths().tolist() == [2, 4]
    assert data.y.ne(PAD).sum(1).tolist() == [4, 3]
    assert data.classes == german.words and data.pad_id == PAD and data.name == "toy"

    cut = sequence_pairs(corpus, english, german, max_length=1)  # only when asked
    assert cut.x.tolist() == [[english.id("a")], [english.id("a")]]
    assert cut.y.tolist() == [[BOS, german.id("ein"), EOS], [BOS, german.id("hund"), EOS]]


def test_corpus_subset_matches_tensor_subset():
    source = tuple((f"w{i}",) * (1 + i % 3) for i in range(20))
    corpus = ParallelCorpus(source=source, target=source, name="toy")
    vocab = Vocabulary.build(source)
    small = corpus.subset(7, seed=3)
    assert len(small) == 7 and small.source == tuple(s for s in source if s in small.source)  # corpus order
    assert small == corpus.subset(7, seed=3) and corpus.subset(25, seed=3) is corpus
    picked = sequence_pairs(corpus, vocab, vocab).subset(7, seed=3)
    assert [vocab.decode(row) for row in picked.x] == [list(s) for s in small.source]
    assert small.mean_source_length() == pytest.approx(sum(map(len, small.source)) / 7)
    with pytest.raises(ConfigError):
        ParallelCorpus(source=source, target=source[:3], name="unaligned")
