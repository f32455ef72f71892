"""Deal or No Deal negotiation dialogues (Lewis et al. 2017), the data of thesis §3.2 (AdvAgent).

Two agents divide a pool of books, hats and balls (1-4 of each); each values every item at an
integer so that its whole pool is worth 10. The files are facebookresearch/end-to-end-negotiator's
``src/data/negotiate/`` (commit ``bbb93bb``), under ``<data root>/negotiate/``, each verified
against its sha256 in ``shared/data/PROVENANCE.md`` before it is read:

- ``train.txt`` (10,095 lines), ``val.txt`` (1,087), ``test.txt`` (1,052): one dialogue seen by one
  agent per line (each dialogue appears twice, once from each side; the thesis's "5808 dialogues
  based on 2236 unique scenarios"). A line is::

      <input> c0 v0 c1 v1 c2 v2 </input> <dialogue> YOU: i want the hat <eos> THEM: ok <eos> YOU: <selection> </dialogue>
      <output> item0=1 item1=0 item2=2 item0=0 item1=1 item2=0 </output> <partner_input> c0 u0 c1 u1 c2 u2 </partner_input>

  ``input``: the item counts and this agent's values, interleaved; ``dialogue``: the turns, each
  ``YOU:`` (this agent wrote it) or ``THEM:`` (the partner did) then words and ``<eos>``, the last
  turn a lone ``<selection>``; ``output``: this agent's choice then its partner's, or six
  ``<disagree>`` (the two choices did not add up), ``<no_agreement>`` or ``<disconnect>``;
  ``partner_input``: the partner's counts and values.
- ``selfplay.txt``: 4,086 scenarios for self-play, as pairs of lines ``c0 v0 c1 v1 c2 v2`` (the
  first agent's input, then the second's, same counts).

A malformed line is a one-line :class:`~advrobust.errors.DataError` naming the file and the line.

The vocabulary follows the 2017 code (``data.WordCorpus``, ``--unk_threshold 20``): the dialogue
words of the training file seen **more than** 20 times. The dialogue markers (``YOU:``,
``THEM:``, ``<eos>``, ``<selection>``) are ordinary words there; here they sit at the fixed ids
:data:`YOU_ID`, :data:`THEM_ID`, :data:`EOT_ID`, :data:`SELECTION_ID` right after the four specials
of every :class:`~advrobust.data.vocab.Vocabulary`, so a model knows them without a table. The
training file has 461 such words, so the vocabulary has 465 entries: the 2017 dictionary's 463
(its four specials ``<eos> <unk> <selection> <pad>`` and the 459 other words) plus our unused
``<s>`` and ``</s>``. (The notes' "≈475" counted words seen at least 20 times, 471.)

The selection targets of the model are ids in :data:`OUTPUT_TOKENS`, a fixed list (the 2017 code
builds the same 18 tokens from the training file, in frequency order).
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from ..errors import DataError, require
from .files import Checksum, data_root, verify
from .tensors import pad_sequences
from .text import read_lines, user_file
from .vocab import PAD, SPECIALS, Vocabulary

ITEMS = ("book", "hat", "ball")  # item0, item1, item2 of the files
MAX_COUNT = 4  # the most copies of one item in any scenario
TOTAL_VALUE = 10  # each agent's whole pool is worth 10 points

YOU, THEM, END_OF_TURN, SELECTION = "YOU:", "THEM:", "<eos>", "<selection>"
DIALOGUE_MARKERS = (YOU, THEM, END_OF_TURN, SELECTION)
YOU_ID, THEM_ID, EOT_ID, SELECTION_ID = 4, 5, 6, 7  # their ids in every negotiation vocabulary

DISAGREE, NO_AGREEMENT, DISCONNECT = "<disagree>", "<no_agreement>", "<disconnect>"
NO_DEAL_TOKENS = (DISAGREE, NO_AGREEMENT, DISCONNECT)
OUTPUT_TOKENS = NO_DEAL_TOKENS + tuple(f"item{i}={k}" for i in range(len(ITEMS)) for k in range(MAX_COUNT + 1))
OUTPUT_ID = {token: i for i, token in enumerate(OUTPUT_TOKENS)}
SELECTION_LENGTH = 2 * len(ITEMS)  # own choice, then the partner's
INPUT_LENGTH = 2 * len(ITEMS)  # count and value of each item
UNK_THRESHOLD = 20  # the 2017 recipe's --unk_threshold: keep words seen more than 20 times

SPLITS = ("train", "val", "test")
SOURCE_URL = ("https://raw.githubusercontent.com/facebookresearch/end-to-end-negotiator/"
              "bbb93bbf00f69fced75d5c0d22e855bda07c9b78/src/data/negotiate/")
CHECKSUMS: dict[str, Checksum] = {  # file -> sha256, from shared/data/PROVENANCE.md
    "train.txt": ("sha256", "aa278f06765463a5767055e1a544d922b39a9bb78f586f85513bf99f74aa2300"),
    "val.txt": ("sha256", "5ad7df00b8bc4b1fff565cb4dc38b23afc7874c496b0ed2e1c58c232326ff996"),
    "test.txt": ("sha256", "37be3150bf656195b61a7547b45cf307acce929f2a8140036890a561c3597c83"),
    "selfplay.txt": ("sha256", "05b7d66c309617f0f1a5562ab8c1d2de933e712a4c8419fd924f4a2c899ab3aa"),
}
_ITEM = re.compile(r"^item([0-9])=([0-9]+)$")
_TAGS = ("input", "dialogue", "output", "partner_input")

Input = tuple[int, ...]  # c0 v0 c1 v1 c2 v2
Tokens = tuple[str, ...]


@dataclass(frozen=True)
class NegotiationExample:
    """One line of a dialogue file: a dialogue seen by one agent (see the module docstring)."""

    input: Input  # this agent's counts and values, interleaved: c0 v0 c1 v1 c2 v2
    dialogue: Tokens  # YOU:/THEM: turns ending in "<selection>"
    output: Tokens  # 6 tokens: this agent's choice and the partner's, or 6 no-deal tokens
    partner_input: Input  # the partner's counts and values

    @property
    def counts(self) -> tuple[int, ...]:
        """How many of each item the pool holds."""
        return self.input[0::2]

    @property
    def values(self) -> tuple[int, ...]:
        """This agent's value of one copy of each item."""
        return self.input[1::2]

    @property
    def partner_values(self) -> tuple[int, ...]:
        """The partner's value of one copy of each item."""
        return self.partner_input[1::2]

    @property
    def outcome(self) -> str:
        """``"agree"``, or the no-deal kind: ``"disagree"``, ``"no_agreement"``, ``"disconnect"``."""
        return "agree" if self.output[0] not in NO_DEAL_TOKENS else self.output[0].strip("<>")

    @property
    def selection(self) -> tuple[int, ...] | None:
        """The counts this agent took (None without a deal)."""
        return None if self.outcome != "agree" else tuple(int(t.split("=")[1]) for t in self.output[:3])

    @property
    def partner_selection(self) -> tuple[int, ...] | None:
        """The counts the partner took (None without a deal)."""
        return None if self.outcome != "agree" else tuple(int(t.split("=")[1]) for t in self.output[3:])


