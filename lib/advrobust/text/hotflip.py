"""HotFlip (Ebrahimi, Rao, Lowd & Dou 2018): a one-character attack on a character-level classifier,
the attack behind thesis Table 1.1 ("mood" -> "mooP" turns 57% World into 95% Sci/Tech).

A text is a sequence of one-hot columns x (A, L) (:func:`~advrobust.models.char_cnn.one_hot_characters`);
flipping position p from character a to character b changes x by e_b - e_a in column p. HotFlip
ranks every flip by the first-order estimate of the change of the loss J it causes,

    J(x') - J(x) ≈ ∂J/∂x_{b,p} - ∂J/∂x_{a,p}      (Ebrahimi et al., Eq. (1)),

read off one backward pass on the one-hot input (the second term is 0 where the current character
is unknown, a zero column). Here, for every text at once:

1. one forward and backward pass gives the estimate of all (position, character) flips, (N, A, L);
   flips to the current character and positions outside the text (padding, or beyond what the
   model reads) are excluded;
2. the ``candidates`` flips of highest estimate per text are evaluated exactly, in one batched
   forward pass of N x ``candidates`` texts;
3. each text keeps the evaluated flip that changes its predicted label, with the largest loss among
   those; if none does, the flip that raises the loss most, and no flip if none raises it.

So at most one character changes, always inside the text, never to padding; the input ids are not
modified. Ebrahimi et al. take the single best estimate (``candidates=1``) and search further
flips by beam search; Table 1.1 needs one character, so only the first flip is searched, and the
exact evaluation of the top candidates corrects the estimate's errors at the cost of one forward
pass per candidate. The estimate is blind to the units a flip would switch on (a ReLU that is off
has no gradient), so it ranks well *where* to flip but less well *to what*: its top flips often
share one position, and about as many candidates as the alphabet has characters cover them.

The result is an :class:`~advrobust.attacks.result.AttackResult` whose
``distances["characters_changed"]`` counts the changed characters (0 or 1); its ``l2`` and ``linf``
are measured between the one-hot inputs (√2 for a letter changed into another).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Protocol, cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..attacks.base import eval_mode, require_count
from ..attacks.result import AttackResult
from ..errors import require
from ..models.char_cnn import one_hot_characters

PerExampleLoss = Callable[[Tensor, Tensor], Tensor]  # (logits (N, K), labels (N,)) -> (N,) losses


class CharacterClassifier(Protocol):
    """What HotFlip needs of a model (:class:`~advrobust.models.char_cnn.CharCNN` has it)."""

    alphabet_size: int  # A: ids 1..A are characters, 0 is padding or unknown

    def forward_one_hot(self, one_hot: Tensor) -> Tensor: ...  # (N, A, L) -> (N, K) logits


def cross_entropy_loss(logits: Tensor, labels: Tensor) -> Tensor:
    """(N,) cross-entropy of the true labels, the loss J that HotFlip raises (Ebrahimi et al.),
    written as log(1 + Σ_{j≠y} exp(z_j - z_y)) so that it and its gradient keep their precision on
    confidently classified texts: autograd of ``F.cross_entropy`` forms p_y - 1, which rounds to 0
    in float32 once p_y ≈ 1, and the first-order estimate would lose the true class's term."""
    z = logits.float()
    true = z.gather(1, labels.unsqueeze(1))
    others = (z - true).masked_fill(F.one_hot(labels, z.shape[1]).bool(), float("-inf"))
    return torch.cat([torch.zeros_like(true), others], dim=1).logsumexp(dim=1)


def text_lengths(ids: Tensor) -> Tensor:
    """(N,) the position after the last non-zero id of each row (N, L): the length of a text when
    its trailing unknown characters are counted as padding."""
    positions = torch.arange(1, ids.shape[1] + 1, device=ids.device)
    return (ids.ne(0) * positions).amax(dim=1) if ids.shape[1] else ids.new_zeros(len(ids))


