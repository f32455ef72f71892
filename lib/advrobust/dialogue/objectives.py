"""The white-box objectives of §3.2.3 on the target agent's logits, batched over K candidate
dialogues (from :meth:`~advrobust.models.DialogueAgent.continue_batch`).

* (3.9), the reactive attack's constraint: the target's next word must be ``<selection>``,
  [Z_r]_sel − max_{i≠sel} [Z_r]_i ≥ 0 (:func:`selection_margin`);
* (3.10)/(3.12), the decision loss: L = max{[Z_o]_{o'} − max_{o∈Ō} [Z_o]_o, −κ}, where o' is the
  target's original choice and Ō the choices that leave the adversary (who takes the complement)
  more points than the target (:func:`favourable_choices`, :func:`decision_loss`).

Z_o is :meth:`~advrobust.models.DialogueAgent.choice_logits` (the log of eq. 3.6's product), Z_r
:meth:`~advrobust.models.DialogueAgent.next_word_logits`.
"""
from __future__ import annotations

import torch
from torch import Tensor

from ..data.negotiation import SELECTION_ID
from ..errors import require
from ..models.dialogue_agent import UNSPEAKABLE, enumerate_choices
from .game import Scenario


def favourable_choices(scenario: Scenario, target: int) -> Tensor:
    """(C,) bool over :func:`~advrobust.models.dialogue_agent.enumerate_choices`: Ō, the target's
    choices o after which the adversary, taking the rest, scores more than the target
    (S_adv(o) > S_ori(o)); no-agreement choices are never in Ō."""
    require(target in (0, 1), f"target must be 0 or 1, got {target}")
    mask = []
    for choice in enumerate_choices(scenario.counts):
        if choice is None:
            mask.append(False)
            continue
        rest = scenario.complement(choice)
        assert rest is not None
        mask.append(scenario.value(1 - target, rest) > scenario.value(target, choice))
    return torch.tensor(mask)


def decision_loss(choice_logits: Tensor, original: int | None, favourable: Tensor, kappa: float = 0.0) -> Tensor:
    """(K,) eq. (3.10): max{Z_{o'} − max_{o∈Ō} Z_o, −κ} for the target's choice logits (K, C), its
    original choice index ``original`` and Ō as the bool mask ``favourable`` (C,). Negative once a
    favourable choice beats the original one; −κ at most.

    ``original=None`` takes as o' each row's own best choice outside Ō (the C&W form of the
    margin): it equals the literal o' while the original choice leads, and it stays positive
    until the target's preferred choice is a favourable one, whichever unfavourable choice
    leads. The attacks use it (:mod:`.whitebox`)."""
    require(choice_logits.ndim == 2 and favourable.shape == (choice_logits.size(1),),
            f"need (K, C) logits and a (C,) mask, got {tuple(choice_logits.shape)}, {tuple(favourable.shape)}")
    require(bool(favourable.any()), "no choice favours the adversary in this scenario")
    require(kappa >= 0, f"kappa must be >= 0, got {kappa}")
    mask = favourable.to(choice_logits.device)
    best = choice_logits.masked_fill(~mask, float("-inf")).max(dim=1).values
    if original is None:
        reference = choice_logits.masked_fill(mask, float("-inf")).max(dim=1).values
    else:
        reference = choice_logits[:, original]
    return torch.clamp(reference - best, min=-kappa)


def selection_margin(next_word_logits: Tensor, speakable_only: bool = True) -> Tensor:
    """(K,) eq. (3.9)'s left side: [Z_r]_sel − max_{i≠sel} [Z_r]_i, over the words the target can
    say (``speakable_only``, as it samples) or all of them. The constraint holds when ≥ 0."""
    others = next_word_logits.clone()
    others[:, SELECTION_ID] = float("-inf")
    if speakable_only:
        others[:, :UNSPEAKABLE] = float("-inf")
    return next_word_logits[:, SELECTION_ID] - others.max(dim=1).values
