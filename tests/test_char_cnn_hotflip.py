"""Table 1.1's pieces: the character encoding of AG News, Zhang et al.'s char-CNN, the one-character
HotFlip attack, the registered dataset through the one trainer, and ``table_1_1`` with and without
the data (tests/test_char_cnn_hotflip.py)."""
from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from _data_fixtures import trust
from advrobust.data import agnews, load_dataset
from advrobust.data.agnews import (
    ALPHABET,
    ZHANG_LENGTH,
    character_lengths,
    decode_characters,
    encode_characters,
    replace_characters,
)
from advrobust.errors import DataError
from advrobust.experiments import ch1_text
from advrobust.models import create_model
from advrobust.models.char_cnn import CharCNN, one_hot_characters
from advrobust.profiles.text_classification import text_classification
from advrobust.registry import available, family
from advrobust.text import HotFlip
from advrobust.text.hotflip import cross_entropy_loss, text_lengths
from advrobust.training import TrainConfig, train, trained_model
from torch import Tensor, nn

THESIS_TEXT = "South Africa's historic Soweto township marks its 100th birthday on Tuesday in a mood of optimism."


def write_ag_news(path: Path, rows: list[list[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as stream:
        csv.writer(stream, quoting=csv.QUOTE_ALL).writerows(rows)
    return path


def ag_news_rows(n: int, seed: int) -> list[list[str]]:
    """``n`` AG News-format rows whose class shows in a keyword (plus the thesis's text)."""
    generator = torch.Generator().manual_seed(seed)
    words = {"1": "war", "2": "goal", "3": "stock", "4": "chip"}
    rows = [["1", "Soweto turns 100", THESIS_TEXT]]
    for i in range(n - 1):
        label = str(int(torch.randint(1, 5, (1,), generator=generator)))
        rows.append([label, f"Story {i} about {words[label]}", f"The {words[label]} news, item {i}."])
    return rows


@pytest.fixture
def ag_news_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data directory with small AG News files whose checksums the loader is told to expect."""
    train_csv = write_ag_news(tmp_path / "ag_news_csv" / "train.csv", ag_news_rows(48, 0))
    test_csv = write_ag_news(tmp_path / "ag_news_csv" / "test.csv", ag_news_rows(24, 1))
    trust(monkeypatch, agnews.CHECKSUMS, train_csv, test_csv)
    return tmp_path


# ---------------------------------------------------------------- encoding


def test_the_alphabet_is_zhang_et_al_s() -> None:
    assert len(ALPHABET) == len(set(ALPHABET)) == 69  # their 70 counts "-" twice
    assert ALPHABET.startswith("abcdefghijklmnopqrstuvwxyz0123456789") and ALPHABET.endswith("\n")
    assert " " not in ALPHABET and not any(c.isupper() for c in ALPHABET)


def test_encoding_round_trip() -> None:
    text = "the mood of optimism: 100th birthday, #39;s (really)!"
    ids = encode_characters([text, "Mood"], length=64)
    assert ids.shape == (2, 64) and ids.dtype == torch.int64
    assert decode_characters(ids[0]) == text  # every character but the space is in the alphabet
    assert ids[0, : len(text)].eq(0).sum() == text.count(" ") and ids[0, len(text):].eq(0).all()
    assert decode_characters(ids[1]) == "mood"  # lower-cased
    assert encode_characters(["é€ x"], 8)[0].tolist() == [0, 0, 0, ALPHABET.index("x") + 1, 0, 0, 0, 0]
    assert decode_characters(encode_characters([text], 7)[0]) == text[:7]  # cut after length
    assert character_lengths([text, "Mood"], 7).tolist() == [7, 4]
    # an attack's change of ids, written back into the original text (its case kept elsewhere)
    original = encode_characters(["In a mood."], 16)[0]
    changed = original.clone()
    changed[8] = ALPHABET.index("p") + 1
    assert replace_characters("In a mood.", original, changed) == "In a moop."


# ---------------------------------------------------------------- the model


def test_char_cnn_small_is_zhang_et_al_s_small_convnet() -> None:
    assert family("model", "char_cnn_small") == family("model", "char_cnn_mini") == "text_classifier"
    assert {"char_cnn_small", "char_cnn_mini"} <= set(available("model", family="text_classifier"))
    model = create_model("char_cnn_small")
    convs = [m for m in model.modules() if isinstance(m, nn.Conv1d)]
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert [c.kernel_size[0] for c in convs] == [7, 7, 3, 3, 3, 3]
    assert [c.out_channels for c in convs] == [256] * 6 and convs[0].in_channels == 69
    assert [m.kernel_size for m in model.modules() if isinstance(m, nn.MaxPool1d)] == [3, 3, 3]
    assert [(f.in_features, f.out_features) for f in linears] == [(256 * 34, 1024), (1024, 1024), (1024, 4)]
    assert [d.p for d in model.modules() if isinstance(d, nn.Dropout)] == [0.5, 0.5]
    assert model.length == ZHANG_LENGTH and model.num_classes == 4
    assert 0.045 < float(convs[1].weight.detach().std()) < 0.055  # N(0, 0.05²) initialisation
    mini = create_model("char_cnn_mini").eval()
    assert (mini.length, mini.num_classes) == (512, 4)
    assert mini(torch.randint(0, 70, (2, ZHANG_LENGTH))).shape == (2, 4)


@pytest.mark.parametrize("name", available("model", family="text_classifier"))
def test_every_text_classifier_maps_character_ids_to_logits(name: str) -> None:
    """The family's contract: (N, L) int64 ids -> (N, K) logits, through forward_one_hot."""
    torch.manual_seed(0)
    model = create_model(name).eval()
    ids = torch.randint(0, model.alphabet_size + 1, (3, ZHANG_LENGTH))
    logits = model(ids)
    assert logits.shape == (3, model.num_classes) and torch.isfinite(logits).all()
    torch.testing.assert_close(model.forward_one_hot(one_hot_characters(ids, model.alphabet_size)), logits)
    torch.testing.assert_close(model(ids[:1]), logits[:1], rtol=1e-4, atol=1e-5)  # rows are independent
    assert create_model(name, num_classes=7).num_classes == 7


def test_forward_is_forward_one_hot_of_one_hot() -> None:
    torch.manual_seed(0)
    model = CharCNN(length=130, features=8, hidden=16, num_classes=3, init_std=None).eval()
    ids = torch.randint(0, len(ALPHABET) + 1, (4, 130))
    one_hot = one_hot_characters(ids)
    assert one_hot.shape == (4, 69, 130)
    torch.testing.assert_close(one_hot, F.one_hot(ids, 70)[..., 1:].transpose(1, 2).float())
    torch.testing.assert_close(model(ids), model.forward_one_hot(one_hot))
    # fewer characters read as zero columns, more are ignored
    padded = torch.cat([ids[:, :100], torch.zeros(4, 30, dtype=torch.long)], dim=1)
    torch.testing.assert_close(model(ids[:, :100]), model(padded))
    torch.testing.assert_close(model(torch.cat([ids, ids], dim=1)), model(ids))
    with pytest.raises(ValueError, match="integer"):
        model(ids.float())


# ---------------------------------------------------------------- HotFlip


class LinearChars(nn.Module):
    """Logits linear in the one-hot input: W · x + b, W (K, A, L)."""

    def __init__(self, length: int, classes: int = 3) -> None:
        super().__init__()
        self.alphabet_size, self.length = len(ALPHABET), length
        self.weight = nn.Parameter(torch.randn(classes, self.alphabet_size, length))
        self.bias = nn.Parameter(torch.randn(classes))

    def forward_one_hot(self, one_hot: Tensor) -> Tensor:
        return torch.einsum("kal,nal->nk", self.weight, one_hot) + self.bias

    def forward(self, ids: Tensor) -> Tensor:
        return self.forward_one_hot(one_hot_characters(ids, self.alphabet_size))


def negative_true_logit(logits: Tensor, labels: Tensor) -> Tensor:
    """A loss linear in the logits, so linear in the one-hot input for :class:`LinearChars`."""
    return -logits.gather(1, labels.unsqueeze(1)).squeeze(1)


def test_the_loss_is_cross_entropy_with_a_gradient_that_survives_confidence() -> None:
    logits = torch.tensor([[30.0, 0.0, 1.0], [0.2, 0.1, -1.0], [-50.0, 50.0, 0.0]], requires_grad=True)
    labels = torch.tensor([0, 1, 0])
    loss = cross_entropy_loss(logits, labels)
    torch.testing.assert_close(loss, F.cross_entropy(logits, labels, reduction="none"))
    (grad,) = torch.autograd.grad(loss.sum(), logits)
    torch.testing.assert_close(grad, (logits.softmax(1) - F.one_hot(labels, 3)).detach(), rtol=1e-5, atol=1e-6)
    assert grad[0, 0] < 0 and torch.isclose(grad[0, 0], -grad[0, 1:].sum())  # F.cross_entropy gives 0 here


def test_the_first_order_estimate_is_exact_for_a_linear_model() -> None:
    torch.manual_seed(0)
    n, width = 3, 6
    model = LinearChars(width)
    ids = torch.randint(1, 70, (n, width))
    ids[0, 2] = 0  # an unknown character inside the text
    ids[1, 4:] = 0  # a shorter text: padding after 4 characters
    labels = torch.tensor([0, 1, 2])
    attack = HotFlip(model, loss=negative_true_logit)
    gains = attack.estimated_gains(ids, labels)
    assert gains.shape == (n, 69, width)
    clean = negative_true_logit(model(ids), labels)
    lengths = text_lengths(ids)
    assert lengths.tolist() == [6, 4, 6]
    for row in range(n):
        for position in range(width):
            for character in range(1, 70):
                gain = gains[row, character - 1, position]
                if position >= lengths[row] or ids[row, position] == character:
                    assert gain == float("-inf")  # padding, or no change
                    continue
                flipped = ids[row : row + 1].clone()
                flipped[0, position] = character
                exact = negative_true_logit(model(flipped), labels[row : row + 1])[0] - clean[row]
                torch.testing.assert_close(gain, exact, rtol=1e-4, atol=1e-4)


def test_hotflip_changes_one_character_inside_the_text_and_leaves_its_input() -> None:
    torch.manual_seed(1)
    model = CharCNN(length=128, features=8, hidden=16, num_classes=3, init_std=None)
    model.train()  # the attack runs in eval mode and restores the mode
    ids = torch.randint(1, 70, (8, 140))
    lengths = torch.tensor([140, 100, 60, 30, 10, 129, 1, 128])
    ids[torch.arange(140) >= lengths.unsqueeze(1)] = 0
    ids[0, 5] = 0  # an unknown character inside a text
    before = ids.clone()
    labels = torch.randint(0, 3, (8,))
    result = HotFlip(model, candidates=7).run(ids, labels)
    assert torch.equal(ids, before) and model.training
    changed = result.x_adv != ids
    assert changed.sum(dim=1).le(1).all() and changed.any()
    readable = lengths.clamp(max=model.length)  # the model reads 128 characters
    positions = torch.arange(140).expand(8, 140)
    assert (positions[changed] < readable.unsqueeze(1).expand(8, 140)[changed]).all()
    assert (result.x_adv[changed] != 0).all()  # never flipped to padding
    assert torch.equal(result.distance("characters_changed"), changed.sum(dim=1))
    assert torch.equal(result.l2, changed.sum(dim=1).float() * 2**0.5)  # letters to letters here
    assert result.queries.tolist() == [8] * 8  # one gradient pass and seven candidates
    assert torch.equal(result.success, model.eval()(result.x_adv).argmax(1) != labels)


def test_hotflip_batches_give_the_per_example_results() -> None:
    torch.manual_seed(2)
    model = CharCNN(length=128, features=8, hidden=16, num_classes=4, init_std=None).eval()
    ids = torch.randint(0, 70, (6, 128))
    ids[:, 90:] = 0
    labels = torch.randint(0, 4, (6,))
    together = HotFlip(model, candidates=5).run(ids, labels)
    alone = [HotFlip(model, candidates=5).run(ids[i : i + 1], labels[i : i + 1]) for i in range(6)]
    chunks = HotFlip(model, candidates=5, batch_size=4).run(ids, labels)
    for name in ("x_adv", "success", "queries", "original_correct"):
        assert torch.equal(getattr(together, name), torch.cat([getattr(r, name) for r in alone]))
        assert torch.equal(getattr(together, name), getattr(chunks, name))


def synthetic_texts(n: int, seed: int) -> tuple[list[str], Tensor]:
    """Texts of random letters a-p holding one "x" (class 0) or one "z" (class 1)."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 2, (n,), generator=generator)
    texts = []
    for label in labels.tolist():
        size = int(torch.randint(30, 60, (1,), generator=generator))
        letters = [ALPHABET[i] for i in torch.randint(0, 16, (size,), generator=generator).tolist()]
        letters[int(torch.randint(0, size, (1,), generator=generator))] = "xz"[label]
        texts.append("".join(letters))
    return texts, labels


def test_hotflip_fools_a_char_cnn_whose_class_is_one_character() -> None:
    torch.manual_seed(0)
    train_texts, train_labels = synthetic_texts(768, seed=0)
    test_texts, test_labels = synthetic_texts(64, seed=1)
    model = CharCNN(length=128, features=32, hidden=64, num_classes=2, dropout=0.0, init_std=None)
    config = TrainConfig(model="char_cnn_mini", dataset="synthetic", epochs=8, batch_size=32,
                         optimizer="adam", lr=3e-3, seed=0)  # the one trainer, on (N, L) integer ids
    train(model, encode_characters(train_texts, 128), train_labels, config, "cpu", progress=False)
    test_ids = encode_characters(test_texts, 128)
    # about as many candidates as the alphabet has characters: the estimate's top flips often share
    # the position of the decisive character, with the decisive replacement not the first ranked
    result = HotFlip(model, candidates=80).run(test_ids, test_labels, character_lengths(test_texts, 128))
    assert result.original_correct.float().mean() > 0.9
    assert result.success_rate > 0.8
    assert result.distance("characters_changed").le(1).all()


# ---------------------------------------------------------------- the dataset and Table 1.1


def test_the_ag_news_dataset_without_files_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(DataError) as excinfo:
        load_dataset("ag_news", "test", root=tmp_path)
    message = str(excinfo.value)
    assert "\n" not in message and "ag_news_csv/test.csv" in message and str(tmp_path) in message


def test_the_ag_news_dataset_trains_through_the_one_trainer(ag_news_root: Path, tmp_path: Path) -> None:
    test = load_dataset("ag_news", "test", root=ag_news_root)
    assert test.x.shape == (24, ZHANG_LENGTH) and test.x.dtype == torch.int64 and test.classes[0] == "World"
    text = "Soweto turns 100 " + THESIS_TEXT
    torch.testing.assert_close(test.x[0], encode_characters([text])[0])
    config = TrainConfig(model="char_cnn_mini", dataset="ag_news", epochs=1, batch_size=8, optimizer="adam",
                         lr=1e-3, seed=0)
    cache = tmp_path / "cache"
    model = trained_model(config, "cpu", cache_dir=cache, data_root=ag_news_root, progress=False)
    assert not model.training and model(test.x[:3]).shape == (3, 4)
    again = trained_model(config, "cpu", cache_dir=cache, data_root=ag_news_root, progress=False)
    torch.testing.assert_close(again(test.x[:3]), model(test.x[:3]))  # from the cache


def test_table_1_1_without_data_is_the_thesis_s_table(tmp_path: Path) -> None:
    table = ch1_text.table_1_1(text_classification("smoke"), "cpu", "smoke", data_root=tmp_path,
                               cache_dir=tmp_path / "cache")
    assert not table.ran and table.status.startswith("paper only: data absent: ")
    assert "ag_news_csv/test.csv" in table.status and str(tmp_path) in table.status
    assert table.result is None and table.summary == {} and table.describe() == table.status
    assert list(table.table.index) == [("thesis", "original"), ("thesis", "adversarial")]
    assert table.table.loc[("thesis", "original"), "class"] == "World"
    assert table.table.loc[("thesis", "original"), "confidence"] == 0.57
    assert table.table.loc[("thesis", "adversarial"), "class"] == "Sci/Tech"
    assert "mooP" in table.table.loc[("thesis", "adversarial"), "text"]


def test_table_1_1_with_data_attacks_our_classifier(ag_news_root: Path, tmp_path: Path) -> None:
    smoke = text_classification("smoke")
    settings = dataclasses.replace(smoke, train=dataclasses.replace(smoke.train, train_subset=None, batch_size=16),
                                   n_attack=4)
    table = ch1_text.table_1_1(settings, "cpu", "smoke", data_root=ag_news_root, cache_dir=tmp_path / "cache")
    assert table.ran and table.result is not None
    assert table.summary["n_test"] == 24 and table.summary["n_attacked"] == len(table.result.success) <= 4
    assert 0 <= table.summary["success_rate"] <= 1 and 0 <= table.summary["success_rate_best_estimate"] <= 1
    assert "correctly classified" in table.describe() and "\n" not in table.describe()
    assert table.example.startswith("the thesis's text")
    ours = table.table.loc["ours (smoke)"]
    original, adversarial = ours.loc["original", "text"], ours.loc["adversarial", "text"]
    assert original == "Soweto turns 100 " + THESIS_TEXT
    assert len(adversarial) == len(original) and sum(a != b for a, b in zip(original, adversarial)) <= 1
    assert ours.loc["original", "class"] in agnews.CLASSES and 0 < ours.loc["original", "confidence"] <= 1
    assert ours.loc["adversarial", "change"] == ch1_text.changed_word(original, adversarial)


def test_changed_word_names_the_word_around_the_flip() -> None:
    assert ch1_text.changed_word("in a mood of", "in a moop of") == "mood → moop"
    assert ch1_text.changed_word("mood", "mood") == ""
    assert ch1_text.changed_word("its 100th birthday", "itsm100th birthday") == "its 100th → itsm100th"
    assert ch1_text.changed_word("x mood.", "x moo .") == "mood. → moo ."
