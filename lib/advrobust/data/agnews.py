"""AG News (Zhang, Zhao & LeCun 2015), the news-topic task of Table 1.1's character-level classifier.

The standard char-CNN CSV: ``<data root>/ag_news_csv/train.csv`` (120,000 rows) and ``test.csv``
(7,600 rows), each row ``"class","title","description"`` with class 1-4 = World, Sports,
Business, Sci/Tech. A text is the title and the description joined by one space, otherwise as
in the file (its ``\\`` line-break marks and HTML entities such as ``#39;`` are kept). The files
are verified against the md5 sums torchtext publishes for its mirror (:data:`URL`).

**Characters** (Zhang, Zhao & LeCun 2015, "Character-level convolutional networks for text
classification", §2.2): a text becomes a sequence of character ids over :data:`ALPHABET`, the 26
lower-case letters, 10 digits, punctuation and the new line, read from its first character and cut
after :data:`ZHANG_LENGTH` = 1014 characters. Id 0 is every character outside the alphabet (the
space among them) and the padding after the text, which the model sees as an all-zero vector,
as in Zhang et al. Upper-case ASCII letters are lower-cased first, as Zhang et al.'s models do;
so character ``i`` of a text is always id ``i`` (nothing is inserted or dropped), and
:func:`replace_characters` writes an attack's changes back into the original text. The registered
dataset ``"ag_news"`` is AG News in this form, for the one trainer (Table 1.1's classifier).

Zhang et al. count 70 characters (26 letters, 10 digits, 33 others, the new line) but their list
of others holds ``-`` twice; :data:`ALPHABET` holds the 69 distinct ones.
"""
from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ..errors import DataError, require
from ..registry import register
from ..runtime import resolve_device
from .files import Checksum, check_split, data_root, verify
from .tensors import TensorData
from .text import read_lines, user_file

CLASSES = ("World", "Sports", "Business", "Sci/Tech")
URL = "https://raw.githubusercontent.com/mhjabreel/CharCnn_Keras/master/data/ag_news_csv/"  # + train.csv
_LABELS = {str(i + 1): i for i in range(len(CLASSES))}  # the file's class -> label
CHECKSUMS: dict[str, Checksum] = {  # torchtext.datasets.AG_NEWS
    "train.csv": ("md5", "b1a00f826fdfbd249f79597b59e1dc12"),
    "test.csv": ("md5", "d52ea96a97a2d943681189a97654912d"),
}

# Zhang et al.'s alphabet (their list of 33 others holds "-" twice; kept once), then the new line.
ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789-,;.!?:'\"/\\|_@#$%^&*~`+=<>()[]{}\n"
ZHANG_LENGTH = 1014  # characters read from each text (Zhang et al.'s l0)
UNKNOWN = 0  # the id of padding and of every character outside ALPHABET (the space among them)
_ASCII = 128
# id of each ASCII code point (upper-case letters as their lower-case), then 0 for all others
_IDS = np.zeros(_ASCII + 1, dtype=np.int64)
for _id, _character in enumerate(ALPHABET, start=1):
    _IDS[ord(_character)] = _id
    _IDS[ord(_character.upper())] = _id


@dataclass(frozen=True)
class LabelledTexts:
    """Texts with a class label each."""

    texts: tuple[str, ...]
    labels: Tensor  # (N,) int64 in 0..len(classes)-1
    classes: tuple[str, ...]
    name: str  # e.g. "ag_news-test"

    def __post_init__(self) -> None:
        require(self.labels.shape == (len(self.texts),),
                f"{self.name}: labels of shape {tuple(self.labels.shape)} for {len(self.texts)} texts")

    def __len__(self) -> int:
        return len(self.texts)


