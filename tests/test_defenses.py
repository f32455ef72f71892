"""The defense engine (thesis §5.2 frame) and its defenses: PGD-AT, TRADES, CAT (Algorithm 8)."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from advrobust.attacks import PGD
from advrobust.defenses import (
    CAT,
    PGDAT,
    TRADES,
    Natural,
    VicinalBatch,
    adp_adv,
    adv_ls,
    create_defense,
    generalized_cross_entropy,
    next_eps,
    one_hot,
)
from advrobust.errors import ConfigError
from advrobust.robustness.accuracy import robust_accuracy
from advrobust.training import TrainConfig, load_checkpoint, train
from torch import nn

from _attack_fixtures import binary_linear, tiny_cnn

CPU = torch.device("cpu")


def _images(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 28, 28, generator=g), torch.randint(0, 10, (n,), generator=g)


# ---- Eq. (5.4) -------------------------------------------------------------------------------


def test_generalized_cross_entropy_with_identity_maps_is_the_cross_entropy():
    logits = torch.randn(6, 10, generator=torch.Generator().manual_seed(0))
    y = torch.arange(6)
    loss = generalized_cross_entropy(F.log_softmax(logits, 1), one_hot(y, 10))
    torch.testing.assert_close(loss, F.cross_entropy(logits, y, reduction="none"))


def test_natural_defense_is_plain_cross_entropy():
    model, (x, y) = tiny_cnn(), _images(8)
    loss, logits, state = Natural().batch_loss(model, x, y, {})
    torch.testing.assert_close(loss, F.cross_entropy(model(x), y))
    assert state == {}


# ---- invariants of the vicinal samples -----------------------------------------------------------


@pytest.mark.parametrize(
    "defense, radius",
    [
        (PGDAT(eps=0.1, alpha=0.03, steps=3), 0.1),
        (TRADES(eps=0.1, alpha=0.03, steps=3), 0.1),
        (CAT(eta=0.05, eps_max=0.1, c=1.0, alpha=0.03, steps=3), 0.15),  # eps_i + eta <= eps_max + eta
        (adv_ls(eps_max=0.1, c=1.0, alpha=0.03, steps=3), 0.1),
    ],
)
def test_vicinal_samples_stay_in_the_ball_and_bounds_and_leave_x_alone(defense, radius):
    model, (x, y) = tiny_cnn(), _images(16)
    before = x.clone()
    state = {k: v.fill_(0.1) for k, v in defense.initial_state(16, CPU).items()}
    batch = defense.vicinal(model, x, y, state)
    assert torch.equal(x, before)
    assert batch.x.min() >= 0 and batch.x.max() <= 1
    assert (batch.x - x).abs().max() <= radius + 1e-6
    torch.testing.assert_close(batch.y.sum(1), torch.ones(16))
    assert model.training  # the inner attack ran in eval mode and restored the mode


def test_pgd_at_vicinal_sample_is_the_worst_case_on_a_linear_model():
    case = binary_linear([0.05, 0.2, 0.05, 0.2])
    eps = 0.03
    x_tilde = PGDAT(eps=eps, alpha=eps, steps=2).vicinal(case.model, case.x, case.y, {}).x
    # the L∞-optimal move against a linear model: eps * sign(w) toward the other class
    w = case.model.weight[1] - case.model.weight[0]
    towards = torch.where(case.y == 1, -1.0, 1.0)[:, None] * w.sign()
    torch.testing.assert_close(x_tilde, case.x + eps * towards, atol=1e-6, rtol=0)


# ---- TRADES ---------------------------------------------------------------------------------------


def test_trades_loss_equals_its_definition_on_a_fixed_batch():
    """Zhang et al. (2019), Eq. (5), as their reference code computes it (KL averaged over the batch)."""
    model, (x, y) = tiny_cnn(), _images(12)
    x_tilde = (x + 0.05 * torch.randn_like(x)).clamp(0, 1)
    beta = 6.0
    losses, logits = TRADES(beta=beta).per_example_loss(
        model, x, y, VicinalBatch(x=x_tilde, y=one_hot(y, 10))
    )
    reference = F.cross_entropy(model(x), y) + beta * nn.KLDivLoss(reduction="batchmean")(
        F.log_softmax(model(x_tilde), dim=1), F.softmax(model(x), dim=1)
    )
    torch.testing.assert_close(losses.mean(), reference)
    torch.testing.assert_close(logits, model(x_tilde))


def test_trades_inner_maximisation_increases_the_kl():
    model, (x, y) = tiny_cnn(), _images(16)
    defense = TRADES(eps=0.1, alpha=0.03, steps=5)
    torch.manual_seed(0)
    x_tilde = defense.vicinal(model, x, y, {}).x
    with torch.no_grad():
        clean = F.log_softmax(model(x), 1)
        random = (x + 0.1 * torch.sign(torch.randn_like(x))).clamp(0, 1)
        from advrobust.defenses import kl_divergence

        assert kl_divergence(clean, model(x_tilde)).mean() > 3 * kl_divergence(clean, model(random)).mean()


# ---- CAT (Algorithm 8) ----------------------------------------------------------------------------


def test_cat_eps_update_rule_on_hand_made_cases():
    attack_eps = torch.tensor([0.005, 0.010, 0.040, 0.020])
    broken = torch.tensor([True, False, False, True])
    # broken -> reset to 0; held -> keep eps_i + eta; capped at eps_max
    torch.testing.assert_close(next_eps(attack_eps, broken, eps_max=0.031), torch.tensor([0.0, 0.010, 0.031, 0.0]))


def test_cat_grows_eps_where_the_attack_fails_and_resets_it_where_it_succeeds():
    """Linear two-class model with examples at known L∞ distances 0.02 and 0.2 from the boundary."""
    case = binary_linear([0.05, 1.0, 0.05, 1.0])  # L2 distances; L∞ distances are in case.linf
    eta, eps_max = 0.01, 0.05
    defense = CAT(eta=eta, eps_max=eps_max, c=1.0, alpha=0.05, steps=2)
    eps = torch.zeros(4)
    history = []
    for _ in range(8):
        batch = defense.vicinal(case.model, case.x, case.y, {"eps": eps})
        eps = batch.state["eps"]
        history.append(eps.clone())
    history = torch.stack(history)  # (visits, examples)
    for i, distance in enumerate(case.linf.tolist()):
        expected, level = [], 0.0
        for _ in range(8):  # Algorithm 8 by hand: try level + eta; reset if it reaches the boundary
            level = 0.0 if level + eta >= distance else min(eps_max, level + eta)
            expected.append(level)
        torch.testing.assert_close(history[:, i], torch.tensor(expected), atol=1e-6, rtol=0)
    assert (history[:, 1] == eps_max).any() and (history[:, 0] < eps_max).all()


def test_cat_labels_follow_eq_4_4():
    defense = CAT(c=10.0, eps_max=8 / 255)
    y = torch.tensor([0, 3, 7])
    eps = torch.tensor([0.0, 0.01, 8 / 255])
    torch.manual_seed(0)
    labels = defense.labels(y, eps, 10)
    torch.testing.assert_close(labels.sum(1), torch.ones(3))
    torch.testing.assert_close(labels[0], one_hot(y, 10)[0])  # eps = 0: the one-hot label
    true_mass = labels[torch.arange(3), y]
    assert (true_mass >= 1 - 10 * eps - 1e-6).all() and (true_mass <= 1 + 1e-6).all()
    assert labels[2, y[2]] < 0.999  # smoothed
    assert torch.equal(adp_adv().labels(y, eps, 10), one_hot(y, 10))  # ablation: no smoothing


def test_cat_mixed_loss_is_cross_entropy_plus_the_margin_hinge_weighted_by_one_or_eps():
    logits = torch.tensor([[2.0, 0.0, 1.0], [0.0, 30.0, 0.0]])
    y = torch.tensor([0, 1])
    labels = one_hot(y, 3)
    eps = torch.tensor([0.01, 0.03])
    ce = F.cross_entropy(logits, y, reduction="none")
    hinge = torch.tensor([max(1.0 - 2.0, -10.0), max(0.0 - 30.0, -10.0)])
    torch.testing.assert_close(CAT(kappa=10.0, margin_weight="one")._loss(logits, y, labels, eps), ce + hinge)
    torch.testing.assert_close(CAT(kappa=10.0)._loss(logits, y, labels, eps), ce + eps * hinge)


def test_cat_settings_are_checked_and_ablations_are_registered():
    with pytest.raises(ConfigError, match="c \\* eps_max"):
        CAT(c=10.0, eps_max=0.5)
    assert create_defense("adv_ls") == adv_ls() and not adv_ls().adaptive_eps
    assert create_defense("adp_adv").adaptive_eps and not adp_adv().label_smoothing
    assert CAT().key() != adv_ls().key() != adp_adv().key()


def test_per_example_state_survives_checkpoint_and_resume(tmp_path):
    x, y = _images(96, seed=1)
    config = TrainConfig(model="cw_mnist", dataset="mnist", epochs=3, batch_size=32, lr=0.05, seed=0)
    defense = CAT(eta=0.02, eps_max=0.1, c=1.0, alpha=0.05, steps=2)

    straight = tiny_cnn(seed=0)
    history_straight = train(straight, x, y, config, CPU, tmp_path / "straight", defense=defense)
    state_straight = load_checkpoint(tmp_path / "straight" / "last.pt")["defense_state"]["eps"]

    interrupted = tiny_cnn(seed=0)
    train(interrupted, x, y, config, CPU, tmp_path / "resumed", defense=defense, stop_after_epoch=1)
    state_after_one = load_checkpoint(tmp_path / "resumed" / "last.pt")["defense_state"]["eps"]
    assert state_after_one.shape == (96,) and (state_after_one > 0).any()
    resumed = tiny_cnn(seed=7)  # as in a new process; last.pt overwrites these weights
    history_resumed = train(resumed, x, y, config, CPU, tmp_path / "resumed", defense=defense)

    state_resumed = load_checkpoint(tmp_path / "resumed" / "last.pt")["defense_state"]["eps"]
    assert torch.equal(state_resumed, state_straight)
    for a, b in zip(straight.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)
    assert history_resumed["eps_mean"] == history_straight["eps_mean"]
    assert len(history_resumed["eps_mean"]) == 3


def test_a_checkpoint_of_another_defense_is_refused(tmp_path):
    x, y = _images(64)
    config = TrainConfig(model="cw_mnist", dataset="mnist", epochs=1, batch_size=32, seed=0)
    train(tiny_cnn(), x, y, config, CPU, tmp_path, defense=PGDAT(eps=0.1, alpha=0.05, steps=1))
    with pytest.raises(ConfigError, match="different training config"):
        train(tiny_cnn(), x, y, config, CPU, tmp_path, defense=PGDAT(eps=0.2, alpha=0.05, steps=1))


# ---- PGD-AT works on real data ----------------------------------------------------------------------


def test_pgd_at_on_an_mnist_subset_is_far_more_robust_than_natural_training():
    from advrobust.data import load_dataset

    train_data = load_dataset("mnist", "train").subset(3000, seed=0)
    test_data = load_dataset("mnist", "test").subset(300, seed=0)
    config = TrainConfig(model="cw_mnist", dataset="mnist", epochs=3, batch_size=64, optimizer="adam",
                         lr=2e-3, seed=0)
    eps = 0.2
    accuracies = {}
    for defense in (Natural(), PGDAT(eps=eps, alpha=0.05, steps=5)):
        model = tiny_cnn(seed=0)
        train(model, train_data.x, train_data.y, config, CPU, defense=defense, progress=False)
        attack = PGD(model, eps=eps, alpha=eps / 8, steps=20, seed=0)
        accuracies[defense.name] = robust_accuracy(model, test_data.x, test_data.y, {"pgd": attack}).robust_accuracy
    assert accuracies["natural"] < 0.15
    assert accuracies["pgd_at"] > accuracies["natural"] + 0.35, accuracies
