"""Chapter 3.1's text models and their trainer: the Seq2Seq API the Seq2Sick attack relies on
(embeddings in, greedy logits out, padding that never leaks, beam search), the perplexity
language model of Table 3.5, and the cached, resumable text trainer."""
from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import torch
from advrobust.data import TensorData, pad_sequences
from advrobust.data.vocab import BOS, EOS, PAD, UNK
from advrobust.errors import ConfigError
from advrobust.models import LanguageModel, Seq2Seq, create_model
from advrobust.registry import available, family
from advrobust.runtime import seed_everything
from advrobust.training import (
    TextTrainConfig,
    text_run_directory,
    text_training_history,
    train_text_model,
    trained_text_model,
)
from advrobust.training import text as text_training

from _text_fixtures import VOCAB, WORDS, copy_model, options, pairs

LENGTHS = torch.tensor([5, 2, 6, 1, 3])  # different source lengths in one batch


@pytest.fixture(scope="module")
def model() -> Seq2Seq:
    """A two-layer, bidirectional model trained for one short epoch on reversal: uncertain enough
    that its outputs vary in length and beam search often beats greedy decoding."""
    config = TextTrainConfig("seq2seq_lstm", "reverse", options(layers=2, bidirectional=True, dropout=0.1),
                             epochs=1, batch_size=16, lr=0.01)
    seed_everything(0)
    trained = config.build_model()
    train_text_model(trained, pairs(300, 0), config, "cpu", progress=False)
    assert isinstance(trained, Seq2Seq)
    return trained.eval()


@pytest.fixture(scope="module")
def batch() -> tuple[torch.Tensor, torch.Tensor]:
    """Sources of the lengths :data:`LENGTHS`, padded beyond the longest one too."""
    generator = torch.Generator().manual_seed(3)
    src = torch.full((len(LENGTHS), 7), PAD)
    for row, length in enumerate(LENGTHS.tolist()):
        src[row, :length] = torch.randint(4, VOCAB, (length,), generator=generator)
    return src, LENGTHS


def log_probability(model: Seq2Seq, src: torch.Tensor, length: torch.Tensor, output: list[int]) -> float:
    """log p(output, EOS | src), re-scored by teacher forcing."""
    tgt_in = torch.tensor([[BOS, *output]])
    targets = torch.tensor([*output, EOS])
    with torch.no_grad():
        log_probs = model(src[None], length[None], tgt_in)[0].log_softmax(dim=1)
    return float(log_probs[torch.arange(len(targets)), targets].sum())


def test_models_are_registered_with_their_families():
    assert "seq2seq_lstm" in available("model", family="seq2seq")
    assert "lstm_lm" in available("model", family="language_model")
    assert family("model", "seq2seq_lstm") == "seq2seq"
    built = create_model("seq2seq_lstm", src_vocab_size=20, tgt_vocab_size=30)
    assert isinstance(built, Seq2Seq)
    assert built.src_embedding.num_embeddings == 20 and built.src_embedding.padding_idx == PAD
    assert built.tgt_embedding.num_embeddings == 30 and built.generator.out_features == 30


def test_forward_is_forward_embedded_of_the_source_embeddings(model, batch):
    src, lengths = batch
    tgt_in = torch.tensor([[BOS, 5, 6, 7]] * len(src))
    logits = model(src, lengths, tgt_in)
    assert logits.shape == (len(src), 4, VOCAB)
    assert torch.equal(logits, model.forward_embedded(model.src_embedding(src), lengths, tgt_in))


@pytest.mark.parametrize("layers, bidirectional", [(1, False), (2, True)])
def test_a_batch_gives_each_sentence_its_own_result(layers, bidirectional, batch):
    """Padding never leaks: forward, greedy decoding and beam search on a padded batch equal
    those of each sentence alone, unpadded."""
    torch.manual_seed(1)
    model = Seq2Seq(VOCAB, VOCAB, 8, 16, layers=layers, dropout=0.3, bidirectional=bidirectional).eval()
    src, lengths = batch
    tgt_in = torch.tensor([[BOS, 4, 9, 5]] * len(src))
    logits = model(src, lengths, tgt_in)
    greedy_logits, tokens = model.greedy_embedded(model.src_embedding(src), lengths, 6)
    beams = {k: model.translate(src, lengths, beam_size=k, max_len=6) for k in (1, 3)}
    for row, length in enumerate(lengths.tolist()):
        alone, alone_length = src[row : row + 1, :length], lengths[row : row + 1]
        torch.testing.assert_close(model(alone, alone_length, tgt_in[:1]), logits[row : row + 1])
        one_logits, one_tokens = model.greedy_embedded(model.src_embedding(alone), alone_length, 6)
        torch.testing.assert_close(one_logits, greedy_logits[row : row + 1])
        assert torch.equal(one_tokens, tokens[row : row + 1])
        for k, outputs in beams.items():
            assert model.translate(alone, alone_length, beam_size=k, max_len=6) == [outputs[row]]


