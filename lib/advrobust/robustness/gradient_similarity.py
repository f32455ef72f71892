"""Cosine similarity of input gradients between models: Table 5.9 (thesis §5.3.4.13).

For an example (x, y) and two models f and g,

    cos(x, y) = <∇x CE(f(x), y), ∇x CE(g(x), y)> / (‖∇x CE(f(x), y)‖ ‖∇x CE(g(x), y)‖),

the diversity measure of Kariyappa & Qureshi (2019, "KQ19"), averaged over examples. The thesis
reports it between models trained with one SPROUT module each (Dirichlet LS, Mixup, GA): small
values mean their loss gradients point in different directions, which it reads as complementary
robustness.

Gradients are taken in eval mode at the clean inputs; each model's gradient of a batch is computed
once for all the pairs it is in. An example where either gradient is exactly zero (a loss
saturated in float32) has no direction: its cosine is NaN and it is left out of the mean (the
thesis does not say what it did; counting it as 0 would make the models look more diverse).
"""
from __future__ import annotations

from collections.abc import Mapping
from itertools import combinations

import pandas as pd
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..attacks.base import eval_mode
from ..errors import require
from .accuracy import model_device


def input_gradient(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
    """(N, ...) ∇x CE(model(x_i), y_i) for each example, on the model's device.

    Call it in eval mode (batch norm then couples no examples); ``x`` is not modified and no
    parameter's ``.grad`` is touched.
    """
    device = model_device(model)
    with torch.enable_grad():
        xs = x.detach().to(device).requires_grad_(True)
        (grad,) = torch.autograd.grad(F.cross_entropy(model(xs), y.to(device), reduction="sum"), xs)
    return grad


def pairwise_gradient_cosines(
    models: Mapping[str, nn.Module], x: Tensor, y: Tensor, *, batch_size: int = 256
) -> dict[tuple[str, str], Tensor]:
    """Per pair (a, b) of ``models`` (in :func:`itertools.combinations` order): the (N,) cosine
    similarity of their input gradients on each example of ``x`` (NaN where a gradient is zero),
    as float64 on ``x``'s device."""
    require(len(models) >= 2, f"need at least two models, got {len(models)}")
    require(batch_size >= 1, f"batch_size must be >= 1, got {batch_size}")
    require(y.shape == (x.shape[0],), f"y must have shape ({x.shape[0]},), got {tuple(y.shape)}")
    pairs = list(combinations(models, 2))
    chunks: dict[tuple[str, str], list[Tensor]] = {pair: [] for pair in pairs}
    for xs, ys in zip(x.split(batch_size), y.split(batch_size)):
        grads = {}
        for name, model in models.items():
            with eval_mode(model):
                grads[name] = input_gradient(model, xs, ys).flatten(1).to(x.device, torch.float64)
        for a, b in pairs:
            dot = (grads[a] * grads[b]).sum(dim=1)
            norms = grads[a].norm(dim=1) * grads[b].norm(dim=1)
            chunks[(a, b)].append(torch.where(norms > 0, dot / norms, torch.nan))
    return {pair: torch.cat(values) for pair, values in chunks.items()}


def gradient_cosine(model_a: nn.Module, model_b: nn.Module, x: Tensor, y: Tensor, *, batch_size: int = 256) -> float:
    """Mean cosine similarity of the input gradients of two models over ``x`` (examples with a
    zero gradient left out)."""
    (cosines,) = pairwise_gradient_cosines({"a": model_a, "b": model_b}, x, y, batch_size=batch_size).values()
    return float(cosines.nanmean())


def gradient_similarity_table(
    models: Mapping[str, nn.Module], x: Tensor, y: Tensor, *, batch_size: int = 256
) -> pd.DataFrame:
    """Table 5.9: one row per pair of ``models``: ``pair`` (``"<a> / <b>"``, see
    :func:`pair_name`), ``cosine`` (the mean over examples) and ``n`` (the examples it averages:
    those where neither gradient is zero)."""
    cosines = pairwise_gradient_cosines(models, x, y, batch_size=batch_size)
    rows = [
        {"pair": pair_name(a, b), "cosine": float(values.nanmean()), "n": int(values.isfinite().sum())}
        for (a, b), values in cosines.items()
    ]
    return pd.DataFrame(rows, columns=["pair", "cosine", "n"])


def pair_name(a: str, b: str) -> str:
    """The key of a pair in Table 5.9's ``pair`` column (``data/thesis/table_5_9.csv``)."""
    return f"{a} / {b}"
