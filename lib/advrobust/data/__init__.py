"""Datasets of the thesis experiments as in-memory tensors, read from verified official files.

>>> from advrobust.data import load_dataset
>>> test = load_dataset("cifar10", "test", device="cuda")    # doctest: +SKIP
>>> for x, y in test.subset(1000, seed=0).batches(200):      # doctest: +SKIP
...     ...

Files live under :func:`data_root` (``$ADVROBUST_DATA``, else ``<repo>/data/raw``).
"""
from . import cifar, higgs, mnist  # registers "cifar10", "cifar100", "higgs" and "mnist"
from .files import data_root
from .imagenet import (
    RESTRICTED_IMAGENET_CLASSES,
    RestrictedImageNet,
    imagenet_folder,
    restricted_imagenet_folder,
)
from .loading import load_dataset
from .tensors import TensorData, pad_sequences

__all__ = [
    "RESTRICTED_IMAGENET_CLASSES",
    "RestrictedImageNet",
    "TensorData",
    "pad_sequences",
    "data_root",
    "imagenet_folder",
    "load_dataset",
    "restricted_imagenet_folder",
]