def test_the_trained_fixture_decodes_in_batches_as_alone(model, batch):
    src, lengths = batch
    for k in (1, 3):
        outputs = model.translate(src, lengths, beam_size=k, max_len=8)
        for row, length in enumerate(lengths.tolist()):
            assert model.translate(src[row : row + 1, :length], lengths[row : row + 1], k, 8) == [outputs[row]]


def test_greedy_embedded_tokens_are_greedy_translation_up_to_the_first_eos(model):
    data = pairs(40, 11)
    lengths = data.lengths()
    _, tokens = model.greedy_embedded(model.src_embedding(data.x), lengths, 8)
    outputs = model.translate(data.x, lengths, beam_size=1, max_len=8)
    ended = 0
    for row, output in zip(tokens.tolist(), outputs, strict=True):
        cut = row.index(EOS) if EOS in row else len(row)
        ended += EOS in row
        assert output == row[:cut]
    assert 0 < ended  # the comparison covers sentences that end
    assert {len(output) for output in outputs} >= {1, 2, 3}


def test_greedy_embedded_is_differentiable_in_the_source_embeddings(model, batch):
    src, lengths = batch
    src_emb = model.src_embedding(src).detach().requires_grad_(True)
    logits, tokens = model.greedy_embedded(src_emb, lengths, 5)
    assert logits.shape == (len(src), 5, VOCAB) and tokens.shape == (len(src), 5)
    assert torch.equal(tokens, logits.argmax(dim=2))
    logits.gather(2, tokens.unsqueeze(2)).sum().backward()
    assert src_emb.grad is not None and torch.isfinite(src_emb.grad).all()
    real = torch.arange(src.size(1)) < lengths.unsqueeze(1)
    assert src_emb.grad[real].abs().sum(dim=1).gt(0).all()  # every real word moves the output
    assert src_emb.grad[~real].eq(0).all()  # padding does not


def test_greedy_embedded_gradient_matches_finite_differences():
    torch.manual_seed(2)
    model = Seq2Seq(VOCAB, VOCAB, 4, 6, layers=2, dropout=0.0, bidirectional=True).double().eval()
    src = torch.tensor([[4, 5, 6], [7, 8, PAD]])
    lengths = torch.tensor([3, 2])
    src_emb = model.src_embedding(src).detach().requires_grad_(True)
    _, tokens = model.greedy_embedded(src_emb, lengths, 3)

    def logits(emb: torch.Tensor) -> torch.Tensor:
        out, same_tokens = model.greedy_embedded(emb, lengths, 3)
        assert torch.equal(same_tokens, tokens)  # the tiny steps keep the discrete path
        return out

    assert torch.autograd.gradcheck(logits, (src_emb,), eps=1e-6, atol=1e-7, rtol=1e-5)


def test_beam_search_of_width_one_is_greedy_and_wider_beams_score_at_least_as_high(model):
    data = pairs(40, 12)
    lengths = data.lengths()
    greedy = model.translate(data.x, lengths, beam_size=1, max_len=10)
    beam = model.translate(data.x, lengths, beam_size=5, max_len=10)
    improved = 0
    for row, (first, best) in enumerate(zip(greedy, beam, strict=True)):
        assert len(first) < 10 and len(best) < 10  # both ended: comparable total log-probabilities
        greedy_score = log_probability(model, data.x[row], lengths[row], first)
        beam_score = log_probability(model, data.x[row], lengths[row], best)
        # not a theorem of beam search, but it holds for every sentence here
        assert beam_score >= greedy_score - 1e-5
        improved += beam_score > greedy_score + 1e-5
    assert improved > 0  # the beam really searches


def test_a_beam_as_wide_as_the_tree_finds_the_most_probable_output():
    """With a beam holding every prefix, beam search is exhaustive: its result is the ended
    output of highest total log-probability, found here by enumeration (no length penalty)."""
    torch.manual_seed(4)
    vocab = 6  # four specials and two words; any token may be emitted
    model = Seq2Seq(vocab, vocab, 4, 8, dropout=0.0).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.mul_(3)
    src = torch.tensor([[4, 5, 4], [5, PAD, PAD], [5, 4, PAD]])
    lengths = torch.tensor([3, 1, 2])
    max_len = 3
    found = model.translate(src, lengths, beam_size=vocab**max_len, max_len=max_len)
    tokens = [t for t in range(vocab) if t != EOS]
    for row, output in enumerate(found):
        candidates = [list(c) for n in range(max_len) for c in itertools.product(tokens, repeat=n)]
        scores = [log_probability(model, src[row], lengths[row], c) for c in candidates]
        assert output == candidates[max(range(len(scores)), key=scores.__getitem__)]


