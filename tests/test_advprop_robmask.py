"""Chapter 6's defenses: AdvProp (XTG20) on dual-BN models and RobMask (§6.3, Eq. (6.2),
Algorithm 10) on RobMask models, AdvProp as RobMask with k = 2 and p frozen at 1, and the trainer's
BN-only fine-tuning (Table 6.1). Tiny synthetic data and one-convolution models only."""
from __future__ import annotations

import copy
import math
from dataclasses import replace
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from advrobust.defenses import (
    AdvProp,
    MaskedBatch,
    RobMask,
    draw_strength,
    linf_ascent,
    vicinal_risk_table,
)
from advrobust.errors import ConfigError
from advrobust.norms import (
    DualBatchNorm2d,
    RobMaskNorm2d,
    norm_factory,
    norm_parameters,
)
from advrobust.training import TrainConfig, load_checkpoint, train
from advrobust.training.config import LATE_FIELDS
from torch import Tensor, nn

CPU = torch.device("cpu")
K = 3  # classes
SHAPE = (3, 6, 6)  # input shape
EPS = 8 / 255
# TrainConfig(model="cw_mnist", dataset="mnist").key(), recorded before the field `trainable` existed.
DEFAULT_KEY = "4d7d80af7b71"


def tiny(norm_layer: str, seed: int = 0) -> nn.Sequential:
    """conv -> norm -> ReLU -> global average -> linear; the norm layer is the only one of its kind."""
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Conv2d(SHAPE[0], 4, 3, padding=1), norm_factory(norm_layer)(4), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, K),
    )
    model.num_classes = K
    return model


