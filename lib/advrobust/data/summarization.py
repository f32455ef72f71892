"""Headline-generation data of Sec. 3.1 (Seq2Sick's summarisation attacks, Tables 3.1-3.3, 3.5).

All files are Rush et al.'s (2015) preprocessing: lower-cased, tokenised, one sentence per line,
read as whitespace tokens.

- **DUC2004**: ``<data root>/seq2sick/DUC2004``, the 500 first sentences of DUC-2004 task-1
  documents that the author's Seq2Sick repository attacks (Table 3.1: 500 samples, 35.6 words).
  Verified against its sha256 in ``shared/data/PROVENANCE.md``.
- **DUC2003**: ``<data root>/seq2sick/DUC2003`` in the same format (624 lines in Table 3.1; Rush et
  al.'s ``sumdata/DUC2003/input.txt``). NIST distributes it to registered users only, so no
  checksum is known and it is read unverified.
- **Gigaword**: Rush et al.'s article -> title pairs from the LDC's English Gigaword, in
  ``<data root>/gigaword/``, either flat or as their ``sumdata`` release unpacks
  (``train/`` and ``Giga/`` subfolders): "train" ``train.article.txt`` / ``train.title.txt``
  (3.8M pairs; the thesis trains on 380k), "valid" ``valid.article.filter.txt`` /
  ``valid.title.filter.txt``, "test" ``input.txt`` / ``task1_ref0.txt`` (1,951 pairs; the thesis
  attacks 1,000). LDC-licensed, with no public checksum: read unverified.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import require
from .files import Checksum, data_root, verify
from .text import (
    ParallelCorpus,
    Sentence,
    parallel_corpus,
    read_lines,
    user_file,
    whitespace_tokens,
)

DUC_YEARS = (2003, 2004)
DUC2004_CHECKSUM: Checksum = ("sha256", "842c7548af61d58c3c56f426ff40cb2afe66d52a78fb355cda0b78f4035e90cc")
DUC2004_URL = "https://raw.githubusercontent.com/cmhcbb/Seq2Sick/a4ac16d8cc7c6839a11c03b056fed3a50d0d913e/DUC2004"

GIGAWORD_FILES = {  # split -> (subfolder of Rush et al.'s sumdata, article file, title file)
    "train": ("train", "train.article.txt", "train.title.txt"),
    "valid": ("train", "valid.article.filter.txt", "valid.title.filter.txt"),
    "test": ("Giga", "input.txt", "task1_ref0.txt"),
}
GIGAWORD_URL = "https://github.com/harvardnlp/sent-summary"


def load_duc(year: int, root: str | Path | None = None) -> tuple[Sentence, ...]:
    """The DUC ``year`` (2003 or 2004) source sentences Seq2Sick attacks, as token tuples (no
    reference summaries)."""
    require(year in DUC_YEARS, f"unknown DUC year {year!r}; use one of: {', '.join(map(str, DUC_YEARS))}")
    base = data_root(root)
    if year == 2004:
        how = f"download it from {DUC2004_URL} into {base / 'seq2sick'}"
        path = verify(user_file(base, "seq2sick/DUC2004", "DUC2004 file", how), DUC2004_CHECKSUM)
    else:
        how = ("DUC2003 is not distributed with this book (NIST gives it to registered users): put Rush "
               f"et al.'s sumdata/DUC2003/input.txt, one tokenised sentence a line, at {base / 'seq2sick/DUC2003'}")
        path = user_file(base, "seq2sick/DUC2003", "DUC2003 file", how)
    return tuple(map(whitespace_tokens, read_lines(path)))


def load_gigaword(split: str, root: str | Path | None = None, max_pairs: int | None = None) -> ParallelCorpus:
    """Gigaword article -> title pairs of ``split`` ("train", "valid" or "test"), unverified; only
    the first ``max_pairs`` when given (the training files hold 3.8M pairs)."""
    require(split in GIGAWORD_FILES, f"unknown Gigaword split {split!r}; use one of: {', '.join(GIGAWORD_FILES)}")
    require(max_pairs is None or max_pairs >= 1, f"max_pairs must be positive or None, got {max_pairs}")
    base = data_root(root)
    subfolder, article, title = GIGAWORD_FILES[split]
    folder = f"gigaword/{subfolder}" if (base / "gigaword" / subfolder / article).is_file() else "gigaword"
    how = (f"Gigaword is not distributed with this book (it derives from the LDC's English Gigaword): "
           f"get Rush et al.'s preprocessed release ({GIGAWORD_URL}) and put {article} and {title} "
           f"in {base / 'gigaword'}")
    sides = [(name, read_lines(user_file(base, f"{folder}/{name}", "Gigaword file", how), max_pairs))
             for name in (article, title)]
    return parallel_corpus(f"gigaword-{split}", sides[0], sides[1])
