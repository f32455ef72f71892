"""BLEU for Chapter 3.1 (thesis §3.1.4, Tables 3.2-3.4), from sacrebleu.

(Success and "# changed" are judged by :class:`~advrobust.text.seq2sick.Seq2Sick` itself.)

- **BLEU** between the adversarial and the original *input*, "the exponential average over BLEU
  1, 2, 3, 4": sacrebleu's sentence BLEU on the tokens as they are (``tokenize="none"``) with
  ``effective_order=True`` and its default ``exp`` smoothing, divided by 100. A substitution keeps
  the length, so the brevity penalty is 1 and the score is the geometric mean of the 1-4-gram
  precisions. The thesis states neither the smoothing nor whether failed attacks are averaged in;
  the experiments average over the successful attacks, as for # changed.
"""
from __future__ import annotations

from collections.abc import Sequence

import sacrebleu
from sacrebleu.metrics import BLEU

_SENTENCE_BLEU = BLEU(tokenize="none", effective_order=True)


def sentence_bleu(hypothesis: Sequence[str], reference: Sequence[str]) -> float:
    """BLEU in [0, 1] of one tokenised sentence against one reference (see the module docstring)."""
    return float(_SENTENCE_BLEU.sentence_score(" ".join(hypothesis), [" ".join(reference)]).score) / 100


def corpus_bleu(hypotheses: Sequence[Sequence[str]], references: Sequence[Sequence[str]]) -> float:
    """Corpus BLEU (0-100) of tokenised outputs against one tokenised reference each
    (``tokenize="none"``: the text is already tokenised), the model-quality number of the pages."""
    return float(sacrebleu.corpus_bleu([" ".join(h) for h in hypotheses], [[" ".join(r) for r in references]],
                                       tokenize="none", force=True).score)