def data(n: int = 8, seed: int = 0) -> tuple[Tensor, Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(n, *SHAPE, generator=generator), torch.randint(0, K, (n,), generator=generator)


def random_dual(seed: int = 1, same_statistics: bool = False) -> nn.Sequential:
    """A dual-BN model whose main and auxiliary BNs have different random affines and running
    statistics (equal statistics with ``same_statistics``)."""
    model = tiny("dual_bn")
    dual = model[1]
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for bn in (dual, dual.aux_bn):
            bn.weight.copy_(1 + 0.5 * torch.randn(4, generator=generator))
            bn.bias.copy_(0.5 * torch.randn(4, generator=generator))
            bn.running_mean.copy_(0.3 * torch.randn(4, generator=generator))
            bn.running_var.copy_(0.5 + torch.rand(4, generator=generator))
        if same_statistics:
            dual.aux_bn.running_mean.copy_(dual.running_mean)
            dual.aux_bn.running_var.copy_(dual.running_var)
    return model


def plain_copy(dual_model: nn.Sequential, branch: str) -> nn.Sequential:
    """A plain-BN model with ``dual_model``'s weights and the ``branch`` BN's affine and statistics."""
    model = tiny("bn")
    source = dual_model[1] if branch == "main" else dual_model[1].aux_bn
    state = {**{k: v for k, v in dual_model.state_dict().items() if not k.startswith("1.")},
             **{f"1.{k}": v for k, v in source.state_dict().items() if not k.startswith("aux_bn.")}}
    model.load_state_dict(state)
    return model


def robmask_copy(dual_model: nn.Sequential) -> nn.Sequential:
    """A k = 2 RobMask model with ``dual_model``'s weights, W's columns its (main, auxiliary) affine
    and the main BN's running statistics as the shared ones."""
    model = tiny("robmask")
    dual, mask = dual_model[1], model[1]
    with torch.no_grad():
        for index in (0, 5):
            model[index].load_state_dict(dual_model[index].state_dict())
        mask.w_gamma.copy_(torch.stack([dual.weight, dual.aux_bn.weight], 1))
        mask.w_beta.copy_(torch.stack([dual.bias, dual.aux_bn.bias], 1))
        mask.running_mean.copy_(dual.running_mean)
        mask.running_var.copy_(dual.running_var)
    return model


def spy(layer: nn.Module, attribute: str) -> list[tuple[Any, bool]]:
    """(``layer.<attribute>``, training) at every forward of ``layer``."""
    calls: list[tuple[Any, bool]] = []
    layer.register_forward_pre_hook(
        lambda module, _: calls.append((getattr(module, attribute), module.training)))
    return calls


def ce(logits: Tensor, y: Tensor) -> Tensor:
    return F.cross_entropy(logits, y, reduction="none")


# ---- AdvProp ----------------------------------------------------------------------------------------


def test_advprop_attacks_through_the_auxiliary_bn_and_trains_clean_through_the_main_one():
    model, (x, y) = random_dual().train(), data()
    branches = spy(model[1], "branch")
    inputs: list[Tensor] = []
    model.register_forward_pre_hook(lambda _, args: inputs.append(args[0].detach()))
    defense = AdvProp(steps=3)
    batch = defense.vicinal(model, x, y, {})
    assert branches == [("aux", False)] * 3  # the PGD steps, in eval mode
    defense.per_example_loss(model, x, y, batch)
    assert branches[3:] == [("main", True), ("aux", True)]
    assert torch.equal(inputs[3], x) and torch.equal(inputs[4], batch.x)
    assert model[1].branch == "main" and model.training  # the modes come back


def test_advprop_loss_is_half_the_clean_main_plus_adversarial_auxiliary_cross_entropy():
    model, (x, y) = random_dual().train(), data()
    main, aux = plain_copy(model, "main").train(), plain_copy(model, "aux").train()
    defense = AdvProp()
    torch.manual_seed(5)
    batch = defense.vicinal(model, x, y, {})
    torch.manual_seed(5)
    expected_adv = linf_ascent(aux, x, lambda logits: ce(logits, y), eps=EPS, alpha=EPS * 0.2, steps=7)
    assert torch.equal(batch.x, expected_adv)  # PGD-7, step eps/5, random start, through the aux BN
    losses, logits = defense.per_example_loss(model, x, y, batch)
    aux_logits = aux(batch.x)
    clean, adversarial = ce(main(x), y), ce(aux_logits, y)
    torch.testing.assert_close(losses, 0.5 * (clean + adversarial))
    torch.testing.assert_close(losses.mean(), torch.cat([clean, adversarial]).mean())  # the code's 2N mean
    torch.testing.assert_close(logits, aux_logits)
    # each BN's running statistics moved with its own pass only
    for ours, reference in ((model[1], main[1]), (model[1].aux_bn, aux[1])):
        torch.testing.assert_close(ours.running_mean, reference.running_mean)
        torch.testing.assert_close(ours.running_var, reference.running_var)


def test_advprop_with_two_auxiliary_bns_trains_each_radius_through_its_own_bn():
    """Table 6.6's "with 2 auxiliary BNs": PGD at 8/255 through aux, at 4/255 through aux2, the
    loss the mean of the three cross-entropies."""
    model, (x, y) = tiny("dual_bn_aux2").train(), data()
    dual = model[1]
    with torch.no_grad():  # three different BNs
        for j, bn in enumerate((dual, dual.auxiliary(1), dual.auxiliary(2))):
            bn.weight.copy_(torch.linspace(0.5, 1.5, 4) * (j + 1))
            bn.bias.copy_(torch.linspace(-0.2, 0.2, 4) * (j - 1))
    branches = spy(dual, "branch")
    defense = AdvProp(steps=2, extra_eps=(4 / 255,))
    torch.manual_seed(3)
    batch = defense.vicinal(model, x, y, {})
    assert branches == [("aux", False)] * 2 + [("aux2", False)] * 2
    assert len(batch.extra) == 1 and (batch.extra[0] - x).abs().max() <= 4 / 255 + 1e-7
    assert (batch.x - x).abs().max() > 4 / 255  # the first example uses the whole 8/255
    evaluated = []
    for branch in ("main", "aux", "aux2"):
        copy_of = copy.deepcopy(model).train()
        copy_of[1].branch = branch
        evaluated.append(copy_of)
    losses, logits = defense.per_example_loss(model, x, y, batch)
    assert branches[4:] == [("main", True), ("aux", True), ("aux2", True)]
    expected = (ce(evaluated[0](x), y) + ce(evaluated[1](batch.x), y) + ce(evaluated[2](batch.extra[0]), y)) / 3
    torch.testing.assert_close(losses, expected)
    torch.testing.assert_close(logits, evaluated[1](batch.x))
    assert "PGD_4/255(x) (aux2 BN)" in defense.vicinal_form().x
    with pytest.raises(ConfigError, match="dual_bn_aux2") as error:  # one auxiliary BN is not enough
        defense.vicinal(tiny("dual_bn"), x, y, {})
    assert "\n" not in str(error.value)


def test_advprop_random_strength_draws_eps_per_example_within_the_ball():
    model, (x, y) = random_dual().train(), data()
    torch.manual_seed(2)
    batch = AdvProp(strength_draw="example", steps=2).vicinal(model, x, y, {})
    torch.manual_seed(2)
    p = draw_strength("example", len(x), CPU)
    delta = (batch.x - x).abs().amax(dim=(1, 2, 3))
    assert bool((delta <= p * EPS + 1e-6).all()) and delta.std() > 0


# ---- RobMask -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("draw", ["example", "batch", "fixed"])
def test_robmask_attacks_each_example_through_its_own_mask_within_its_own_radius(draw):
    model, (x, y) = tiny("robmask").train(), data()
    strengths = spy(model[1], "strength")
    torch.manual_seed(0)
    batch = RobMask(steps=3, strength_draw=draw, fixed_strength=0.5).vicinal(model, x, y, {})
    p = batch.strength
    assert isinstance(batch, MaskedBatch)
    assert len(strengths) == 3 and all(s is p and not training for s, training in strengths)
    if draw == "example":
        assert isinstance(p, Tensor) and p.shape == (len(x),) and len(set(p.tolist())) == len(x)
    else:
        assert p == 0.5 if draw == "fixed" else (isinstance(p, Tensor) and p.dim() == 0)
    assert bool(((torch.as_tensor(p) >= 0) & (torch.as_tensor(p) <= 1)).all())
    radius = torch.as_tensor(p * EPS).expand(len(x))
    delta = batch.x - x
    assert bool((delta.abs() <= radius[:, None, None, None] + 1e-6).all())
    assert batch.x.min() >= 0 and batch.x.max() <= 1
    torch.testing.assert_close(delta.abs().amax(dim=(1, 2, 3)), radius, atol=1e-6, rtol=0)  # reached
    assert model[1].strength == 0.0
    losses, _ = RobMask().per_example_loss(model, x, y, batch)
    assert losses.shape == (len(x),) and bool(losses.isfinite().all())


def test_robmask_with_k_2_and_p_frozen_at_1_is_advprop():
    """The thesis: "AdvProp can be considered as one special case of RobMask when we set the linear
    layer rank k to 2 and freeze p = 1". With W's columns equal to the dual BN's main and auxiliary
    affine, the same seed gives the same attack, loss and gradients. The attack runs in eval mode,
    so it uses running statistics: AdvProp's auxiliary ones and RobMask's shared ones, set equal
    here. The two training passes normalise with their own batch statistics in both designs; only
    the running statistics then move differently (AdvProp: each BN from its own pass; RobMask: the
    shared set from both passes), which the loss of this batch does not see."""
    dual_model, (x, y) = random_dual(same_statistics=True).train(), data()
    mask_model = robmask_copy(dual_model).train()
    advprop, robmask = AdvProp(), RobMask(strength_draw="fixed", fixed_strength=1.0)
    results = []
    for defense, model in ((advprop, dual_model), (robmask, mask_model)):
        torch.manual_seed(7)
        batch = defense.vicinal(model, x, y, {})
        losses, logits = defense.per_example_loss(model, x, y, batch)
        losses.mean().backward()
        results.append((batch.x, losses, logits))
    for ours, theirs in zip(*results, strict=True):
        assert torch.equal(ours, theirs)
    dual, mask = dual_model[1], mask_model[1]
    assert torch.equal(mask.w_gamma.grad, torch.stack([dual.weight.grad, dual.aux_bn.weight.grad], 1))
    assert torch.equal(mask.w_beta.grad, torch.stack([dual.bias.grad, dual.aux_bn.bias.grad], 1))
    for index in (0, 5):
        for ours, theirs in zip(mask_model[index].parameters(), dual_model[index].parameters(), strict=True):
            assert torch.equal(ours.grad, theirs.grad)
    assert not torch.allclose(mask.running_mean, dual.running_mean)  # shared vs separate statistics


@pytest.mark.parametrize("literal", [False, True])
def test_robmask_trains_clean_and_perturbed_passes_or_only_the_perturbed_one_when_literal(literal):
    model, (x, y) = tiny("robmask").train(), data()
    defense = RobMask(steps=2, literal_algorithm_10=literal)
    torch.manual_seed(1)
    batch = defense.vicinal(model, x, y, {})
    strengths = spy(model[1], "strength")
    losses, logits = defense.per_example_loss(model, x, y, batch)
    assert isinstance(batch, MaskedBatch)
    p = batch.strength
    reference = tiny("robmask").train()  # the same weights; train mode normalises with batch statistics
    reference.load_state_dict(model.state_dict())
    reference[1].strength = p
    perturbed = ce(reference(batch.x), y)
    assert strengths[-1][0] is p and all(training for _, training in strengths)
    if literal:
        assert len(strengths) == 1
        torch.testing.assert_close(losses, perturbed)
    else:
        assert len(strengths) == 2 and strengths[0][0] == 0.0  # the clean pass first, through u_0
        reference[1].strength = 0.0
        torch.testing.assert_close(losses, 0.5 * (ce(reference(x), y) + perturbed))
    assert logits.shape == (len(x), K)


def test_robmask_resumes_bit_identically_after_stopping(tmp_path):
    x, y = data(32)
    config = TrainConfig(model="cw_mnist", dataset="synthetic", epochs=2, batch_size=16, lr=0.05,
                         weight_decay=5e-4)
    defense = RobMask(steps=2)
    interrupted = tiny("robmask")
    train(interrupted, x, y, config, CPU, tmp_path / "a", defense=defense, progress=False, stop_after_epoch=1)
    assert load_checkpoint(tmp_path / "a" / "last.pt")["epoch"] == 1
    train(interrupted, x, y, config, CPU, tmp_path / "a", defense=defense, progress=False)
    straight = tiny("robmask")
    train(straight, x, y, config, CPU, tmp_path / "b", defense=defense, progress=False)
    expected = straight.state_dict()
    for name, ours in interrupted.state_dict().items():
        assert torch.equal(ours, expected[name]), name
    assert not torch.equal(straight[1].w_gamma[:, 0], straight[1].w_gamma[:, 1])  # both columns trained


# ---- BN-only fine-tuning -------------------------------------------------------------------------------


@pytest.mark.parametrize("norm_layer, optimizer", [("bn", "sgd"), ("robmask", "adam")])
def test_norm_only_training_moves_only_the_norm_parameters(tmp_path, norm_layer, optimizer):
    model, (x, y) = tiny(norm_layer), data(32)
    before = {name: value.clone() for name, value in model.state_dict().items()}
    norm = {id(p) for p in norm_parameters(model)}
    config = TrainConfig(model="cw_mnist", dataset="synthetic", epochs=1, batch_size=16, lr=0.1,
                         optimizer=optimizer, weight_decay=5e-4, trainable="norm")
    defense = RobMask(steps=1) if norm_layer == "robmask" else None
    train(model, x, y, config, CPU, tmp_path, defense=defense, progress=False)
    for name, parameter in model.named_parameters():
        assert torch.equal(parameter, before[name]) != (id(parameter) in norm), name
        assert parameter.requires_grad, name  # gradients switched back on after training
    assert not torch.equal(model[1].running_mean, before["1.running_mean"])  # statistics keep updating
    trained = load_checkpoint(tmp_path / "last.pt")["steppers"][0]["optimizer"]["param_groups"][0]["params"]
    assert len(trained) == len(norm) == 2


def test_trainable_enters_the_key_only_when_it_is_not_the_default():
    default = TrainConfig(model="cw_mnist", dataset="mnist")
    assert default.key() == DEFAULT_KEY and "trainable" in LATE_FIELDS
    assert "trainable" not in default.to_dict()
    norm_only = TrainConfig(model="cw_mnist", dataset="mnist", trainable="norm")
    assert norm_only.to_dict()["trainable"] == "norm" and norm_only.key() != DEFAULT_KEY


def test_norm_only_training_of_a_model_without_norm_layers_is_a_config_error():
    model = nn.Sequential(nn.Flatten(), nn.Linear(math.prod(SHAPE), K))
    x, y = data(16)
    config = TrainConfig(model="cw_mnist", dataset="synthetic", epochs=1, batch_size=16, trainable="norm")
    with pytest.raises(ConfigError, match="no norm layer") as error:
        train(model, x, y, config, CPU, progress=False)
    assert "\n" not in str(error.value)


# ---- settings and Table 5.1 ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "factory, settings, message",
    [
        (AdvProp, dict(eps=0.0), "eps"),
        (AdvProp, dict(steps=0), "steps"),
        (AdvProp, dict(step_fraction=0.0), "step_fraction"),
        (AdvProp, dict(strength_draw="uniform"), "strength_draw"),
        (AdvProp, dict(extra_eps=(0.0,)), "extra_eps"),
        (RobMask, dict(eps_max=-1.0), "eps"),
        (RobMask, dict(strength_draw="epoch"), "strength_draw"),
        (RobMask, dict(fixed_strength=1.5), "fixed_strength"),
        (TrainConfig, dict(model="cw_mnist", dataset="mnist", trainable="bn"), "trainable"),
    ],
)
def test_bad_settings_raise_one_line_config_errors(factory, settings, message):
    with pytest.raises(ConfigError, match=message) as error:
        factory(**settings)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("defense, norm_layer", [(AdvProp(), "robmask"), (RobMask(), "dual_bn")])
