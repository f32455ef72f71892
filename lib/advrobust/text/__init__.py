"""Chapter 3.1's frame: attacks on sequence-to-sequence models with discrete text inputs.

- :mod:`.seq2sick`: the Seq2Sick attack (Eq. (3.4), Algorithm 6), batched over sentences;
- :mod:`.losses`: its non-overlap (2.8) and keyword (2.12) losses on the decoder's logits;
- :mod:`.keywords`: the stated rule that draws German keywords;
- :mod:`.metrics`: BLEU from sacrebleu.

The models are in :mod:`advrobust.models.seq2seq`, the corpora and vocabularies in
:mod:`advrobust.data`.
"""
from .hotflip import (
    HotFlip,  # Table 1.1's one-character attack on a character-level classifier
)
from .seq2sick import Seq2Sick, Seq2SickResult

__all__ = ["HotFlip", "Seq2Sick", "Seq2SickResult"]
