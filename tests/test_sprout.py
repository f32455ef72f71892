"""SPROUT (thesis §5.3, Algorithm 9) and its ablations, Free AT (SNG19), the trainer's replays and
learned-parameter hooks, and Table 5.1 generated from the defenses."""
from __future__ import annotations

import math
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from advrobust.defenses import (
    ABLATIONS,
    SPROUT,
    FreeAT,
    Natural,
    SignAscent,
    create_defense,
    dirichlet_ls,
    gaussian_augmentation,
    ls_ga,
    mixup_training,
    one_hot,
    uniform_ls,
    vicinal_risk_table,
)
from advrobust.errors import ConfigError
from advrobust.registry import available
from advrobust.training import TrainConfig, load_checkpoint, train
from torch import Tensor, nn

CPU = torch.device("cpu")
K = 5  # classes of the small models
SHAPE = (3, 4, 4)  # input shape of the small models


def _model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Flatten(), nn.Linear(math.prod(SHAPE), K))
    model.num_classes = K
    return model


def _data(n: int, seed: int = 0) -> tuple[Tensor, Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(n, *SHAPE, generator=generator), torch.randint(0, K, (n,), generator=generator)


def _config(**overrides: Any) -> TrainConfig:
    fields: dict[str, Any] = dict(model="cw_mnist", dataset="synthetic", epochs=2, batch_size=16,
                                  optimizer="sgd", momentum=0.9, lr=0.05, seed=0)
    return TrainConfig(**{**fields, **overrides})


def _reference_draws(x: Tensor, seed: int, mixup_a: float = 0.2) -> tuple[Tensor, Tensor, Tensor]:
    """The batch's draws in SPROUT's documented order after ``torch.manual_seed(seed)``: the unit
    noise, λ ~ Beta(a, a) and the partner permutation. The global generator is left where the
    Dirichlet sample is drawn next."""
    torch.manual_seed(seed)
    noise = torch.randn_like(x)
    shape = torch.tensor(mixup_a)
    lam = torch.distributions.Beta(shape, shape).sample()
    return noise, lam, torch.randperm(len(x))


def _vicinal(defense: SPROUT, x: Tensor, y: Tensor, beta: Tensor, seed: int) -> tuple[Tensor, Tensor]:
    model = _model()
    torch.manual_seed(seed)
    batch = defense.vicinal(model, x, y, {"beta": beta})
    return batch.x, batch.y


# ---- the Dirichlet labels (Eqs. (5.6), (5.7)) and the β gradient -----------------------------------


@pytest.mark.parametrize("rule, alpha", [("eq_5_6", 0.3), ("algorithm_9", 0.3), ("official_code", 0.01)])
def test_beta_gradient_of_one_backward_estimates_the_gradient_of_the_expected_loss(rule, alpha):
    """Algorithm 9's g_β: the reparameterised gradient of the batch loss is unbiased for ∇_β E_z[L].

    The loss (5.4) is linear in the label z, so E_z[L] is the loss at E[z] = c / sum(c) (Eq. (5.7))
    and its central differences need no sampling. The average of R one-backward gradients must meet
    them within 5 standard errors (measured from the R samples), plus 1e-5 for float32 rounding and
    the O(h²) difference error; a tolerance below a quarter of the gradient's norm keeps it a test.
    """
    model, (x, y) = _model(), _data(32)
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    defense = SPROUT(gaussian=False, mixup=False, label_rule=rule, alpha=alpha)
    beta = torch.linspace(0.5, 2.0, K).requires_grad_()
    torch.manual_seed(0)
    samples = []
    for _ in range(200):
        beta.grad = None
        loss, _, _ = defense.batch_loss(model, x, y, {"beta": beta})
        loss.backward()
        samples.append(beta.grad.clone())
    gradients = torch.stack(samples).double()
    mean, standard_error = gradients.mean(0), gradients.std(0) / math.sqrt(len(gradients))

    log_p = F.log_softmax(model(x).double(), dim=1)

    def expected_loss(b: Tensor) -> Tensor:
        c = defense.concentration(one_hot(y, K).double(), b)
        return -(c / c.sum(1, keepdim=True) * log_p).sum(1).mean()

    h, base = 1e-4, beta.detach().double()
    steps = h * torch.eye(K, dtype=torch.float64)
    differences = torch.stack([(expected_loss(base + e) - expected_loss(base - e)) / (2 * h) for e in steps])
    tolerance = 5 * standard_error + 1e-5
    assert ((mean - differences).abs() <= tolerance).all(), (mean, differences, tolerance)
    assert tolerance.norm() < 0.25 * differences.norm()


@pytest.mark.parametrize("rule", ["eq_5_6", "algorithm_9", "official_code"])
def test_dirichlet_labels_are_distributions_with_the_mean_of_eq_5_7(rule):
    """Each label row lies on the simplex and, per class, averages c / sum(c); the tolerance is 5
    standard errors from the Dirichlet variance of Eq. (5.7), β_s(β0 - β_s) / (β0²(β0 + 1))."""
    defense = SPROUT(gaussian=False, mixup=False, label_rule=rule)
    per_class = 4000
    y = torch.arange(K).repeat(per_class)
    x = torch.zeros(len(y), *SHAPE)
    beta = torch.linspace(0.5, 1.5, K)
    _, labels = _vicinal(defense, x, y, beta, seed=0)
    assert (labels >= 0).all()
    torch.testing.assert_close(labels.sum(1), torch.ones(len(y)))
    concentration = defense.concentration(one_hot(torch.arange(K), K), beta)  # row k: label k
    total = concentration.sum(1, keepdim=True)
    mean = concentration / total
    variance = concentration * (total - concentration) / (total**2 * (total + 1))
    for k in range(K):
        observed = labels[y == k].mean(0)
        assert ((observed - mean[k]).abs() <= 5 * (variance[k] / per_class).sqrt() + 1e-6).all(), (k, observed, mean[k])


def test_the_label_rules_weigh_the_label_and_beta_as_written():
    labels, beta = one_hot(torch.tensor([1]), K), torch.linspace(0.5, 1.5, K)
    for rule, expected in [
        ("eq_5_6", 0.9 * labels + 0.1 * beta),
        ("algorithm_9", 0.1 * labels + 0.9 * beta),
        ("official_code", 10 * labels + beta),
    ]:
        torch.testing.assert_close(SPROUT(label_rule=rule, alpha=0.1).concentration(labels, beta), expected)


def test_the_concentration_floor_keeps_a_negative_beta_valid():
    defense = SPROUT(gaussian=False, mixup=False)
    beta = torch.tensor([-1.0, 0.5, -2.0, 1.0, 0.0])
    x, y = _data(64)
    assert (defense.concentration(one_hot(y, K), beta) >= defense.concentration_floor).all()
    _, labels = _vicinal(defense, x, y, beta, seed=0)
    assert torch.isfinite(labels).all() and (labels >= 0).all()
    torch.testing.assert_close(labels.sum(1), torch.ones(64))


# ---- mixup and the ablation switches ----------------------------------------------------------------


def test_mixup_mixes_inputs_and_labels_with_the_same_lambda_and_partner():
    x, y = _data(16)
    defense = SPROUT(gaussian=False, smoothing="none")
    x_tilde, y_tilde = _vicinal(defense, x, y, torch.ones(K), seed=3)
    _, lam, partner = _reference_draws(x, seed=3)
    assert 0 < lam < 1 and not torch.equal(partner, torch.arange(16))
    torch.testing.assert_close(x_tilde, (1 - lam) * x + lam * x[partner])
    hard = one_hot(y, K)
    torch.testing.assert_close(y_tilde, (1 - lam) * hard + lam * hard[partner])


def test_each_switch_removes_exactly_its_module():
    """Same seed, one switch off at a time: only that module's effect disappears."""
    x, y = _data(16)
    beta = torch.linspace(0.5, 1.5, K)
    seed, full = 5, SPROUT(gaussian_std=0.1, alpha=0.3)
    noise, lam, partner = _reference_draws(x, seed)
    noise = 0.1 * noise
    mixed_hard = (1 - lam) * one_hot(y, K) + lam * one_hot(y, K)[partner]
    reference_labels = torch.distributions.Dirichlet(full.concentration(mixed_hard, beta)).rsample()

    x_full, y_full = _vicinal(full, x, y, beta, seed)
    torch.testing.assert_close(x_full, (1 - lam) * (x + noise) + lam * (x + noise)[partner])
    assert torch.equal(y_full, reference_labels)

    x_no_ga, y_no_ga = _vicinal(SPROUT(gaussian=False, alpha=0.3), x, y, beta, seed)
    torch.testing.assert_close(x_full - x_no_ga, (1 - lam) * noise + lam * noise[partner])
    assert torch.equal(y_no_ga, y_full)

    x_no_mix, y_no_mix = _vicinal(SPROUT(mixup=False, alpha=0.3), x, y, beta, seed)
    _reference_draws(x, seed)
    unmixed_labels = torch.distributions.Dirichlet(full.concentration(one_hot(y, K), beta)).rsample()
    assert torch.equal(x_no_mix, x + noise) and torch.equal(y_no_mix, unmixed_labels)

    x_none, y_none = _vicinal(SPROUT(smoothing="none", alpha=0.3), x, y, beta, seed)
    assert torch.equal(x_none, x_full) and torch.equal(y_none, mixed_hard)

    x_uniform, y_uniform = _vicinal(SPROUT(smoothing="uniform", uniform_alpha=0.2), x, y, beta, seed)
    assert torch.equal(x_uniform, x_full)
    torch.testing.assert_close(y_uniform, 0.8 * mixed_hard + 0.2 / K)


def test_ablations_and_baselines_are_settings_of_sprout():
    assert set(ABLATIONS) == {"GA", "Mixup", "Dirichlet", "LS", "GA+Mixup", "GA+Dirichlet", "Mixup+Dirichlet",
                              "SPROUT", "LS+GA", "LS+Mixup", "LS+GA+Mixup"}
    assert all(variant.vicinal_form().method == name for name, variant in ABLATIONS.items())
    assert ABLATIONS["SPROUT"] == SPROUT() == create_defense("sprout")
    assert gaussian_augmentation() == ABLATIONS["GA"] == create_defense("gaussian_augmentation")
    assert mixup_training() == ABLATIONS["Mixup"] == create_defense("mixup")
    assert dirichlet_ls() == ABLATIONS["Dirichlet"] == create_defense("dirichlet_ls")
    assert uniform_ls() == ABLATIONS["LS"] == create_defense("uniform_ls")
    assert ls_ga() == ABLATIONS["LS+GA"] == create_defense("ls_ga")
    assert len({variant.key() for variant in ABLATIONS.values()}) == len(ABLATIONS)
    # β exists only with Dirichlet smoothing
    assert set(SPROUT().learned_parameters(_model(), CPU, (16, *SHAPE))) == {"beta"}
    assert uniform_ls().learned_parameters(_model(), CPU, (16, *SHAPE)) == {}


# ---- training: β and δ progress and resume exactly ------------------------------------------------


def _identical(a: Any, b: Any) -> bool:
    """Nested checkpoint entries equal to the bit: tensors by ``torch.equal``, the rest by ``==``."""
    if isinstance(a, Tensor):
        return isinstance(b, Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_identical(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_identical, a, b))
    return a == b


@pytest.mark.parametrize("defense, learned", [(SPROUT(beta_lr=0.5), "beta"), (FreeAT(eps=0.1, replays=2), "delta")])
def test_learned_parameters_and_their_optimiser_resume_bit_identically(tmp_path, defense, learned):
    x, y = _data(64, seed=1)
    config = _config(schedule="cosine")
    straight = _model()
    history_straight = train(straight, x, y, config, CPU, tmp_path / "straight", defense=defense)
    interrupted = _model()
    train(interrupted, x, y, config, CPU, tmp_path / "resumed", defense=defense, stop_after_epoch=1)
    halfway = load_checkpoint(tmp_path / "resumed" / "last.pt")["defense_parameters"][learned]
    resumed = _model(seed=7)  # as in a new process; last.pt overwrites these weights
    history_resumed = train(resumed, x, y, config, CPU, tmp_path / "resumed", defense=defense)

    final = {name: load_checkpoint(tmp_path / name / "last.pt") for name in ("straight", "resumed")}
    for a, b in zip(straight.state_dict().values(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    for entry in ("defense_parameters", "steppers"):
        assert _identical(final["straight"][entry], final["resumed"][entry]), entry
    assert len(final["straight"]["steppers"]) == 2  # the model's and the learned parameter's
    assert not torch.equal(halfway, final["straight"]["defense_parameters"][learned])  # it moved
    assert history_resumed == {**history_straight, "seconds": history_resumed["seconds"]}


def test_sprout_history_shows_beta_progressing():
    x, y = _data(64, seed=2)
    history = train(_model(), x, y, _config(epochs=2), CPU, defense=SPROUT(beta_lr=0.5))
    assert len(history["beta_mean"]) == 2 and history["beta_mean"][0] != history["beta_mean"][1]
    assert all(lo <= mean <= hi for lo, mean, hi in zip(history["beta_min"], history["beta_mean"], history["beta_max"]))


# ---- Free AT and replays ---------------------------------------------------------------------------


def test_sign_ascent_steps_by_the_gradient_sign_and_projects():
    p = torch.tensor([0.0, 0.05, -0.08, 0.02], requires_grad=True)
    p.grad = torch.tensor([1.0, 2.0, -3.0, 0.0])
    SignAscent([p], lr=0.04, radius=0.1).step()
    torch.testing.assert_close(p.detach(), torch.tensor([0.04, 0.09, -0.1, 0.02]))


def test_free_at_keeps_delta_in_the_ball_and_x_tilde_in_bounds(tmp_path):
    x, y = _data(64, seed=3)
    defense = FreeAT(eps=0.1, replays=3)
    train(_model(), x, y, _config(epochs=1), CPU, tmp_path, defense=defense)
    delta = load_checkpoint(tmp_path / "last.pt")["defense_parameters"]["delta"]
    assert delta.shape == (16, *SHAPE)
    # steps of ±ε from 0, projected on [-ε, ε]: every entry is -ε, 0 or ε, and δ has moved
    assert torch.isin(delta, torch.tensor([-0.1, 0.0, 0.1])).all() and (delta != 0).any()
    batch = defense.vicinal(_model(), x[:16], y[:16], {"delta": delta * 10})  # even for a δ beyond ε
    assert batch.x.min() >= 0 and batch.x.max() <= 1


def test_replays_take_m_steps_per_batch_on_the_same_batch_and_the_schedule_ends_at_zero(tmp_path):
    x, y = _data(64, seed=4)
    seen: list[Tensor] = []

    class Recording(FreeAT):
        def vicinal(self, model, xb, yb, state):
            seen.append(xb.clone())
            return super().vicinal(model, xb, yb, state)

    config = _config(epochs=2, optimizer="adam", lr=0.01, schedule="cosine")
    train(_model(), x, y, config, CPU, tmp_path, defense=Recording(eps=0.1, replays=3))
    checkpoint = load_checkpoint(tmp_path / "last.pt")
    model_stepper, delta_stepper = checkpoint["steppers"]
    steps = 2 * 4 * 3  # epochs x batches x replays
    assert len(seen) == steps
    assert all(torch.equal(seen[i], seen[i - i % 3]) for i in range(steps))  # replays see one batch
    assert not torch.equal(seen[0], seen[3])
    assert all(int(s["step"]) == steps for s in model_stepper["optimizer"]["state"].values())
    assert model_stepper["scheduler"]["last_epoch"] == delta_stepper["scheduler"]["last_epoch"] == steps
    assert model_stepper["scheduler"]["_last_lr"] == [pytest.approx(0.0)]  # cosine reached its end


# ---- Table 5.1 ------------------------------------------------------------------------------------


def test_vicinal_risk_table_lists_every_registered_defense():
    table = vicinal_risk_table()
    assert list(table.index) == available("defense")
    assert list(table.columns) == ["method", "g", "h", "x̃", "ỹ", "attack-specific"]
    sprout = table.loc["sprout"]
    assert sprout["method"] == "SPROUT (ours)" and sprout["h"] == "Dirichlet((1−α)y + αβ)"
    assert sprout["x̃"] == "(1−λ)N(x_i, Δ²) + λN(x_j, Δ²)" and sprout["ỹ"] == "(1−λ)y_i + λy_j"
    assert not sprout["attack-specific"] and table.loc["pgd_at", "attack-specific"]
    assert table.loc["natural"].tolist() == ["Natural", "I", "I", "x", "y", False]
    assert table.loc["ls_ga", "method"] == "LS+GA (SGH19)" and table.loc["ls_ga", "h"] == "(1−α)y + αu"
    assert table.loc["free_at", "method"] == "Free adversarial training (SNG19)"
    assert table.loc["trades", "h"] == "(1−α)y + αf(x̃)"
    assert SPROUT(label_rule="algorithm_9").vicinal_form().h == "Dirichlet(αy + (1−α)β)"
    assert SPROUT(label_rule="official_code").vicinal_form().h == "Dirichlet(10y + β)"
    assert Natural().vicinal_form().row()["method"] == "Natural"


# ---- settings ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "factory, settings, message",
    [
        (SPROUT, dict(gaussian_std=-0.1), "gaussian_std"),
        (SPROUT, dict(mixup_a=0.0), "mixup_a"),
        (SPROUT, dict(alpha=1.5), "alpha"),
        (SPROUT, dict(alpha=-0.01), "alpha"),
        (SPROUT, dict(uniform_alpha=2.0), "uniform_alpha"),
        (SPROUT, dict(label_rule="thesis"), "label_rule"),
        (SPROUT, dict(smoothing="gaussian"), "smoothing"),
        (SPROUT, dict(concentration_floor=0.0), "concentration_floor"),
        (SPROUT, dict(beta_lr=0.0), "beta_lr"),
        (FreeAT, dict(replays=0), "replays"),
        (FreeAT, dict(eps=-0.1), "eps"),
    ],
)
def test_bad_settings_raise_one_line_config_errors(factory, settings, message):
    with pytest.raises(ConfigError, match=message) as error:
        factory(**settings)
    assert "\n" not in str(error.value)