@dataclass(frozen=True)
class NegotiationCorpus:
    """The examples of one file, in file order."""

    examples: tuple[NegotiationExample, ...]
    name: str  # e.g. "negotiate-train"

    def __len__(self) -> int:
        return len(self.examples)

    def dialogues(self) -> list[Tokens]:
        """The dialogue tokens of every example."""
        return [example.dialogue for example in self.examples]

    def subset(self, n: int | None, seed: int = 0) -> NegotiationCorpus:
        """``n`` examples drawn without replacement by ``seed``, kept in file order (all for None)."""
        if n is None or n >= len(self):
            return self
        require(n >= 1, f"subset size must be at least 1, got {n}")
        chosen = torch.randperm(len(self), generator=torch.Generator().manual_seed(seed))[:n].sort().values
        return NegotiationCorpus(tuple(self.examples[i] for i in chosen.tolist()), self.name)


@dataclass(frozen=True)
class NegotiationData:
    """A corpus as padded id tensors for the dialogue agent (:mod:`advrobust.models.dialogue_agent`)."""

    context: Tensor  # (N, 6) int64: c0 v0 c1 v1 c2 v2 of the agent whose side the row is
    dialogue: Tensor  # (N, T) int64 word ids, right-padded with PAD
    selection: Tensor  # (N, 6) int64 ids in OUTPUT_TOKENS: own choice then the partner's
    words: tuple[str, ...]  # the vocabulary
    name: str

    def __post_init__(self) -> None:
        n = len(self.dialogue)
        require(self.context.shape == (n, INPUT_LENGTH) and self.selection.shape == (n, SELECTION_LENGTH)
                and self.dialogue.ndim == 2, f"{self.name}: inconsistent shapes {tuple(self.context.shape)}, "
                f"{tuple(self.dialogue.shape)}, {tuple(self.selection.shape)}")

    def __len__(self) -> int:
        return len(self.dialogue)

    def lengths(self) -> Tensor:
        """(N,) tokens in each dialogue."""
        return self.dialogue.ne(PAD).sum(dim=1)

    def to(self, device: torch.device | str) -> NegotiationData:
        """The same data on ``device``."""
        return NegotiationData(self.context.to(device), self.dialogue.to(device), self.selection.to(device),
                               self.words, self.name)

    def subset(self, n: int | None, seed: int = 0) -> NegotiationData:
        """``n`` rows drawn without replacement by ``seed``, in order (all for None); the same draw
        as :meth:`NegotiationCorpus.subset`."""
        if n is None or n >= len(self):
            return self
        require(n >= 1, f"subset size must be at least 1, got {n}")
        rows = torch.randperm(len(self), generator=torch.Generator().manual_seed(seed))[:n].sort().values
        rows = rows.to(self.dialogue.device)
        dialogue = self.dialogue[rows]
        dialogue = dialogue[:, : int(dialogue.ne(PAD).sum(dim=1).max())]
        return NegotiationData(self.context[rows], dialogue, self.selection[rows], self.words, self.name)