def load_ag_news(split: str, root: str | Path | None = None) -> LabelledTexts:
    """AG News ``split`` ("train" or "test"): texts and labels 0-3 (:data:`CLASSES`)."""
    check_split(split)
    base = data_root(root)
    name = f"{split}.csv"
    how = f"download it from {URL}{name} (the copy torchtext downloads) into {base / 'ag_news_csv'}"
    path = verify(user_file(base, f"ag_news_csv/{name}", "AG News file", how), CHECKSUMS[name])
    texts, labels = [], []
    for line_number, row in enumerate(csv.reader(read_lines(path)), start=1):
        if len(row) != 3:
            raise DataError(f"{path} line {line_number}: {len(row)} fields, expected 3 "
                            '("class","title","description")')
        if row[0] not in _LABELS:
            raise DataError(f"{path} line {line_number}: class {row[0]!r}, expected 1-{len(CLASSES)}")
        labels.append(_LABELS[row[0]])
        texts.append(f"{row[1]} {row[2]}")
    return LabelledTexts(tuple(texts), torch.tensor(labels, dtype=torch.long), CLASSES, f"ag_news-{split}")


def encode_characters(texts: Sequence[str], length: int = ZHANG_LENGTH) -> Tensor:
    """(N, ``length``) int64 ids of ``texts``: id ``i + 1`` for ``ALPHABET[i]`` (upper-case ASCII
    letters as lower-case), 0 (:data:`UNKNOWN`) for any other character and after the text's end;
    characters beyond ``length`` are dropped (Zhang et al.)."""
    require(length >= 1, f"length must be positive, got {length}")
    ids = np.zeros((len(texts), length), dtype=np.int64)
    for row, text in enumerate(texts):
        codes = np.frombuffer(text[:length].encode("utf-32-le"), dtype=np.uint32)
        ids[row, : len(codes)] = _IDS[np.minimum(codes, _ASCII)]
    return torch.from_numpy(ids)


def decode_characters(ids: Tensor) -> str:
    """The text of one row of ids (L,) up to its last known character, 0 read as a space."""
    require(ids.ndim == 1, f"decode one row of ids (L,), got {tuple(ids.shape)}")
    known = ids.nonzero()
    end = int(known[-1]) + 1 if len(known) else 0
    return "".join(" " if i == UNKNOWN else ALPHABET[i - 1] for i in ids[:end].tolist())


def character_lengths(texts: Sequence[str], length: int = ZHANG_LENGTH) -> Tensor:
    """(N,) int64: how many characters of each text its ids hold (at most ``length``)."""
    return torch.tensor([min(len(text), length) for text in texts], dtype=torch.long)


def replace_characters(text: str, original: Tensor, changed: Tensor) -> str:
    """``text`` with the characters at which the ids ``changed`` (L,) differ from ``original``
    (L,), its :func:`encode_characters` row, replaced by their alphabet characters: an attack's
    output in the original text (its case kept elsewhere)."""
    require(original.shape == changed.shape and original.ndim == 1, "give two id rows (L,) of one text")
    characters = list(text)
    for position in (changed != original).nonzero().flatten().tolist():
        require(position < len(characters), f"position {position} lies beyond the text's {len(text)} characters")
        new = int(changed[position])
        characters[position] = " " if new == UNKNOWN else ALPHABET[new - 1]
    return "".join(characters)


def character_data(texts: LabelledTexts, length: int = ZHANG_LENGTH,
                   device: torch.device | str | None = None) -> TensorData:
    """``texts`` as :class:`TensorData`: x (N, ``length``) character ids (:func:`encode_characters`),
    y (N,) labels, on ``device``. ``pad_id`` stays None: id 0 pads, and also marks unknown
    characters inside a text, so :func:`character_lengths` (not ``TensorData.lengths``) measures texts."""
    target = resolve_device(device) if isinstance(device, str) else device
    return TensorData(x=encode_characters(texts.texts, length).to(target), y=texts.labels.to(target),
                      classes=texts.classes, name=texts.name)


@register("dataset", "ag_news")
def ag_news(
    split: str = "test",
    root: str | Path | None = None,
    download: bool = True,
    device: torch.device | str | None = None,
) -> TensorData:
    """AG News ``split`` as (N, 1014) character ids (Zhang et al.) with labels 0-3, the data of
    Table 1.1's character-level classifier. The files are never fetched (``download`` is unused):
    a missing one is a :class:`DataError` naming it and where to put it."""
    return character_data(load_ag_news(split, root), ZHANG_LENGTH, device)