def test_a_defense_on_a_model_without_its_norm_layers_is_a_config_error(defense, norm_layer):
    x, y = data()
    with pytest.raises(ConfigError, match="norm_layer=") as error:
        defense.vicinal(tiny(norm_layer), x, y, {})
    assert "\n" not in str(error.value)


def test_vicinal_risk_table_lists_advprop_and_robmask():
    table = vicinal_risk_table()
    advprop, robmask = table.loc["advprop"], table.loc["robmask"]
    assert advprop["method"] == "AdvProp (XTG20)" and advprop["attack-specific"]
    assert advprop["x̃"] == "x (main BN) and PGD_ε(x) (auxiliary BN)"
    assert robmask["method"] == "RobMask (ours)" and robmask["attack-specific"]
    assert robmask["x̃"] == "x (mask u_0) and PGD_pε_max(x), p ~ U[0, 1] (mask u_p)"
    assert RobMask(literal_algorithm_10=True).vicinal_form().x == "PGD_pε_max(x), p ~ U[0, 1] (mask u_p)"
    assert "U[0, 1]" in AdvProp(strength_draw="batch").vicinal_form().x
    assert isinstance(tiny("dual_bn")[1], DualBatchNorm2d) and isinstance(tiny("robmask")[1], RobMaskNorm2d)


def test_a_config_builds_its_model_with_its_norm_layer_and_names_it_in_the_key():
    plain = TrainConfig(model="small_vgg_cifar", dataset="cifar10")
    dual = replace(plain, norm_layer="dual_bn")
    assert "norm_layer" not in plain.to_dict() and dual.to_dict()["norm_layer"] == "dual_bn"
    assert dual.key() != plain.key()
    assert any(isinstance(m, DualBatchNorm2d) for m in dual.build_model().modules())
    assert not any(isinstance(m, DualBatchNorm2d) for m in plain.build_model().modules())
    with pytest.raises(ConfigError, match="unknown norm_layer 'group'"):
        replace(plain, norm_layer="group")


def test_a_config_sizes_its_model_by_its_dataset():
    hundred = TrainConfig(model="resnet18_cifar", dataset="cifar100", norm_layer="robmask")
    assert hundred.build_model().num_classes == 100 and hundred.build_model()(torch.rand(2, 3, 32, 32)).shape == (2, 100)
    assert TrainConfig(model="small_vgg_cifar", dataset="cifar10").build_model().num_classes == 10
    assert TrainConfig(model="cw_mnist", dataset="mnist").build_model().num_classes == 10
