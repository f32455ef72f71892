"""Word vocabularies for Chapter 3's text: tokens <-> ids with frequency cut-offs.

Ids 0-3 are the specials of every vocabulary (:data:`PAD`, :data:`UNK`, :data:`BOS`, :data:`EOS`),
then the words by decreasing frequency (ties in alphabetical order, so a vocabulary is a function
of its corpus). OpenNMT-py, which the author's Seq2Sick code builds on, keeps words by the same
two rules: a minimum frequency and a maximum size (its default: 50,000 words).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ..errors import require

PAD, UNK, BOS, EOS = 0, 1, 2, 3  # ids of the specials in every vocabulary
SPECIALS = ("<pad>", "<unk>", "<s>", "</s>")


@dataclass(frozen=True)
class Vocabulary:
    """An id for each of ``words`` (the specials first); unknown words map to :data:`UNK`."""

    words: tuple[str, ...]  # SPECIALS, then the kept words by decreasing frequency
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        require(self.words[: len(SPECIALS)] == SPECIALS, f"a vocabulary starts with {SPECIALS}")
        require(len(set(self.words)) == len(self.words), "a vocabulary's words must be distinct")
        object.__setattr__(self, "_index", {word: i for i, word in enumerate(self.words)})

    @classmethod
    def build(cls, sentences: Iterable[Sequence[str]], min_freq: int = 1, max_size: int | None = None) -> Vocabulary:
        """The words of ``sentences`` seen at least ``min_freq`` times, at most ``max_size`` of
        them (the most frequent; specials not counted)."""
        require(min_freq >= 1, f"min_freq must be at least 1, got {min_freq}")
        require(max_size is None or max_size >= 1, f"max_size must be positive or None, got {max_size}")
        counts = Counter(word for sentence in sentences for word in sentence if word not in SPECIALS)
        kept = sorted((w for w, c in counts.items() if c >= min_freq), key=lambda w: (-counts[w], w))
        return cls(SPECIALS + tuple(kept[:max_size]))

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: object) -> bool:
        return word in self._index

    def id(self, word: str) -> int:
        """The id of ``word`` (:data:`UNK` when it is not in the vocabulary)."""
        return self._index.get(word, UNK)

    def encode(self, sentence: Sequence[str], bos: bool = False, eos: bool = False) -> list[int]:
        """The ids of ``sentence``, with :data:`BOS` in front and :data:`EOS` behind when asked."""
        ids = [self._index.get(word, UNK) for word in sentence]
        return ([BOS] if bos else []) + ids + ([EOS] if eos else [])

    def decode(self, ids: Iterable[int]) -> list[str]:
        """The words of ``ids``, stopping at the first :data:`EOS` and skipping :data:`PAD` and
        :data:`BOS`."""
        words = []
        for i in ids:
            if i == EOS:
                break
            if i not in (PAD, BOS):
                words.append(self.words[i])
        return words

    def coverage(self, sentences: Iterable[Sequence[str]]) -> float:
        """The fraction of the tokens of ``sentences`` that are in the vocabulary."""
        total = known = 0
        for sentence in sentences:
            total += len(sentence)
            known += sum(word in self._index for word in sentence)
        return known / max(total, 1)