def test_nearest_source_words_projects_onto_the_vocabulary(model):
    ids = torch.tensor([[4, 7, UNK], [11, 5, 6]])
    emb = model.src_embedding(ids).detach()
    assert torch.equal(model.nearest_source_words(emb + 1e-4), ids)  # UNK allowed by default
    assert model.nearest_source_words(emb[0, 2], exclude=(PAD, UNK, BOS, EOS)).item() not in (PAD, UNK, BOS, EOS)
    specials = model.src_embedding(torch.tensor([PAD, BOS, EOS])).detach()
    assert not set(model.nearest_source_words(specials).tolist()) & {PAD, BOS, EOS}
    assert model.nearest_source_words(specials, exclude=()).tolist() == [PAD, BOS, EOS]


@pytest.mark.parametrize("seed", [0, 1])
def test_a_tiny_seq2seq_learns_to_copy(seed):
    model, history = copy_model(seed)
    assert history["loss"][-1] < history["loss"][0]
    test = pairs(300, 100 + seed, "copy", lo=3)
    outputs = model.translate(test.x, test.lengths(), max_len=8)
    correct = total = 0
    for output, source, length in zip(outputs, test.x.tolist(), test.lengths().tolist(), strict=True):
        correct += sum(a == b for a, b in zip(output, source[:length]))
        total += length
    assert correct / total >= 0.9


def test_the_perplexity_of_uniform_predictions_is_the_vocabulary_size():
    lm = LanguageModel(VOCAB, 8, 16)
    with torch.no_grad():
        lm.output.weight.zero_()
        lm.output.bias.zero_()
    sentences = [[4, 5, 6], [7], [8, 9, 10, 11, 4]]
    result = lm.perplexity(sentences)
    torch.testing.assert_close(result.per_sentence, torch.full((3,), float(VOCAB), dtype=torch.float64),
                               rtol=1e-6, atol=0)  # float32 log-probabilities
    assert result.corpus == pytest.approx(VOCAB)


def test_a_trained_language_model_prefers_its_training_pattern():
    def cycles(count: int, seed: int) -> torch.Tensor:  # 4 5 6 ... 11 4 5 ... from a random start
        starts = torch.randint(0, WORDS, (count, 1), generator=torch.Generator().manual_seed(seed))
        return 4 + (starts + torch.arange(7)) % WORDS

    ids = cycles(400, 0)
    config = TextTrainConfig("lstm_lm", "cycles", (("vocab_size", VOCAB), ("embedding_dim", 16), ("hidden_size", 32)),
                             epochs=3, batch_size=32, lr=0.01)
    seed_everything(0)
    lm = config.build_model()
    train_text_model(lm, TensorData(ids, ids, tuple(map(str, range(VOCAB))), "cycles", PAD), config, "cpu", progress=False)
    assert isinstance(lm, LanguageModel)
    test = cycles(50, 1)
    shuffled = torch.stack([row[torch.randperm(len(row), generator=torch.Generator().manual_seed(i))]
                            for i, row in enumerate(test)])
    fluent, scrambled = lm.perplexity(test), lm.perplexity(shuffled)
    assert fluent.corpus < 2.0 and scrambled.corpus > 4.0
    # a list of sentences, a padded tensor and the tensor with explicit lengths agree
    ragged = [row[: 3 + i % 4].tolist() for i, row in enumerate(test)]
    padded = pad_sequences(ragged, PAD, length=9)
    expected = lm.perplexity(padded).per_sentence
    torch.testing.assert_close(lm.perplexity(ragged).per_sentence, expected, rtol=1e-6, atol=0)
    lengths = torch.tensor([len(r) for r in ragged])
    torch.testing.assert_close(lm.perplexity(padded, lengths, batch_size=7).per_sentence, expected, rtol=1e-6, atol=0)


def _small_config(**changes: object) -> TextTrainConfig:
    fields: dict = {"model": "seq2seq_lstm", "data_key": "reverse-300",
                    "model_options": options(embedding_dim=8, hidden_size=16, layers=2, dropout=0.3),
                    "epochs": 2, "batch_size": 16, "seed": 3, **changes}
    return TextTrainConfig(**fields)