class HotFlip:
    """One-character HotFlip on a character-level classifier (module docstring).

    ``HotFlip(model, candidates=20).run(ids, labels)`` attacks the texts ``ids`` (N, L).

    Args:
        model: a :class:`CharacterClassifier` (``forward_one_hot`` and ``alphabet_size``; a
            ``length`` attribute, the characters it reads, bounds the positions flipped).
        candidates: flips per text, of highest first-order estimate, evaluated exactly.
        loss: per-example loss J(logits, labels) -> (N,) that the attack raises (cross-entropy).
        batch_size: texts per pass (each pass evaluates ``batch_size * candidates`` texts);
            None: all at once.
    """

    name: ClassVar[str] = "hotflip"

    def __init__(
        self,
        model: nn.Module,
        *,
        candidates: int = 10,
        loss: PerExampleLoss = cross_entropy_loss,
        batch_size: int | None = None,
    ) -> None:
        require_count(candidates, "candidates")
        require(batch_size is None or batch_size >= 1, f"batch_size must be >= 1 or None, got {batch_size}")
        require(hasattr(model, "forward_one_hot") and hasattr(model, "alphabet_size"),
                f"HotFlip needs a character model with forward_one_hot and alphabet_size, got {type(model).__name__}")
        self.model = model
        self.candidates = candidates
        self.loss = loss
        self.batch_size = batch_size

    def __call__(self, ids: Tensor, labels: Tensor, lengths: Tensor | None = None) -> Tensor:
        """The adversarial ids (N, L)."""
        return self.run(ids, labels, lengths).x_adv

    def run(self, ids: Tensor, labels: Tensor, lengths: Tensor | None = None) -> AttackResult:
        """Attack the texts ``ids`` (N, L) (character ids, 0 = padding/unknown) with labels ``y``
        (N,); a text's characters are its first ``lengths`` (N,) positions (default:
        :func:`text_lengths`). ``ids`` is not modified."""
        self._check(ids, labels, lengths)
        x0 = ids.detach().clone()
        labels = labels.to(device=x0.device, dtype=torch.long)
        lengths = text_lengths(x0) if lengths is None else lengths.to(device=x0.device, dtype=torch.long)
        step = self.batch_size or max(1, len(x0))
        parts = [self._attack(x0[i:i + step], labels[i:i + step], lengths[i:i + step])
                 for i in range(0, len(x0), step)]
        x_adv, queries, original_correct = (torch.cat(column) for column in zip(*parts, strict=True))
        with eval_mode(self.model), torch.no_grad():
            success = torch.cat([self.model(chunk).argmax(dim=1) for chunk in x_adv.split(step)]) != labels
        changed = x_adv != x0
        squares = (changed & x0.ne(0)).sum(dim=1) + (changed & x_adv.ne(0)).sum(dim=1)
        return AttackResult(
            x_adv=x_adv, success=success, l2=squares.float().sqrt(), linf=changed.any(dim=1).float(),
            queries=queries, original_correct=original_correct,
            distances={"characters_changed": changed.sum(dim=1)},
        )

    def estimated_gains(self, ids: Tensor, labels: Tensor, lengths: Tensor | None = None) -> Tensor:
        """(N, A, L) first-order estimate of the loss change of flipping each position to each
        character (Ebrahimi et al. Eq. (1)); -inf where a flip is excluded (the current character,
        or a position outside the text)."""
        self._check(ids, labels, lengths)
        lengths = text_lengths(ids) if lengths is None else lengths.to(device=ids.device, dtype=torch.long)
        with eval_mode(self.model):
            gains, _, _ = self._gains(ids, labels.to(device=ids.device, dtype=torch.long), lengths)
        return gains

    # ------------------------------------------------------------------ one batch

    def _gains(self, x0: Tensor, labels: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(estimates (N, A, L), clean losses (N,), clean predictions (N,)) from one backward pass."""
        model = cast(CharacterClassifier, self.model)
        one_hot = one_hot_characters(x0, model.alphabet_size).requires_grad_(True)
        with torch.enable_grad():
            logits = model.forward_one_hot(one_hot)
            losses = self.loss(logits, labels)
            (grad,) = torch.autograd.grad(losses.sum(), one_hot)
        one_hot = one_hot.detach()
        gains = grad - (grad * one_hot).sum(dim=1, keepdim=True)  # ∂J/∂x_{b,p} - ∂J/∂x_{a,p}
        readable = lengths.clamp(max=getattr(self.model, "length", x0.shape[1]))
        inside = torch.arange(x0.shape[1], device=x0.device) < readable.unsqueeze(1)  # (N, L)
        allowed = inside.unsqueeze(1) & one_hot.eq(0)  # (N, A, L): inside the text, not the current character
        return gains.masked_fill(~allowed, float("-inf")), losses.detach(), logits.detach().argmax(dim=1)

    def _attack(self, x0: Tensor, labels: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(x_adv (n, L), queries (n,), original_correct (n,)) for one batch of texts."""
        n, width = x0.shape
        with eval_mode(self.model):
            gains, clean_loss, clean_pred = self._gains(x0, labels, lengths)
            k = min(self.candidates, gains[0].numel())
            estimate, flat = gains.flatten(1).topk(k, dim=1)  # (n, k) best flips, as character * L + position
            valid = estimate.isfinite()
            characters, positions = flat // width + 1, flat % width
            trial = x0.unsqueeze(1).repeat(1, k, 1)  # (n, k, L)
            trial.scatter_(2, positions.unsqueeze(2), characters.unsqueeze(2))
            with torch.no_grad():
                logits = self.model(trial.flatten(0, 1))
                losses = self.loss(logits, labels.repeat_interleave(k)).view(n, k)
                flips = (logits.argmax(dim=1).view(n, k) != labels.unsqueeze(1)) & valid
        losses = losses.masked_fill(~valid, float("-inf"))
        best_flip = losses.masked_fill(~flips, float("-inf")).argmax(dim=1)
        choice = torch.where(flips.any(dim=1), best_flip, losses.argmax(dim=1))
        keep = flips.any(dim=1) | (losses.gather(1, choice.unsqueeze(1)).squeeze(1) > clean_loss)
        chosen = trial[torch.arange(n, device=x0.device), choice]
        x_adv = torch.where(keep.unsqueeze(1), chosen, x0)
        return x_adv, 1 + valid.sum(dim=1), clean_pred == labels

    def _check(self, ids: Tensor, labels: Tensor, lengths: Tensor | None) -> None:
        require(ids.ndim == 2 and len(ids) > 0 and not ids.is_floating_point(),
                f"ids must be a non-empty (N, L) integer tensor, got {tuple(ids.shape)} {ids.dtype}")
        require(tuple(labels.shape) == (len(ids),) and not labels.is_floating_point(),
                f"labels must be ({len(ids)},) integer classes, got {tuple(labels.shape)}")
        require(lengths is None or tuple(lengths.shape) == (len(ids),),
                f"lengths must be ({len(ids)},), got {None if lengths is None else tuple(lengths.shape)}")

    def __repr__(self) -> str:
        return f"HotFlip(candidates={self.candidates}, batch_size={self.batch_size})"
