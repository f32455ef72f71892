"""Chapter 3.1's text (Seq2Sick): sentences as token tuples, and padded id tensors for the models.

A corpus holds whitespace tokens, the unit of Seq2Sick's word-level OpenNMT-py models; a
:class:`~advrobust.data.vocab.Vocabulary` maps them to ids. The readers here are shared by the
loaders of :mod:`.translation` (Multi30k, WMT15), :mod:`.summarization` (DUC, Gigaword) and
:mod:`.agnews`:

- a file is read as UTF-8 lines (universal newlines; empty lines at its end are dropped, such as
  the one the WMT16 Multi30k tarballs end with);
- :func:`whitespace_tokens` splits an already tokenised line on whitespace;
- :func:`lower_13a_tokens` tokenises raw text: lower-case, then sacrebleu's ``13a`` tokenizer
  (mteval-v13a, the WMT rule). On Multi30k test2016 it gives the same tokens as the official
  Moses-tokenised ``tok`` files for 976 of 1,000 English sentences; the rest differ by Moses'
  escapes (``man &apos;s`` against ``man's``) and abbreviations.
"""
from __future__ import annotations

import gzip
import itertools
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import torch
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

from ..errors import DataError, require
from .files import DATA_ENV
from .tensors import TensorData, pad_sequences
from .vocab import PAD, Vocabulary

Sentence = tuple[str, ...]
Tokenizer = Callable[[str], Sentence]


@dataclass(frozen=True)
class ParallelCorpus:
    """Aligned ``source`` and ``target`` sentences (e.g. English -> German, article -> title)."""

    source: tuple[Sentence, ...]
    target: tuple[Sentence, ...]
    name: str  # e.g. "multi30k-tok-test2016"

    def __post_init__(self) -> None:
        require(len(self.source) == len(self.target),
                f"{self.name}: {len(self.source)} source sentences for {len(self.target)} targets")

    def __len__(self) -> int:
        return len(self.source)

    def subset(self, n: int | None, seed: int = 0) -> ParallelCorpus:
        """``n`` pairs drawn without replacement by ``seed``, kept in corpus order.

        The draw is :meth:`TensorData.subset`'s, so ``sequence_pairs(corpus.subset(n, seed), ...)``
        holds the same pairs as ``sequence_pairs(corpus, ...).subset(n, seed)``.
        """
        if n is None or n >= len(self):
            return self
        require(n >= 1, f"subset size must be at least 1, got {n}")
        generator = torch.Generator().manual_seed(seed)
        chosen = torch.randperm(len(self), generator=generator)[:n].sort().values.tolist()
        return ParallelCorpus(tuple(self.source[i] for i in chosen), tuple(self.target[i] for i in chosen),
                              self.name)

    def mean_source_length(self) -> float:
        """The mean number of source tokens (Table 3.1's "average input length")."""
        return text_statistics(self.source).mean_length


class TextStatistics(NamedTuple):
    """A row of Table 3.1: the number of sentences and their mean length in tokens."""

    samples: int
    mean_length: float


def text_statistics(sentences: Sequence[Sequence[str]]) -> TextStatistics:
    """Table 3.1's "# samples" and "average input length" (tokens per sentence) of ``sentences``."""
    require(len(sentences) > 0, "no sentences to measure")
    return TextStatistics(len(sentences), sum(map(len, sentences)) / len(sentences))


def sequence_pairs(
    corpus: ParallelCorpus,
    source_vocab: Vocabulary,
    target_vocab: Vocabulary,
    max_length: int | None = None,
) -> TensorData:
    """The corpus as padded ids for training and evaluating a seq2seq model (Sec. 3.1).

    ``x`` (N, S): the source ids followed by :data:`~.vocab.PAD`, with no BOS/EOS (as OpenNMT-py's
    encoder input). ``y`` (N, T): :data:`~.vocab.BOS`, the target ids, :data:`~.vocab.EOS`, then PAD.
    ``classes`` is the target vocabulary. Lengths: ``data.lengths()`` for the sources and
    ``data.y.ne(PAD).sum(1)`` for the targets (BOS and EOS included).

    Sentences are kept whole unless ``max_length`` is given: then each source and each target is
    cut to its first ``max_length`` words (BOS and EOS are added after the cut).
    """
    require(len(corpus) > 0, f"{corpus.name}: no sentence pairs")
    require(max_length is None or max_length >= 1, f"max_length must be positive or None, got {max_length}")
    cut = slice(None, max_length)
    source = [source_vocab.encode(sentence[cut]) for sentence in corpus.source]
    target = [target_vocab.encode(sentence[cut], bos=True, eos=True) for sentence in corpus.target]
    return TensorData(x=pad_sequences(source, PAD), y=pad_sequences(target, PAD),
                      classes=target_vocab.words, name=corpus.name, pad_id=PAD)


def whitespace_tokens(line: str) -> Sentence:
    """The whitespace-separated tokens of an already tokenised line (words interned: corpora
    repeat them millions of times)."""
    return tuple(map(sys.intern, line.split()))


_13A = Tokenizer13a()


def lower_13a_tokens(line: str) -> Sentence:
    """The tokens of raw text: lower-cased, then sacrebleu's ``13a`` tokenizer."""
    return whitespace_tokens(_13A(line.lower()))


def read_lines(path: Path, limit: int | None = None) -> list[str]:
    """The UTF-8 lines of ``path`` (gunzipped if it ends in ``.gz``), at most ``limit`` of them."""
    if path.suffix == ".gz":
        with gzip.open(path, "rt", encoding="utf-8") as text:
            return text_lines(text, str(path), limit)
    with open(path, encoding="utf-8") as text:
        return text_lines(text, str(path), limit)


def text_lines(text: Iterable[str], where: str, limit: int | None = None) -> list[str]:
    """The lines of a text stream without their line ends; empty lines at the end are dropped.
    ``where`` names the stream in errors."""
    try:
        lines = [line.rstrip("\r\n") for line in itertools.islice(text, limit)]
    except (UnicodeDecodeError, OSError, EOFError) as error:
        raise DataError(f"cannot read {where} as UTF-8 text: {error}") from None
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def parallel_corpus(
    name: str,
    source: tuple[str, Sequence[str]],
    target: tuple[str, Sequence[str]],
    tokenize: Tokenizer = whitespace_tokens,
) -> ParallelCorpus:
    """A corpus from the ``(file name, lines)`` of each side; different line counts are a
    :class:`DataError` naming both files."""
    (source_file, source_lines), (target_file, target_lines) = source, target
    if len(source_lines) != len(target_lines):
        raise DataError(f"{name}: {source_file} has {len(source_lines)} lines but {target_file} has "
                        f"{len(target_lines)}; the two sides of a parallel corpus must align line by line")
    return ParallelCorpus(tuple(map(tokenize, source_lines)), tuple(map(tokenize, target_lines)), name)


def user_file(root: Path, relative: str, what: str, how: str) -> Path:
    """``root / relative`` if it is a file; else a :class:`DataError` naming it, ``what`` it is and
    ``how`` to get it (data this book cannot ship or fetch)."""
    path = root / relative
    if not path.is_file():
        raise DataError(f"missing {what} {relative} in {root}; {how}, "
                        f"or set {DATA_ENV} to a data directory that holds {relative}")
    return path
