"""The character-level convolutional network of Zhang, Zhao & LeCun (2015), Table 1.1's classifier.

Thesis Table 1.1 fools "a neural network-based text classification model" on AG News by changing
one character. The canonical character-level AG News model is Zhang et al.'s ConvNet ("Character-
level convolutional networks for text classification", NeurIPS 2015, Tables 1-2), whose *small*
variant is :func:`char_cnn_small`:

* input: (N, L) character ids over the 69-character alphabet of :mod:`advrobust.data.agnews`
  (0 = padding or unknown), L = 1014, turned into one-hot columns (N, 69, L) *inside* the model,
  id 0 as the all-zero column;
* six temporal convolutions of 256 features with kernels 7, 7, 3, 3, 3, 3, each followed by a
  ReLU, and non-overlapping max-pooling of 3 after the first, second and sixth (1014 -> 34);
* two fully connected layers of 1024 units with ReLU and dropout 0.5, then the 4-class output;
* weights drawn from N(0, 0.05²) (their small model's initialisation), biases 0.

Because the one-hot step is inside the model, an attack differentiates the loss with respect to
the one-hot input: :meth:`CharCNN.forward_one_hot` takes (N, A, L) columns, and
``forward(ids) == forward_one_hot(one_hot_characters(ids, A))`` (HotFlip, :mod:`advrobust.text.hotflip`).
A model reads its first ``length`` characters and treats missing ones as zero columns, so it
takes ids of any length (Zhang et al. cut texts at L): a shorter model reads AG News's 1014-wide
rows unchanged.

:func:`char_cnn_mini` is the ``quick`` profile's reduction: the same six convolutions, pools and
dropout at 64 features and 256 hidden units, reading the first 512 characters (AG News texts
average about 240), PyTorch's default initialisation.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..data.agnews import ALPHABET, ZHANG_LENGTH
from ..errors import require
from ..registry import register

KERNELS = (7, 7, 3, 3, 3, 3)  # the six temporal convolutions' widths (Zhang et al. Table 1)
POOLED = (True, True, False, False, False, True)  # max-pool 3 after layers 1, 2 and 6
POOL = 3
ALPHABET_SIZE = len(ALPHABET)


def one_hot_characters(ids: Tensor, alphabet_size: int = ALPHABET_SIZE) -> Tensor:
    """(N, A, L) float32 one-hot columns of character ids (N, L): id ``a >= 1`` is the unit
    vector of row ``a - 1``, id 0 (padding or unknown) the zero vector."""
    require(ids.ndim == 2 and not ids.is_floating_point() and not ids.is_complex(),
            f"character ids must be an (N, L) integer tensor, got {tuple(ids.shape)} {ids.dtype}")
    require(ids.numel() == 0 or (int(ids.min()) >= 0 and int(ids.max()) <= alphabet_size),
            f"character ids must lie in 0..{alphabet_size}")
    known = ids.long().unsqueeze(1)  # (N, 1, L)
    columns = torch.zeros(ids.shape[0], alphabet_size, ids.shape[1], device=ids.device)
    return columns.scatter_(1, (known - 1).clamp(min=0), known.ne(0).float())


def feature_length(length: int) -> int:
    """The positions left after the six convolutions and three pools of an input of ``length``."""
    for kernel, pooled in zip(KERNELS, POOLED, strict=True):
        length -= kernel - 1
        if pooled:
            length //= POOL
    return length


class CharCNN(nn.Module):
    """Zhang et al.'s ConvNet: (N, L) character ids -> (N, num_classes) logits (module docstring)."""

    def __init__(
        self,
        alphabet_size: int = ALPHABET_SIZE,
        length: int = ZHANG_LENGTH,
        features: int = 256,
        hidden: int = 1024,
        num_classes: int = 4,
        dropout: float = 0.5,
        init_std: float | None = 0.05,
    ) -> None:
        super().__init__()
        require(feature_length(length) >= 1, f"length {length} is too short for six convolutions and three pools")
        self.alphabet_size = alphabet_size
        self.length = length  # characters read; any more are ignored, fewer are zero columns
        self.input_shape = (length,)
        self.num_classes = num_classes
        layers: list[nn.Module] = []
        channels = alphabet_size
        for kernel, pooled in zip(KERNELS, POOLED, strict=True):
            layers += [nn.Conv1d(channels, features, kernel), nn.ReLU(inplace=True)]
            if pooled:
                layers.append(nn.MaxPool1d(POOL))
            channels = features
        self.features = nn.Sequential(*layers, nn.Flatten())
        self.classifier = nn.Sequential(
            nn.Linear(features * feature_length(length), hidden), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(hidden, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),
        )
        if init_std is not None:
            for module in self.modules():
                if isinstance(module, nn.Conv1d | nn.Linear) and module.bias is not None:
                    nn.init.normal_(module.weight, 0.0, init_std)
                    nn.init.zeros_(module.bias)

    def forward(self, ids: Tensor) -> Tensor:
        """Logits (N, K) of character ids (N, L)."""
        return self.forward_one_hot(one_hot_characters(ids, self.alphabet_size))

    def forward_one_hot(self, one_hot: Tensor) -> Tensor:
        """Logits (N, K) of one-hot columns (N, A, L') (or any relaxation of them), read up to
        ``length`` positions and padded with zero columns when shorter."""
        require(one_hot.ndim == 3 and one_hot.shape[1] == self.alphabet_size,
                f"one-hot input must be (N, {self.alphabet_size}, L), got {tuple(one_hot.shape)}")
        read = one_hot[..., : self.length]
        if read.shape[-1] < self.length:
            read = F.pad(read, (0, self.length - read.shape[-1]))
        return self.classifier(self.features(read))


@register("model", "char_cnn_small", family="text_classifier")
def char_cnn_small(num_classes: int = 4) -> CharCNN:
    """Zhang et al.'s small character-level ConvNet (1014 characters, 256 features, 1024 hidden
    units, dropout 0.5, N(0, 0.05²) weights): Table 1.1's AG News classifier at the paper profile."""
    return CharCNN(num_classes=num_classes)


@register("model", "char_cnn_mini", family="text_classifier")
def char_cnn_mini(num_classes: int = 4) -> CharCNN:
    """The quick profile's reduction of :func:`char_cnn_small`: the same layers at 64 features and
    256 hidden units, reading 512 characters, PyTorch's default initialisation."""
    return CharCNN(length=512, features=64, hidden=256, num_classes=num_classes, init_std=None)
