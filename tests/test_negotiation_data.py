"""§3.2's Deal or No Deal data (data/negotiation.py): every line of the shipped end-to-end-negotiator
files from $ADVROBUST_DATA (CI: shared/data), the 2017 vocabulary rule, the id tensors, and one-line
errors naming the file and line of a malformed line."""
from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest
import torch
from _data_fixtures import trust
from advrobust.data import data_root
from advrobust.data import negotiation as neg
from advrobust.data.vocab import PAD, SPECIALS, UNK
from advrobust.errors import ConfigError, DataError

LINES = {"train": 10_095, "val": 1_087, "test": 1_052}  # shared/data/PROVENANCE.md
GOOD = ("<input> 1 4 4 1 1 2 </input> <dialogue> THEM: i would like 4 hats and you can have the rest . <eos> "
        "YOU: deal <eos> THEM: <selection> </dialogue> <output> item0=1 item1=0 item2=1 item0=0 item1=4 item2=0 "
        "</output> <partner_input> 1 0 4 2 1 2 </partner_input>")


@pytest.fixture(scope="module")
def shared() -> Path:
    """The real data directory, $ADVROBUST_DATA (a failure, never a skip, when it is not set)."""
    if not os.environ.get("ADVROBUST_DATA"):
        pytest.fail("ADVROBUST_DATA is not set: point it at the dataset directory (CI: shared/data)")
    return data_root()


@pytest.fixture(scope="module")
def corpora(shared: Path) -> dict[str, neg.NegotiationCorpus]:
    return {split: neg.load_negotiation(split, shared) for split in neg.SPLITS}


def one_line(excinfo: pytest.ExceptionInfo[DataError]) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    return message


# --- the shipped files -------------------------------------------------------------------------------

def test_every_line_of_every_split_parses(shared, corpora):
    for split, count in LINES.items():
        corpus = corpora[split]
        assert len(corpus) == count == len((shared / "negotiate" / f"{split}.txt").read_text().splitlines())
        assert corpus.name == f"negotiate-{split}"
        for example in corpus.examples:
            assert example.dialogue[0] in (neg.YOU, neg.THEM) and example.dialogue[-1] == neg.SELECTION
            assert example.counts == example.partner_input[0::2]
            assert sum(c * v for c, v in zip(example.counts, example.values)) == 10
            if example.outcome == "agree":  # the two choices split the pool
                own, other = example.selection, example.partner_selection
                assert own is not None and other is not None
                assert all(a + b == c for a, b, c in zip(own, other, example.counts))
            else:
                assert example.selection is None and set(example.output) == {f"<{example.outcome}>"}


def test_first_line_fields(corpora):
    first = corpora["train"].examples[0]
    assert neg.parse_line(GOOD) == first
    assert first.counts == (1, 4, 1) and first.values == (4, 1, 2) and first.partner_values == (0, 2, 2)
    assert first.selection == (1, 0, 1) and first.partner_selection == (0, 4, 0)
    assert first.dialogue[:3] == ("THEM:", "i", "would")


def test_outcome_counts_and_two_perspectives(corpora):
    outcomes = [example.outcome for example in corpora["train"].examples]
    assert {kind: outcomes.count(kind) for kind in set(outcomes)} == {
        "agree": 7882, "disagree": 1179, "no_agreement": 978, "disconnect": 56}
    first, second = corpora["train"].examples[:2]  # one dialogue seen by each agent
    assert first.input == second.partner_input and second.input == first.partner_input
    swap = {"YOU:": "THEM:", "THEM:": "YOU:"}
    assert [swap.get(word, word) for word in first.dialogue] == list(second.dialogue)


def test_selfplay_contexts(shared):
    pairs = neg.load_selfplay_contexts(shared)
    assert len(pairs) == 4086 == len((shared / "negotiate" / "selfplay.txt").read_text().splitlines()) // 2
    assert pairs[0] == ((1, 0, 1, 1, 3, 3), (1, 1, 1, 0, 3, 3))
    assert all(a[0::2] == b[0::2] for a, b in pairs)


def test_vocabulary_follows_the_2017_rule(corpora):
    dialogues = corpora["train"].dialogues()
    vocabulary = neg.negotiation_vocabulary(dialogues)
    counts: dict[str, int] = {}
    for dialogue in dialogues:
        for word in dialogue:
            counts[word] = counts.get(word, 0) + 1
    frequent = {w for w, c in counts.items() if c > neg.UNK_THRESHOLD}
    assert len(frequent) == 461 and set(vocabulary.words[len(SPECIALS):]) == frequent
    assert len(vocabulary) == 465  # the 2017 dictionary's 463 plus the unused <s> and </s>
    assert vocabulary.words[4:8] == neg.DIALOGUE_MARKERS
    assert (vocabulary.id("YOU:"), vocabulary.id("THEM:"), vocabulary.id("<eos>"), vocabulary.id("<selection>")) == (
        neg.YOU_ID, neg.THEM_ID, neg.EOT_ID, neg.SELECTION_ID)
    kept = vocabulary.words[8:]
    assert all(counts[a] >= counts[b] for a, b in itertools.pairwise(kept))  # by decreasing frequency
    assert vocabulary.coverage(corpora["val"].dialogues()) > 0.98
    assert len(neg.negotiation_vocabulary(dialogues, unk_threshold=19)) == 4 + 471
    with pytest.raises(ConfigError):
        neg.negotiation_vocabulary(dialogues, unk_threshold=-1)


