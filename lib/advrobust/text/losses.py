"""Seq2Sick's two attack losses on the decoder's logits (thesis §2.1.2 and §3.1.1).

Both take the logits z_t (B, T, V) of a free-running decoding of the perturbed input and return
one loss per sentence (B,), which is at most 0 exactly when the attack's goal holds at the
positions it counts (with margin ε = 0, as the author's code runs them):

- :func:`non_overlap_loss` is Eq. (2.8): Σ_t max{−ε, z_t^(s_t) − max_{y≠s_t} z_t^(y)}, over the
  positions t of the original output s;
- :func:`keyword_loss` is Eq. (2.12): Σ_i min_t m_t(max{−ε, max_{y≠k_i} z_t^(y) − z_t^(k_i)}), with
  the mask m_t of Eq. (2.11).

**The mask, as used here.** Eq. (2.11) sets m_t = +∞ where the top-1 word at t is *any* keyword.
Read literally, a keyword that has reached the top at t masks its own position and can never count
as placed. The intent ("if any of the keywords appear at position t ... only consider other
positions for the placement of *remaining* keywords") is that a position held by *another*
keyword is closed to k_i; that is what runs here. (The author's code never triggers its mask.)
"""
from __future__ import annotations

import torch
from torch import Tensor

# Stands for Eq. (2.11)'s +∞: finite, so a sentence with every position masked keeps a finite
# loss (and zero gradient through the masked terms).
MASKED = 1e4


def _largest_other(logits: Tensor, excluded: Tensor) -> Tensor:
    """max_{y ≠ excluded} z^(y): (B, T, K) for (B, T, V) logits and (B, T, K) excluded ids."""
    top2 = logits.topk(2, dim=-1)
    best, second = top2.values[..., :1], top2.values[..., 1:]
    return torch.where(top2.indices[..., :1] == excluded, second, best)


def non_overlap_loss(logits: Tensor, reference: Tensor, counted: Tensor, margin: float = 0.0) -> Tensor:
    """Eq. (2.8) per sentence (B,): ``reference`` (B, T) holds s_t, ``counted`` (B, T) marks the
    positions of the original output's words (padding and the end token are not counted)."""
    ids = reference.unsqueeze(-1)
    own = logits.gather(-1, ids).squeeze(-1)
    other = _largest_other(logits, ids).squeeze(-1)
    hinge = (own - other).clamp_min(-margin)
    return (hinge * counted).sum(dim=1)


def keyword_loss(logits: Tensor, keywords: Tensor, keyword_valid: Tensor, counted: Tensor,
                 margin: float = 0.0) -> Tensor:
    """Eq. (2.12) per sentence (B,): ``keywords`` (B, K) ids with ``keyword_valid`` (B, K) marking
    the real ones (a sentence may have fewer), ``counted`` (B, T) the positions a keyword may take
    (up to and including the output's end token)."""
    batch, steps, _ = logits.shape
    wanted = keywords.unsqueeze(1).expand(batch, steps, keywords.shape[1])  # (B, T, K)
    own = logits.gather(-1, wanted)
    hinge = (_largest_other(logits, wanted) - own).clamp_min(-margin)
    top = logits.argmax(dim=-1, keepdim=True)  # (B, T, 1)
    is_keyword = ((top == keywords.unsqueeze(1)) & keyword_valid.unsqueeze(1)).any(dim=-1, keepdim=True)
    held_by_another = is_keyword & (top != wanted)  # Eq. (2.11), for the remaining keywords
    closed = held_by_another | ~counted.unsqueeze(-1)
    per_keyword = torch.where(closed, torch.full_like(hinge, MASKED), hinge).amin(dim=1)  # (B, K)
    return (per_keyword * keyword_valid).sum(dim=1)