def load_negotiation(split: str, root: str | Path | None = None) -> NegotiationCorpus:
    """The dialogues of ``split`` ("train", "val" or "test"), verified and parsed."""
    require(split in SPLITS, f"unknown negotiation split {split!r}; use one of: {', '.join(SPLITS)}")
    return NegotiationCorpus(read_negotiation_file(_verified(data_root(root), f"{split}.txt")), f"negotiate-{split}")


def load_selfplay_contexts(root: str | Path | None = None) -> tuple[tuple[Input, Input], ...]:
    """The 4,086 self-play scenarios of ``selfplay.txt``: (first agent's input, second agent's
    input), each ``c0 v0 c1 v1 c2 v2``, in file order."""
    path = _verified(data_root(root), "selfplay.txt")
    lines = read_lines(path)
    if len(lines) % 2:
        raise DataError(f"{path}:{len(lines)}: odd number of lines; scenarios are pairs of lines")
    inputs = [parse_input(line.split(), f"{path}:{number}") for number, line in enumerate(lines, 1)]
    for number in range(1, len(lines), 2):
        if inputs[number - 1][0::2] != inputs[number][0::2]:
            raise DataError(f"{path}:{number + 1}: its item counts differ from line {number}'s")
    return tuple(zip(inputs[0::2], inputs[1::2]))


def read_negotiation_file(path: Path) -> tuple[NegotiationExample, ...]:
    """Every line of a dialogue file, parsed (no checksum: :func:`load_negotiation` verifies)."""
    return tuple(parse_line(line, f"{path}:{number}") for number, line in enumerate(read_lines(path), 1))


def parse_line(line: str, where: str = "<line>") -> NegotiationExample:
    """One dialogue line; a malformed one raises a :class:`DataError` starting with ``where``."""
    tokens = line.split()
    fields: dict[str, Tokens] = {}
    position = 0
    for tag in _TAGS:
        if position >= len(tokens) or tokens[position] != f"<{tag}>":
            raise DataError(f"{where}: expected <{tag}> at token {position + 1}, got "
                            f"{tokens[position] if position < len(tokens) else 'the end of the line'!r}")
        try:
            end = tokens.index(f"</{tag}>", position + 1)
        except ValueError:
            raise DataError(f"{where}: <{tag}> is never closed") from None
        fields[tag] = tuple(tokens[position + 1:end])
        position = end + 1
    if position != len(tokens):
        raise DataError(f"{where}: unexpected {tokens[position]!r} after </partner_input>")
    own, partner = parse_input(fields["input"], where), parse_input(fields["partner_input"], where)
    if own[0::2] != partner[0::2]:
        raise DataError(f"{where}: the partner's item counts {partner[0::2]} differ from {own[0::2]}")
    dialogue = fields["dialogue"]
    if len(dialogue) < 2 or dialogue[0] not in (YOU, THEM) or dialogue[-1] != SELECTION \
            or dialogue[-2] not in (YOU, THEM):
        raise DataError(f"{where}: a dialogue starts with YOU: or THEM: and ends with a <selection> turn, "
                        f"got {' '.join(dialogue[:3])} ... {' '.join(dialogue[-3:])}")
    return NegotiationExample(own, dialogue, _check_output(fields["output"], own[0::2], where), partner)