def test_negotiation_data_tensors(corpora):
    vocabulary = neg.negotiation_vocabulary(corpora["train"].dialogues())
    data = neg.negotiation_data(corpora["val"], vocabulary)
    assert len(data) == LINES["val"] and data.context.shape == (LINES["val"], 6)
    assert data.selection.shape == (LINES["val"], 6) and int(data.selection.max()) < len(neg.OUTPUT_TOKENS)
    for row in (0, 500, LINES["val"] - 1):
        example = corpora["val"].examples[row]
        assert data.context[row].tolist() == list(example.input)
        length = int(data.lengths()[row])
        assert length == len(example.dialogue) and bool(data.dialogue[row, length:].eq(PAD).all())
        assert data.dialogue[row, :length].tolist() == vocabulary.encode(example.dialogue)
        assert [neg.OUTPUT_TOKENS[i] for i in data.selection[row].tolist()] == list(example.output)
    assert bool(data.dialogue.eq(UNK).any())  # rare words of the validation set are unknown
    small = data.subset(50, seed=3)
    chosen = corpora["val"].subset(50, seed=3)
    assert small.context.tolist() == [list(example.input) for example in chosen.examples]
    assert small.dialogue.size(1) == int(small.lengths().max())
    with pytest.raises(ConfigError, match="negotiation vocabulary"):
        from advrobust.data import Vocabulary
        neg.negotiation_data(corpora["val"], Vocabulary.build(corpora["val"].dialogues()))


# --- malformed files ---------------------------------------------------------------------------------

@pytest.mark.parametrize("bad, reason", [
    (GOOD.replace("<input> 1 4", "<input> 1"), "6 integers"),
    (GOOD.replace("<input> 1 4 4 1 1 2", "<input> 1 4 4 1 1 3"), "worth 10"),
    (GOOD.replace("</input> ", ""), "never closed"),
    (GOOD.replace("<dialogue>", "<dialog>"), "expected <dialogue>"),
    (GOOD.replace("THEM: <selection>", "THEM: deal"), "<selection> turn"),
    (GOOD.replace("item2=1 item0=0", "item2=2 item0=0"), "bad selection token"),
    (GOOD.replace("item0=1 item1=0", "item0=0 item1=0"), "do not split"),
    (GOOD.replace("<output> item0=1", "<output> <disagree>"), "repeats one token"),
    (GOOD.replace("item1=0 item2=1 item0=0", "item1=0 item1=1 item0=0"), "bad selection token"),
    (GOOD.replace("item0=0 item1=4 item2=0 </output>", "item0=0 item1=4 </output>"), "6 tokens"),
    (GOOD.replace("<partner_input> 1 0 4 2 1 2", "<partner_input> 2 1 4 2 1 0"), "differ"),
    (GOOD + " extra", "unexpected 'extra'"),
])
def test_a_malformed_line_names_its_file_and_line(tmp_path, bad, reason):
    path = tmp_path / "train.txt"
    path.write_text(f"{GOOD}\n{GOOD}\n{bad}\n{GOOD}\n")
    with pytest.raises(DataError) as excinfo:
        neg.read_negotiation_file(path)
    message = one_line(excinfo)
    assert message.startswith(f"{path}:3: ") and reason in message


def test_a_no_deal_line_parses_and_a_mixed_one_does_not():
    no_deal = GOOD.replace("item0=1 item1=0 item2=1 item0=0 item1=4 item2=0", " ".join(["<no_agreement>"] * 6))
    assert neg.parse_line(no_deal).outcome == "no_agreement"
    mixed = GOOD.replace("item0=1 item1=0 item2=1 item0=0 item1=4 item2=0", "<disagree> " * 5 + "<disconnect>")
    with pytest.raises(DataError, match="repeats one token"):
        neg.parse_line(mixed, "f:1")


def test_loaders_verify_checksums_and_name_missing_files(tmp_path, monkeypatch):
    folder = tmp_path / "negotiate"
    folder.mkdir()
    with pytest.raises(DataError, match="missing negotiation file negotiate/val.txt"):
        neg.load_negotiation("val", tmp_path)
    (folder / "val.txt").write_text(GOOD + "\n")
    with pytest.raises(DataError, match="checksum mismatch"):
        neg.load_negotiation("val", tmp_path)
    trust(monkeypatch, neg.CHECKSUMS, folder / "val.txt")
    assert len(neg.load_negotiation("val", tmp_path)) == 1
    with pytest.raises(ConfigError, match="unknown negotiation split"):
        neg.load_negotiation("dev", tmp_path)


@pytest.mark.parametrize("lines, where, reason", [
    (["1 0 1 1 3 3", "1 1 1 0 3 3", "1 0 1 1 3 3"], 3, "odd number"),
    (["1 0 1 1 3 3", "1 1 2 0 3 3"], 2, "item counts differ"),
    (["1 0 1 1 3 3", "1 1 1 0 3"], 2, "6 integers"),
])
def test_malformed_selfplay_file(tmp_path, monkeypatch, lines, where, reason):
    path = tmp_path / "negotiate" / "selfplay.txt"
    path.parent.mkdir()
    path.write_text("".join(line + "\n" for line in lines))
    trust(monkeypatch, neg.CHECKSUMS, path)
    with pytest.raises(DataError) as excinfo:
        neg.load_selfplay_contexts(tmp_path)
    message = one_line(excinfo)
    assert message.startswith(f"{path}:{where}: ") and reason in message


def test_output_vocabulary_is_fixed():
    assert len(neg.OUTPUT_TOKENS) == 18 and neg.OUTPUT_TOKENS[:3] == neg.NO_DEAL_TOKENS
    assert torch.tensor([neg.OUTPUT_ID[t] for t in neg.OUTPUT_TOKENS]).tolist() == list(range(18))
