"""Seq2Sick's losses (Eqs. (2.8), (2.11)-(2.12)) and group-lasso prox (Algorithm 6) on hand-made
cases with known answers."""
from __future__ import annotations

import pytest
import torch
from advrobust.data.vocab import PAD
from advrobust.text.losses import MASKED, keyword_loss, non_overlap_loss
from advrobust.text.seq2sick import group_lasso_prox


def logits_of(rows: list[list[list[float]]]) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float64)


def test_non_overlap_loss_is_the_hinge_of_equation_2_8():
    # one sentence, 3 positions, 4 words; original output s = (1, 2, 3) of which 2 positions count
    logits = logits_of([[[0.0, 3.0, 1.0, 0.5], [2.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 9.0]]])
    reference = torch.tensor([[1, 2, 3]])
    counted = torch.tensor([[True, True, False]])
    # t=0: z(1) - max_other = 3 - 1 = 2; t=1: z(2) - max_other = 1 - 2 = -1 -> max(-0, -1) = 0 at margin 0
    assert non_overlap_loss(logits, reference, counted).item() == pytest.approx(2.0)
    assert non_overlap_loss(logits, reference, counted, margin=0.5).item() == pytest.approx(1.5)
    assert non_overlap_loss(logits, reference, torch.ones(1, 3, dtype=torch.bool)).item() == pytest.approx(2.0 + 9.0)


def test_non_overlap_loss_takes_the_second_largest_logit_when_the_true_word_is_top():
    logits = logits_of([[[0.0, 5.0, 4.0, 1.0]]])
    assert non_overlap_loss(logits, torch.tensor([[1]]), torch.tensor([[True]])).item() == pytest.approx(1.0)


def test_keyword_loss_is_the_min_over_positions_of_equation_2_9():
    logits = logits_of([[[3.0, 0.0, 1.0], [1.0, 0.0, 2.5], [0.0, 0.0, 0.5]]])
    keywords, valid = torch.tensor([[2]]), torch.tensor([[True]])
    counted = torch.ones(1, 3, dtype=torch.bool)
    # hinge per t: max_other - z(2) = 3-1 = 2; 1-2.5 = -1.5 -> 0; 0-0.5 -> 0  => min 0 (already top at t=1)
    assert keyword_loss(logits, keywords, valid, counted).item() == pytest.approx(0.0)
    counted_first = torch.tensor([[True, False, False]])
    assert keyword_loss(logits, keywords, valid, counted_first).item() == pytest.approx(2.0)


def test_a_position_held_by_another_keyword_is_closed_to_the_rest():
    # keyword 1 is top at t=0 and t=1 is far; keyword 2's cheapest position is t=0 (held by keyword 1)
    logits = logits_of([[[0.0, 5.0, 4.5, 0.0], [3.0, 0.0, 0.0, 0.0]]])
    keywords, valid = torch.tensor([[1, 2]]), torch.tensor([[True, True]])
    counted = torch.ones(1, 2, dtype=torch.bool)
    # keyword 1: t=0 hinge max(0, 4.5-5) = 0 (its own top position stays open to it)
    # keyword 2: t=0 is held by keyword 1 -> masked; t=1: 3 - 0 = 3
    assert keyword_loss(logits, keywords, valid, counted).item() == pytest.approx(0.0 + 3.0)
    # a padded keyword slot adds nothing; no open position gives the finite MASKED value
    padded = torch.tensor([[2, PAD]])
    assert keyword_loss(logits, padded, padded != PAD, torch.zeros(1, 2, dtype=torch.bool)).item() == MASKED


def test_keyword_loss_gradient_reaches_only_the_chosen_position():
    logits = logits_of([[[3.0, 0.0, 1.0], [2.0, 0.0, 1.5]]]).requires_grad_(True)
    keyword_loss(logits, torch.tensor([[2]]), torch.tensor([[True]]), torch.ones(1, 2, dtype=torch.bool)).backward()
    expected = torch.zeros_like(logits)
    expected[0, 1, 0], expected[0, 1, 2] = 1.0, -1.0  # t=1 is the minimum: 2 - 1.5 = 0.5
    assert torch.equal(logits.grad, expected)


def test_group_lasso_prox_is_the_closed_form_and_minimises_its_objective():
    generator = torch.Generator().manual_seed(0)
    delta = torch.randn(2, 5, 4, generator=generator, dtype=torch.float64)
    delta[0, 1] *= 0.01  # a word whose δ is below the threshold
    threshold = 0.8
    prox = group_lasso_prox(delta, threshold)
    norms = delta.norm(dim=-1, keepdim=True)
    torch.testing.assert_close(prox, delta * (1 - threshold / norms).clamp_min(0))
    assert torch.equal(prox[0, 1], torch.zeros(4, dtype=torch.float64))

    def objective(z: torch.Tensor) -> torch.Tensor:
        return 0.5 * (z - delta).pow(2).sum() + threshold * z.norm(dim=-1).sum()

    best = objective(prox)
    for _ in range(200):  # no nearby point does better
        nudged = prox + 1e-3 * torch.randn(prox.shape, generator=generator, dtype=torch.float64)
        assert objective(nudged) >= best
