"""Targeted keywords for Seq2Sick's keyword attack (thesis §3.1.4, Tables 3.3-3.4).

The thesis draws keywords "at random from the output vocabulary after removing the stop words",
for German "nouns, verbs, adjectives or adverbs". No German tagger is available offline, so the
rule here is a stated stand-in: a frequency band of the target vocabulary (ids are ranked by
training frequency, :class:`~advrobust.data.vocab.Vocabulary`), skipping the ``skip_top`` most
frequent words (articles, prepositions, conjunctions: the stop words) and every word that is not
alphabetic (punctuation, numbers), up to rank ``band_end``. Each sentence draws its own keywords,
seeded, never a word of its original output (that would be a success without an attack). The
author's code instead reads one fixed keyword line for every sentence.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from ..data.vocab import SPECIALS, Vocabulary
from ..errors import require


def keyword_band(vocabulary: Vocabulary, skip_top: int = 100, band_end: int = 2000) -> list[int]:
    """Candidate keyword ids: alphabetic words of frequency rank ``skip_top`` .. ``band_end``."""
    require(0 <= skip_top < band_end, f"need 0 <= skip_top < band_end, got {skip_top}, {band_end}")
    first = len(SPECIALS) + skip_top
    last = min(len(SPECIALS) + band_end, len(vocabulary))
    return [i for i in range(first, last) if vocabulary.words[i].isalpha()]


def draw_keywords(original_outputs: Sequence[Sequence[int]], candidates: Sequence[int], count: int,
                  seed: int) -> Tensor:
    """(N, ``count``) keyword ids, distinct within a sentence, none in that sentence's original
    output; sentence i uses a generator seeded by (``seed``, i), so a subset draws the same words."""
    require(count >= 1, f"need at least one keyword, got {count}")
    pool = torch.tensor(list(candidates), dtype=torch.long)
    rows = []
    for i, output in enumerate(original_outputs):
        allowed = pool[~torch.isin(pool, torch.tensor(list(output), dtype=torch.long))]
        require(len(allowed) >= count, f"only {len(allowed)} candidate keywords for sentence {i}")
        generator = torch.Generator().manual_seed(seed * 1_000_003 + i)
        rows.append(allowed[torch.randperm(len(allowed), generator=generator)[:count]])
    return torch.stack(rows)
