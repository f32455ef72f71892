"""Settings of Chapter 3.1: Seq2Sick on an English→German translator (Tables 3.1, 3.4-3.6).

``paper`` is what the thesis and the author's code imply. The translator is OpenNMT-py's default
word-level LSTM (2 layers, 500 units, 500-dimensional embeddings, a 50k vocabulary, beam 5),
trained on Multi30k, since the thesis's WMT15 training set (453k pairs) is not distributed with
this book. 500 test sentences, 200 iterations per learning rate, and the author's learning rates:
2 for non-overlap, 0.1 then 0.5 for keywords. The summarisation tables (3.2, 3.3, 3.7, 3.8) need
Gigaword and DUC2003, which no profile of this book has.

``quick`` is a translator of the notes' size (words seen at least 3 times, embedding 128, hidden
256, one layer), trained for 2 epochs (Adam at 8e-3) on Multi30k's 29,000 pairs. 100 test2016 sentences, greedy
decoding, 50 iterations per learning rate. ``smoke`` shrinks everything to seconds.

Every profile uses the straight-through projection of the author's code: see
:mod:`advrobust.text.seq2sick` and the page for what the literal Algorithm 6 does on this model.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..attacks.spec import AttackSpec
from ..errors import require
from ..text.seq2sick import Seq2Sick
from ..training.text import TextTrainConfig
from .base import check_profile

# OpenNMT-py's -param_init: the translator's weights start uniform in ±0.1, which sets the scale of
# the embedding space that Seq2Sick's learning rates (2; 0.1 and 0.5) move in.
OPENNMT_INIT = 0.1


@dataclass(frozen=True)
class TextModelSize:
    """A text model's architecture and training, the vocabulary sizes filled in from the data."""

    embedding_dim: int  # word embedding size (OpenNMT: 500)
    hidden_size: int  # LSTM units (OpenNMT: 500)
    layers: int  # stacked LSTM layers (OpenNMT: 2)
    epochs: int  # passes over the training pairs
    batch_size: int = 64  # OpenNMT's default
    dropout: float = 0.3  # OpenNMT's default
    lr: float = 1e-3  # Adam's learning rate (OpenNMT: SGD at 1.0; see advrobust.training.text)

    def options(self, **sizes: float) -> tuple[tuple[str, int | float | bool], ...]:
        """The model's factory arguments, with the vocabulary sizes (and any other) given."""
        return (("embedding_dim", self.embedding_dim), ("hidden_size", self.hidden_size), ("layers", self.layers),
                ("dropout", self.dropout), *sizes.items())


@dataclass(frozen=True)
class Seq2SickSettings:
    """Chapter 3.1 at one profile."""

    layout: str  # Multi30k's files: "tok" (the tokenised, lower-cased release)
    min_freq: int  # vocabulary: words seen at least this often in training
    max_vocabulary: int | None  # and at most this many of them (OpenNMT: 50,000)
    train_pairs: int | None  # training pairs used (None: all 29,000)
    translator: TextModelSize  # the attacked model
    language_model: TextModelSize  # Table 3.5's perplexity (ours: the thesis names no LM)
    sentences: int  # test2016 sentences attacked (thesis: 500)
    non_overlap: AttackSpec[Seq2Sick]  # Table 3.4's first row
    keywords: AttackSpec[Seq2Sick]  # Table 3.4's keyword rows
    keyword_counts: tuple[int, ...] = (1, 2, 3)  # |K| of Table 3.4
    variant_sentences: int = 20  # sentences of the comparison with the attack's variants
    keyword_band: tuple[int, int] = (100, 2000)  # frequency ranks keywords are drawn from (the stop-word rule)
    keyword_seed: int = 0  # seeds each sentence's keywords
    example_keywords: tuple[str, ...] = ("hund", "sitzt")  # Table 3.6's keywords, lower-cased as the data
    # Table 3.6's two source sentences (tokenised as the data); the first test sentences stand in when absent
    example_sources: tuple[str, str] = ("a child is splashing in the water",
                                        "two men wearing swim trunks jump in the air at a moderately populated beach .")
    note: str = field(default="")

    def __post_init__(self) -> None:
        require(self.sentences >= 1 and self.min_freq >= 1, "need sentences >= 1 and min_freq >= 1")
        require(self.non_overlap.settings.get("goal", "non_overlap") == "non_overlap"
                and self.keywords.settings.get("goal") == "keywords", "the attacks' goals are swapped")

    def data_key(self) -> str:
        """Names the training corpus and its vocabularies in the model cache."""
        vocabulary = f"min{self.min_freq}" + (f"max{self.max_vocabulary}" if self.max_vocabulary else "")
        pairs = f"-{self.train_pairs}" if self.train_pairs else ""
        return f"multi30k-{self.layout}-{vocabulary}{pairs}"

    def translator_config(self, source_words: int, target_words: int) -> TextTrainConfig:
        """The translator's training run, given the vocabulary sizes."""
        size = self.translator
        return TextTrainConfig("seq2seq_lstm", self.data_key(), epochs=size.epochs, batch_size=size.batch_size,
                               lr=size.lr, model_options=size.options(src_vocab_size=source_words, tgt_vocab_size=target_words,
                                                          init_range=OPENNMT_INIT))

    def language_model_config(self, source_words: int) -> TextTrainConfig:
        """Table 3.5's language model on the source side, given the source vocabulary size."""
        size = self.language_model
        return TextTrainConfig("lstm_lm", self.data_key(), epochs=size.epochs, batch_size=size.batch_size,
                               lr=size.lr, model_options=size.options(vocab_size=source_words))

    def describe(self) -> str:
        """One line for the page."""
        t = self.translator
        return (f"Multi30k En→De, LSTM {t.layers}×{t.hidden_size} (embedding {t.embedding_dim}), "
                f"{self.sentences} test sentences" + (f" ({self.note})" if self.note else ""))