def test_trained_text_model_caches_and_resumes_bit_for_bit(tmp_path: Path, monkeypatch):
    config, data = _small_config(), pairs(64, 0)
    fresh = trained_text_model(config, data, "cpu", tmp_path / "a", progress=False)
    directory = text_run_directory(config, tmp_path / "a")
    assert directory.name == f"seq2seq_lstm-reverse-300-{config.key()}"
    assert {p.name for p in directory.iterdir()} == {"config.json", "last.pt", "final.pt"}
    for name in ("last.pt", "final.pt"):
        torch.load(directory / name, weights_only=True)
    assert len(text_training_history(config, tmp_path / "a")["loss"]) == 2

    # interrupted after one epoch, then resumed by trained_text_model
    seed_everything(config.seed)
    partial = config.build_model()
    train_text_model(partial, data, config, "cpu", text_run_directory(config, tmp_path / "b"),
                     progress=False, stop_after_epoch=1)
    resumed = trained_text_model(config, data, "cpu", tmp_path / "b", progress=False)
    for (name, a), b in zip(fresh.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    first, second = (text_training_history(config, tmp_path / run) for run in ("a", "b"))
    assert (first["loss"], first["accuracy"]) == (second["loss"], second["accuracy"])

    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("the second call must load the cache")

    monkeypatch.setattr(text_training, "train_text_model", no_training)
    cached = trained_text_model(config, data, "cpu", tmp_path / "a")
    assert not cached.training
    assert all(torch.equal(a, b) for a, b in zip(fresh.state_dict().values(), cached.state_dict().values()))


def test_the_cache_key_separates_corpora_and_settings():
    base = _small_config()
    assert base.key() == _small_config().key()
    assert base.key() != _small_config(data_key="copy-300").key()
    assert base.key() != _small_config(lr=2e-3).key()
    # option order does not matter
    assert base.key() == _small_config(model_options=tuple(reversed(base.model_options))).key()


@pytest.mark.parametrize("changes, message", [
    ({"epochs": 0}, "epochs must be positive"),
    ({"model": "no_such_model"}, "unknown model 'no_such_model'"),
    ({"model": "cw_mnist"}, "not a text model"),
    ({"model_options": (("hidden", 3),)}, "takes no ['hidden']"),
    ({"model_options": {"hidden_size": 3}}, "(name, value) pairs"),
    ({"data_key": "a/b"}, "data_key"),
    ({"batch_size": 0}, "batch_size must be positive"),
])
def test_bad_settings_raise_one_line_config_errors(changes, message):
    with pytest.raises(ConfigError) as error:
        _small_config(**changes)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_seq2seq_targets_must_start_with_bos():
    data = pairs(32, 0)
    broken = TensorData(data.x, data.y[:, 1:], data.classes, data.name, PAD)
    config = _small_config()
    with pytest.raises(ConfigError, match="starting with BOS"):
        train_text_model(config.build_model(), broken, config, "cpu", progress=False)


def test_batches_are_bucketed_by_length_and_cover_distinct_sentences():
    data = pairs(330, 0, lo=1, hi=12)
    batches = text_training._bucketed_batches(data.y, 32, 10, torch.Generator().manual_seed(0))
    assert batches.shape == (10, 32) and len(set(batches.flatten().tolist())) == 320
    lengths = data.y.ne(PAD).sum(dim=1)[batches]
    spread = (lengths.max(dim=1).values - lengths.min(dim=1).values).float().mean()
    assert spread <= 2  # against about 10 for random batches of 1..12-word sentences
    small = text_training._bucketed_batches(data.y[:5], 32, 1, torch.Generator().manual_seed(0))
    assert sorted(small.flatten().tolist()) == [0, 1, 2, 3, 4]


def test_opennmt_initialisation_draws_every_weight_in_its_range():
    model = Seq2Seq(VOCAB, VOCAB, embedding_dim=8, hidden_size=16, init_range=0.1)
    assert all(float(p.abs().max()) <= 0.1 for p in model.parameters())
    assert float(model.src_embedding.weight[PAD].abs().max()) == 0.0  # padding stays a zero vector
    assert float(model.tgt_embedding.weight[PAD].abs().max()) == 0.0
    assert float(Seq2Seq(VOCAB, VOCAB, embedding_dim=8, hidden_size=16).src_embedding.weight.abs().max()) > 0.1
    with pytest.raises(ConfigError, match="init_range"):
        Seq2Seq(VOCAB, VOCAB, init_range=0.0)