def parse_input(tokens: Sequence[str], where: str = "<line>") -> Input:
    """``c0 v0 c1 v1 c2 v2`` as ints: counts 1..MAX_COUNT, values 0..10 worth 10 in all."""
    if len(tokens) != INPUT_LENGTH or not all(t.isdigit() for t in tokens):
        raise DataError(f"{where}: an input is {INPUT_LENGTH} integers (count, value per item), got {' '.join(tokens)!r}")
    numbers = tuple(int(t) for t in tokens)
    counts, values = numbers[0::2], numbers[1::2]
    if not all(1 <= c <= MAX_COUNT for c in counts) or sum(c * v for c, v in zip(counts, values)) != TOTAL_VALUE:
        raise DataError(f"{where}: counts must be 1..{MAX_COUNT} and the pool worth {TOTAL_VALUE}, "
                        f"got {' '.join(tokens)!r}")
    return numbers


def _check_output(output: Tokens, counts: Sequence[int], where: str) -> Tokens:
    """``output`` if it is 6 identical no-deal tokens, or two choices that split the pool."""
    if len(output) != SELECTION_LENGTH:
        raise DataError(f"{where}: an output has {SELECTION_LENGTH} tokens, got {len(output)}")
    if output[0] in NO_DEAL_TOKENS:
        if len(set(output)) != 1:
            raise DataError(f"{where}: a no-deal output repeats one token 6 times, got {' '.join(output)!r}")
        return output
    taken = []
    for position, token in enumerate(output):
        match = _ITEM.match(token)
        if match is None or int(match[1]) != position % len(ITEMS) or int(match[2]) > counts[position % len(ITEMS)]:
            raise DataError(f"{where}: bad selection token {token!r} at output position {position + 1}")
        taken.append(int(match[2]))
    if any(taken[i] + taken[i + len(ITEMS)] != counts[i] for i in range(len(ITEMS))):
        raise DataError(f"{where}: the two choices {' '.join(output)} do not split the counts {tuple(counts)}")
    return output


def negotiation_vocabulary(dialogues: Iterable[Sequence[str]], unk_threshold: int = UNK_THRESHOLD) -> Vocabulary:
    """The words of ``dialogues`` (the training file's) seen more than ``unk_threshold`` times, the
    2017 rule, by decreasing frequency (ties alphabetical); the dialogue markers at ids 4-7."""
    require(unk_threshold >= 0, f"unk_threshold must be >= 0, got {unk_threshold}")
    counts = Counter(word for dialogue in dialogues for word in dialogue)
    kept = sorted((w for w, c in counts.items() if c > unk_threshold and w not in DIALOGUE_MARKERS + SPECIALS),
                  key=lambda w: (-counts[w], w))
    vocabulary = Vocabulary(SPECIALS + DIALOGUE_MARKERS + tuple(kept))
    assert vocabulary.id(YOU) == YOU_ID and vocabulary.id(SELECTION) == SELECTION_ID
    return vocabulary


def negotiation_data(corpus: NegotiationCorpus, vocabulary: Vocabulary) -> NegotiationData:
    """``corpus`` as id tensors: contexts, dialogues (unknown words -> UNK) and selection targets."""
    require(len(corpus) > 0, f"{corpus.name}: no dialogues")
    require(vocabulary.words[len(SPECIALS):len(SPECIALS) + len(DIALOGUE_MARKERS)] == DIALOGUE_MARKERS,
            "not a negotiation vocabulary: build it with negotiation_vocabulary")
    context = torch.tensor([example.input for example in corpus.examples], dtype=torch.long)
    dialogue = pad_sequences([vocabulary.encode(example.dialogue) for example in corpus.examples], PAD)
    selection = torch.tensor([[OUTPUT_ID[t] for t in example.output] for example in corpus.examples], dtype=torch.long)
    return NegotiationData(context, dialogue, selection, vocabulary.words, corpus.name)


def _verified(base: Path, name: str) -> Path:
    """``<base>/negotiate/<name>`` checked against its sha256."""
    how = f"download it from {SOURCE_URL}{name} into {base / 'negotiate'}"
    return verify(user_file(base, f"negotiate/{name}", "negotiation file", how), CHECKSUMS[name])
