"""Seq2Sick (thesis §3.1, Eq. (3.4), Algorithm 6): adversarial inputs for sequence-to-sequence
models, found in the source embedding space and projected onto the vocabulary.

For a sentence with embeddings x = (x_1, ..., x_N), Seq2Sick minimises

    L(x + δ) + λ1 Σ_i ‖δ_i‖₂ + λ2 Σ_i min_{w ∈ W} ‖x_i + δ_i − w‖₂   s.t. x_i + δ_i ∈ W,   (3.4)

where L is the non-overlap loss (2.8) or the keyword loss (2.12) (:mod:`.losses`) on the logits
of a free-running greedy decoding of x + δ, the group lasso keeps most words unchanged, and W is
the set of source word embeddings. Each iteration of Algorithm 6, for every sentence at once:

1. back-propagate L to get ∇_δ L at the current point;
2. group-lasso proximal step on each word's δ_i: shrink by ηλ1, or set to 0 when ‖δ_i‖ ≤ ηλ1;
3. gradient step y = δ − η ∇_δ L (Algorithm 6 prints "+", a sign typo: the update descends);
4. projection: x + δ becomes the nearest word embedding of x + y, word by word.

The learning rates are tried in turn (the author's code: 2 for non-overlap, 0.1 then 0.5 for
keywords), ``iterations`` each (200), the next only for the sentences that failed; δ restarts
from 0 at each rate. A sentence stops at its first successful iterate (its greedy output meets
the goal), so the batch shrinks as sentences succeed.

**Projection.** ``projection="literal"`` is Algorithm 6: δ itself is projected, so x + δ is
always a sequence of words and the gradient-regularisation term is 0 with gradient 0.
``projection="straight_through"`` is the author's code: δ stays continuous, each forward uses
the nearest words of x + δ, the gradient at that point updates δ, and the λ2 term pulls x + δ
towards its nearest word. The chapter's profile says which one its numbers use.

**Success** (§3.1.4) is judged on the output of the ``beam_size`` decoder for the returned input:
non-overlap, "no common word at every position" (the adversarial output differs from the
original at every position both have, end tokens excluded); keywords, every keyword appears
anywhere in the output. "# changed" (``distances["words_changed"]``) counts the input positions
whose word differs.

**Departures from the author's code** (which the thesis is followed in): the group lasso is
Σ‖δ_i‖ (the code takes max(δ)); the λ2 term has a gradient (the code detaches it); the
non-overlap hinge excludes the true word with the second-largest logit (the code masks it with
0); the keyword mask of Eq. (2.11) is applied (:mod:`.losses`). The code's reference output is
a beam-5 translation while its logits come from greedy decoding; here both come from the same
decoder (``beam_size`` decides the reference and the judged output; the attack's logits are
always greedy, Eq. (3.1)).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, cast

import torch
from torch import Tensor, nn

from ..attacks.base import eval_mode, require_count
from ..attacks.result import AttackResult
from ..data.vocab import EOS, PAD
from ..errors import require
from .losses import keyword_loss, non_overlap_loss

GOALS = ("non_overlap", "keywords")
PROJECTIONS = ("literal", "straight_through")


class Seq2SeqModel(Protocol):
    """What Seq2Sick needs of a model (:class:`~advrobust.models.seq2seq.Seq2Seq` has it)."""

    src_embedding: nn.Embedding

    def greedy_embedded(self, src_emb: Tensor, src_lengths: Tensor, max_len: int) -> tuple[Tensor, Tensor]: ...

    def translate(self, src: Tensor, src_lengths: Tensor, beam_size: int = 1, max_len: int = 50) -> list[list[int]]: ...

    def nearest_source_words(self, emb: Tensor) -> Tensor: ...


@dataclass(frozen=True)
class Seq2SickResult:
    """A Seq2Sick run on N sentences: the attack result and the outputs it was judged on."""

    result: AttackResult  # x_adv: (N, S) adversarial source ids; distances: "words_changed"
    original_outputs: list[list[int]]  # the model's output for each clean sentence (the reference s)
    adversarial_outputs: list[list[int]]  # its output for each adversarial sentence


class Seq2Sick:
    """Algorithm 6 on ``model``, with the thesis's settings as defaults (see the module docstring).

    ``Seq2Sick(model, goal="keywords", learning_rates=(0.1, 0.5)).run(src, lengths, keywords)``.
    """

    name = "seq2sick"

    def __init__(
        self,
        model: Seq2SeqModel,
        *,
        goal: str = "non_overlap",  # "non_overlap" (loss (2.8)) or "keywords" (loss (2.12))
        lambda1: float = 1.0,  # group lasso weight (the thesis: λ = 1 and λ1 = λ2 = 1)
        lambda2: float = 1.0,  # gradient-regularisation weight
        learning_rates: tuple[float, ...] = (2.0,),  # η, tried in turn on the sentences still failing
        iterations: int = 200,  # iterations per learning rate
        projection: str = "literal",  # "literal" (Algorithm 6) or "straight_through" (the author's code)
        margin: float = 0.0,  # ε of Eqs. (2.8)/(2.12) (the code: 0)
        beam_size: int = 1,  # decoder of the reference and of the judged outputs (the code: 5)
        extra_steps: int = 2,  # keyword attacks decode this many steps beyond the original output
        batch_size: int | None = None,  # sentences attacked together (None: all at once)
    ) -> None:
        require(goal in GOALS, f"unknown goal {goal!r}; use one of {', '.join(GOALS)}")
        require(projection in PROJECTIONS, f"unknown projection {projection!r}; use one of {', '.join(PROJECTIONS)}")
        require(lambda1 >= 0 and lambda2 >= 0, f"need lambda1, lambda2 >= 0, got {lambda1}, {lambda2}")
        require(len(learning_rates) >= 1 and all(lr > 0 for lr in learning_rates),
                f"learning rates must be positive, got {learning_rates}")
        require_count(iterations, "iterations")
        require_count(beam_size, "beam_size")
        require_count(extra_steps, "extra_steps", minimum=0)
        if batch_size is not None:
            require_count(batch_size, "batch_size")
        self.model = model
        self.goal, self.lambda1, self.lambda2 = goal, float(lambda1), float(lambda2)
        self.learning_rates, self.iterations, self.projection = tuple(learning_rates), iterations, projection
        self.margin, self.beam_size, self.extra_steps = float(margin), beam_size, extra_steps
        self.batch_size = batch_size

    def __call__(self, src: Tensor, lengths: Tensor, keywords: Tensor | None = None) -> Tensor:
        """The adversarial source ids (N, S)."""
        return self.run(src, lengths, keywords).result.x_adv

    def run(self, src: Tensor, lengths: Tensor, keywords: Tensor | None = None) -> Seq2SickResult:
        """Attack the sentences ``src`` (N, S) of ``lengths`` (N,), padded with PAD; ``keywords``
        (N, K) ids (PAD where a sentence has fewer) for the keyword goal. ``src`` is not modified.

        A sentence whose original output is empty has nothing to attack (non-overlap would hold
        vacuously): it is reported as not attacked (``original_correct`` False, no success).
        Sentences run ``batch_size`` at a time; each has its own δ, so the split changes nothing."""
        require(src.ndim == 2 and lengths.shape == (len(src),), "src must be (N, S) with lengths (N,)")
        require((keywords is not None) == (self.goal == "keywords"),
                "give keywords exactly when the goal is 'keywords'")
        size = self.batch_size or len(src)
        return _concatenated([self._run_batch(src[start:start + size], lengths[start:start + size],
                                              None if keywords is None else keywords[start:start + size])
                              for start in range(0, len(src), size)])

    def _run_batch(self, src: Tensor, lengths: Tensor, keywords: Tensor | None) -> Seq2SickResult:
        model, cap = self.model, _max_len(src)
        with eval_mode(cast(nn.Module, model)):
            with torch.no_grad():
                original = model.translate(src, lengths, beam_size=self.beam_size, max_len=cap)
            reference, counted = _padded_outputs(original, src.device)
            best, queries = self._search(src, lengths, reference, counted, keywords)
            with torch.no_grad():
                adversarial = model.translate(best, lengths, beam_size=self.beam_size, max_len=cap)
                shift = (model.src_embedding(best) - model.src_embedding(src)).flatten(1)
        judged, judged_counted = _padded_outputs(adversarial, src.device, width=reference.shape[1])
        has_output = counted.any(dim=1)
        success = self._reached(judged, reference, counted, keywords, judged_counted) & has_output
        result = AttackResult(x_adv=best, success=success, l2=shift.norm(dim=1), linf=shift.abs().amax(dim=1),
                              queries=queries, original_correct=has_output,
                              distances={"words_changed": (best != src).sum(dim=1).float()})
        return Seq2SickResult(result, original, adversarial)

    def goal_gradient(self, src: Tensor, lengths: Tensor, keywords: Tensor | None = None) -> Tensor:
        """(N, S) the norm of ∇_{δ_i} L at δ = 0 for each word i of each sentence (0 at padding):
        the size of Algorithm 6's first gradient step is η times it, to be compared with the
        group-lasso threshold ηλ1 and with the distance between word embeddings."""
        model, cap = self.model, _max_len(src)
        with eval_mode(cast(nn.Module, model)):
            with torch.no_grad():
                original = model.translate(src, lengths, beam_size=self.beam_size, max_len=cap)
            reference, counted = _padded_outputs(original, src.device)
            point = model.src_embedding.weight.detach()[src].requires_grad_(True)
            logits, tokens = model.greedy_embedded(point, lengths, self._decoded_steps(reference))
            loss = self._goal_loss(logits, tokens, reference, counted, keywords)
            (grad,) = torch.autograd.grad(loss.sum(), point)
        words = torch.arange(src.shape[1], device=src.device) < lengths.unsqueeze(1)
        return grad.norm(dim=-1) * words

    # ------------------------------------------------------------------ Algorithm 6

    def _search(self, src: Tensor, lengths: Tensor, reference: Tensor, counted: Tensor,
                keywords: Tensor | None) -> tuple[Tensor, Tensor]:
        """The first successful iterate of each sentence (else its lowest-loss one) and the
        number of iterations (forward and backward passes) spent on it."""
        model = self.model
        embedding = model.src_embedding.weight.detach()
        x = embedding[src]
        words = torch.arange(src.shape[1], device=src.device) < lengths.unsqueeze(1)  # (N, S)
        best, best_loss = src.clone(), torch.full((len(src),), float("inf"), device=src.device)
        done = torch.zeros(len(src), dtype=torch.bool, device=src.device)
        queries = torch.zeros(len(src), dtype=torch.long, device=src.device)
        steps = self._decoded_steps(reference)
        for lr in self.learning_rates:
            delta = torch.zeros_like(x)
            for _ in range(self.iterations):
                active = (~done).nonzero().squeeze(1)
                if len(active) == 0:
                    return best, queries
                wanted = None if keywords is None else keywords[active]
                d = delta[active].requires_grad_(True)
                point = x[active] + d
                ids = torch.where(words[active], model.nearest_source_words(point.detach()), src[active])
                used = point if self.projection == "literal" else point + (embedding[ids] - point).detach()
                logits, tokens = model.greedy_embedded(used, lengths[active], steps)
                goal_loss = self._goal_loss(logits, tokens, reference[active], counted[active], wanted)
                total = goal_loss + self.lambda2 * _distance_to_vocabulary(point, embedding[ids], words[active])
                (grad,) = torch.autograd.grad(total.sum(), d)
                queries[active] += 1
                reached = self._reached(tokens.detach(), reference[active], counted[active], wanted)
                improved = reached | (goal_loss.detach() < best_loss[active])
                best[active[improved]] = ids[improved]
                best_loss[active[improved]] = goal_loss.detach()[improved]
                done[active[reached]] = True
                delta[active] = self._step(d.detach(), grad, lr, x[active], words[active])
            if bool(done.all()):
                break
        return best, queries

    def _decoded_steps(self, reference: Tensor) -> int:
        """Greedy decoding steps inside the attack: the original output and its end token, and
        ``extra_steps`` more for keywords (a keyword may lengthen the output)."""
        return reference.shape[1] + 1 + (self.extra_steps if self.goal == "keywords" else 0)

    def _step(self, delta: Tensor, grad: Tensor, lr: float, x: Tensor, words: Tensor) -> Tensor:
        """Algorithm 6's update: group-lasso prox, gradient descent step, projection onto W."""
        moved = group_lasso_prox(delta, lr * self.lambda1) - lr * grad
        if self.projection == "literal":
            moved = self.model.src_embedding.weight.detach()[self.model.nearest_source_words(x + moved)] - x
        return torch.where(words.unsqueeze(-1), moved, torch.zeros_like(moved))

    def _goal_loss(self, logits: Tensor, tokens: Tensor, reference: Tensor, counted: Tensor,
                   keywords: Tensor | None) -> Tensor:
        if keywords is None:
            steps = min(logits.shape[1], reference.shape[1])
            return non_overlap_loss(logits[:, :steps], reference[:, :steps], counted[:, :steps], self.margin)
        return keyword_loss(logits, keywords, keywords != PAD, _until_end(tokens, inclusive=True), self.margin)

    def _reached(self, tokens: Tensor, reference: Tensor, counted: Tensor, keywords: Tensor | None,
                 output_words: Tensor | None = None) -> Tensor:
        """(B,) whether each output (B, T) meets the goal: no common word with the original output
        at any position both have, or every keyword among its words."""
        has_word = _until_end(tokens, inclusive=False) if output_words is None else output_words
        if keywords is None:
            steps = min(tokens.shape[1], reference.shape[1])
            common = (tokens[:, :steps] == reference[:, :steps]) & counted[:, :steps] & has_word[:, :steps]
            return ~common.any(dim=1)
        found = ((tokens.unsqueeze(-1) == keywords.unsqueeze(1)) & has_word.unsqueeze(-1)).any(dim=1)  # (B, K)
        return (found | (keywords == PAD)).all(dim=1)


