"""A whole small dataset as two tensors that live on one device (no DataLoader).

Any sample shape: images (N, C, H, W) in [0, 1], tabular rows (N, D), or token sequences (N, T)
padded with ``pad_id`` (:func:`pad_sequences`); targets are labels (N,) or, for
sequence-to-sequence data, padded sequences (N, T').
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from ..errors import require
from ..runtime import resolve_device


@dataclass(frozen=True)
class TensorData:
    """Inputs ``x`` (N, ...) and targets ``y`` (N,) or (N, ...) on the same device.

    Images are float32 in [0, 1]; normalisation is not applied here but inside the models, so
    attacks work in [0, 1]. Token sequences are int64 ids padded on the right with ``pad_id``.
    """

    x: Tensor  # (N, ...) inputs: images (N, C, H, W), rows (N, D), token ids (N, T)
    y: Tensor  # (N,) labels, or (N, T') target token ids
    classes: tuple[str, ...]  # class names (labels), or the vocabulary (token ids)
    name: str  # e.g. "mnist-train"
    pad_id: int | None = None  # the padding id of token sequences (None: no padding)

    def __post_init__(self) -> None:
        require(self.x.ndim >= 2, f"{self.name}: inputs must be (N, ...), got {tuple(self.x.shape)}")
        require(self.y.ndim >= 1 and len(self.y) == len(self.x),
                f"{self.name}: {len(self.y)} targets for {len(self.x)} inputs")
        require(self.x.device == self.y.device, f"{self.name}: inputs on {self.x.device}, targets on {self.y.device}")

    def lengths(self) -> Tensor:
        """(N,) number of tokens before the padding of each input sequence."""
        pad_id = self.pad_id
        require(pad_id is not None and self.x.ndim == 2, f"{self.name}: not padded token sequences")
        return self.x.ne(int(pad_id or 0)).sum(dim=1)

    def __len__(self) -> int:
        return len(self.y)

    def to(self, device: torch.device | str) -> TensorData:
        """The same data on ``device`` (``"auto"``, ``"cpu"``, ``"cuda"``, or a ``torch.device``)."""
        target = resolve_device(device) if isinstance(device, str) else device
        return dataclasses.replace(self, x=self.x.to(target), y=self.y.to(target))

    def subset(self, n: int | None, seed: int = 0) -> TensorData:
        """``n`` examples drawn without replacement by ``seed``, kept in dataset order.

        The same ``seed`` gives the same examples, and a smaller ``n`` gives a subset of a larger
        one. ``n=None`` or ``n >= len(self)`` returns all the data.
        """
        if n is None or n >= len(self):
            return self
        require(n >= 1, f"subset size must be at least 1, got {n}")
        generator = torch.Generator().manual_seed(seed)
        chosen = torch.randperm(len(self), generator=generator)[:n].sort().values
        return self._take(chosen.to(self.x.device))

    def batches(
        self, batch_size: int, shuffle: bool = False, generator: torch.Generator | None = None
    ) -> Iterator[tuple[Tensor, Tensor]]:
        """Yield ``(x, y)`` batches covering every example once.

        With ``shuffle`` the order is a permutation drawn from ``generator`` (a CPU generator;
        ``None`` uses torch's global one); without it, the batches are views in dataset order.
        """
        require(batch_size >= 1, f"batch size must be at least 1, got {batch_size}")
        if shuffle:
            order = torch.randperm(len(self), generator=generator).to(self.x.device)
            for start in range(0, len(self), batch_size):
                index = order[start:start + batch_size]
                yield self.x[index], self.y[index]
        else:
            for start in range(0, len(self), batch_size):
                yield self.x[start:start + batch_size], self.y[start:start + batch_size]

    def _take(self, index: Tensor) -> TensorData:
        return dataclasses.replace(self, x=self.x[index], y=self.y[index])


def from_uint8(
    images: np.ndarray,
    labels: np.ndarray,
    classes: tuple[str, ...],
    name: str,
    device: torch.device | str | None = None,
) -> TensorData:
    """Build :class:`TensorData` from uint8 pixels (N, C, H, W), moved to ``device`` before scaling.

    Moving the uint8 bytes first sends a quarter of the data to a GPU and scales it there.
    """
    target = resolve_device(device) if isinstance(device, str) else device
    pixels = torch.from_numpy(np.require(images, np.uint8, ["C_CONTIGUOUS", "WRITEABLE"]))
    x = pixels.to(target).to(torch.float32).div_(255)
    y = torch.from_numpy(labels.astype(np.int64)).to(target)
    return TensorData(x=x, y=y, classes=classes, name=name)


def pad_sequences(sequences: Sequence[Sequence[int]], pad_id: int, length: int | None = None) -> Tensor:
    """(N, T) int64 ids: each sequence followed by ``pad_id`` up to ``length`` (default: the
    longest); a longer sequence is an error, never silently cut."""
    longest = max((len(s) for s in sequences), default=0)
    length = longest if length is None else length
    require(longest <= length, f"a sequence has {longest} tokens, more than the length {length}")
    padded = torch.full((len(sequences), length), pad_id, dtype=torch.long)
    for row, sequence in enumerate(sequences):
        padded[row, : len(sequence)] = torch.as_tensor(sequence, dtype=torch.long)
    return padded
