"""Datasets of the thesis experiments as in-memory tensors, read from verified official files.

>>> from advrobust.data import load_dataset
>>> test = load_dataset("cifar10", "test", device="cuda")    # doctest: +SKIP
>>> for x, y in test.subset(1000, seed=0).batches(200):      # doctest: +SKIP
...     ...

Files live under :func:`data_root` (``$ADVROBUST_DATA``, else ``<repo>/data/raw``).
"""
from . import agnews, cifar, higgs, mnist  # registers their datasets
from .agnews import (
    LabelledTexts,
    character_data,
    character_lengths,
    decode_characters,
    encode_characters,
    load_ag_news,
    replace_characters,
)
from .files import data_root
from .imagenet import (
    RESTRICTED_IMAGENET_CLASSES,
    RestrictedImageNet,
    imagenet_folder,
    restricted_imagenet_folder,
)
from .loading import load_dataset
from .negotiation import (
    NegotiationCorpus,
    NegotiationData,
    NegotiationExample,
    load_negotiation,
    load_selfplay_contexts,
    negotiation_data,
    negotiation_vocabulary,
)
from .summarization import load_duc, load_gigaword
from .tensors import TensorData, pad_sequences
from .text import ParallelCorpus, TextStatistics, sequence_pairs, text_statistics
from .translation import load_multi30k, load_wmt15
from .vocab import Vocabulary

# The class names of each labelled image/tabular/text dataset, for models sized by their dataset.
CLASS_NAMES: dict[str, tuple[str, ...]] = {"mnist": mnist.CLASSES, "cifar10": cifar.CIFAR10_CLASSES,
                                           "cifar100": cifar.CIFAR100_CLASSES, "higgs": higgs.CLASSES,
                                           "ag_news": agnews.CLASSES}

__all__ = [
    "CLASS_NAMES",
    "LabelledTexts",
    "NegotiationCorpus",
    "NegotiationData",
    "NegotiationExample",
    "ParallelCorpus",
    "RESTRICTED_IMAGENET_CLASSES",
    "RestrictedImageNet",
    "TensorData",
    "TextStatistics",
    "Vocabulary",
    "negotiation_data",
    "negotiation_vocabulary",
    "pad_sequences",
    "character_data",
    "character_lengths",
    "data_root",
    "decode_characters",
    "encode_characters",
    "imagenet_folder",
    "load_ag_news",
    "load_dataset",
    "load_duc",
    "load_gigaword",
    "load_multi30k",
    "load_negotiation",
    "load_selfplay_contexts",
    "load_wmt15",
    "replace_characters",
    "restricted_imagenet_folder",
    "sequence_pairs",
    "text_statistics",
]