def _concatenated(runs: Sequence[Seq2SickResult]) -> Seq2SickResult:
    """One result for the sentences of ``runs``, in order."""
    if len(runs) == 1:
        return runs[0]
    parts = [run.result for run in runs]
    result = AttackResult(
        **{name: torch.cat([getattr(part, name) for part in parts])
           for name in ("x_adv", "success", "l2", "linf", "queries", "original_correct")},
        distances={name: torch.cat([part.distances[name] for part in parts]) for name in parts[0].distances})
    return Seq2SickResult(result, [o for run in runs for o in run.original_outputs],
                          [o for run in runs for o in run.adversarial_outputs])


def _max_len(src: Tensor) -> int:
    """The decoders' length cap for a batch: twice the longest source, at least 10 steps."""
    return max(10, 2 * src.shape[1])


def group_lasso_prox(delta: Tensor, threshold: float) -> Tensor:
    """The proximal operator of ``threshold`` × Σ_i ‖δ_i‖₂ over the words i (the last axis is the
    embedding): δ_i − threshold · δ_i / ‖δ_i‖ where ‖δ_i‖ > threshold, else 0 (Algorithm 6)."""
    norms = delta.norm(dim=-1, keepdim=True)
    return torch.where(norms > threshold, delta - threshold * delta / norms.clamp_min(1e-12), torch.zeros_like(delta))