def _paper() -> Seq2SickSettings:
    beam = 5
    # 250 sentences a pass: the decoder's logits over a 50k vocabulary for 1,000 sentences (the
    # summariser's Gigaword set), with their gradients, would not fit a smaller GPU
    batch = 250
    return Seq2SickSettings(
        layout="tok", min_freq=1, max_vocabulary=50_000, train_pairs=None,
        translator=TextModelSize(embedding_dim=500, hidden_size=500, layers=2, epochs=13),
        language_model=TextModelSize(embedding_dim=500, hidden_size=500, layers=2, epochs=13),
        sentences=500,
        non_overlap=AttackSpec(Seq2Sick, goal="non_overlap", learning_rates=(2.0,), iterations=200,
                               projection="straight_through", beam_size=beam, batch_size=batch),
        keywords=AttackSpec(Seq2Sick, goal="keywords", learning_rates=(0.1, 0.5), iterations=200,
                            projection="straight_through", beam_size=beam, batch_size=batch),
    )


def _quick() -> Seq2SickSettings:
    return Seq2SickSettings(
        layout="tok", min_freq=3, max_vocabulary=None, train_pairs=None,
        # Adam with gradient clipping at 5, from OpenNMT's initialisation; test2016 BLEU measured: 3 epochs
        # at 1e-3 9.2, at 3e-3 20.7; 2 epochs at 3e-3 11.1, at 5e-3 16.9, at 8e-3 24.6 (about 80 s an epoch)
        translator=TextModelSize(embedding_dim=128, hidden_size=256, layers=1, epochs=2, lr=8e-3),
        language_model=TextModelSize(embedding_dim=128, hidden_size=256, layers=1, epochs=1),
        sentences=100,
        non_overlap=AttackSpec(Seq2Sick, goal="non_overlap", learning_rates=(2.0,), iterations=50,
                               projection="straight_through"),
        keywords=AttackSpec(Seq2Sick, goal="keywords", learning_rates=(0.1, 0.5), iterations=50,
                            projection="straight_through"),
        variant_sentences=10,
        note="words seen ≥ 3 times, 2 epochs of Adam at 8e-3, greedy decoding, 50 iterations per learning rate",
    )


def _smoke() -> Seq2SickSettings:
    quick = _quick()
    return Seq2SickSettings(
        layout="tok", min_freq=3, max_vocabulary=None, train_pairs=2000,
        translator=TextModelSize(embedding_dim=32, hidden_size=64, layers=1, epochs=1),
        language_model=TextModelSize(embedding_dim=32, hidden_size=64, layers=1, epochs=1),
        sentences=6, non_overlap=quick.non_overlap.replace(iterations=5),
        keywords=quick.keywords.replace(iterations=5), keyword_counts=(1, 2),
        note="2,000 training pairs, a tiny translator, 5 iterations",
    )


def seq2sick(profile: str) -> Seq2SickSettings:
    """Settings of Chapter 3.1 at ``profile``."""
    return {"paper": _paper, "quick": _quick, "smoke": _smoke}[check_profile(profile)]()