def _padded_outputs(outputs: Sequence[Sequence[int]], device: torch.device,
                    width: int = 1) -> tuple[Tensor, Tensor]:
    """(N, M) the outputs padded with PAD to at least ``width`` columns, and (N, M) True at their words."""
    longest = max(width, *(len(o) for o in outputs))
    padded = torch.full((len(outputs), longest), PAD, dtype=torch.long)
    for row, output in enumerate(outputs):
        padded[row, : len(output)] = torch.tensor(list(output), dtype=torch.long)
    return padded.to(device), (padded != PAD).to(device)


def _until_end(tokens: Tensor, inclusive: bool) -> Tensor:
    """(B, T) True before the first end token of each greedy output (and at it, if ``inclusive``)."""
    is_end = (tokens == EOS).long()
    ends_before = is_end.cumsum(dim=1) - (is_end if inclusive else 0)
    return ends_before == 0


def _distance_to_vocabulary(point: Tensor, nearest: Tensor, words: Tensor) -> Tensor:
    """Eq. (3.4)'s λ2 term per sentence: Σ_i ‖x_i + δ_i − w*_i‖₂ over the words, w*_i the nearest
    word embedding (fixed: the gradient of the min is the gradient at the minimiser; 0 at a word)."""
    squared = (point - nearest).pow(2).sum(dim=-1)
    gap = torch.where(squared > 0, squared.clamp_min(1e-30).sqrt(), torch.zeros_like(squared))
    return (gap * words).sum(dim=1)
