"""Chapter 6's norm layers (advrobust.norms): AdvProp's dual BN, RobMask (Eq. (6.2)), the mode
switch, Table 6.2's interpolation, BN-only fine-tuning, and every CIFAR model with every norm."""
from __future__ import annotations

import contextlib
import copy
import inspect

import pytest
import torch
import torch.nn.functional as F
from advrobust.errors import ConfigError
from advrobust.models import create_model
from advrobust.norms import (
    DualBatchNorm2d,
    RobMaskNorm2d,
    encode_strength,
    freeze_all_but_norm,
    interpolate_branches,
    interpolate_norms,
    norm_factory,
    norm_mode,
    norm_parameters,
    set_norm_mode,
    strength_of,
)
from advrobust.registry import available, lookup
from torch import nn

NORMS = ("bn", "dual_bn", "robmask")
# Every registered CIFAR architecture with a ``norm_layer`` argument (checked below).
CIFAR_NORM_MODELS = (
    "small_vgg_cifar", "small_vgg_cifar_half", "vgg16_cifar", "resnet18_cifar",
    "preact_resnet18_cifar", "densenet121_cifar", "resnext29_cifar",
)
C = 4  # channels of the single-layer tests


def randomised(module: nn.Module, seed: int) -> nn.Module:
    """``module`` with every parameter redrawn, so that main/aux or the two columns differ."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator))
    return module


def plain_bn(weight: torch.Tensor, bias: torch.Tensor) -> nn.BatchNorm2d:
    bn = nn.BatchNorm2d(weight.numel())
    with torch.no_grad():
        bn.weight.copy_(weight)
        bn.bias.copy_(bias)
    return bn


def robmask_from_dual(dual: DualBatchNorm2d) -> RobMaskNorm2d:
    """A k = 2 RobMask layer whose columns are the dual BN's main and auxiliary affine."""
    mask = RobMaskNorm2d(dual.num_features, k=2)
    with torch.no_grad():
        mask.w_gamma.copy_(torch.stack([dual.weight, dual.aux_bn.weight], 1))
        mask.w_beta.copy_(torch.stack([dual.bias, dual.aux_bn.bias], 1))
    return mask


# --- AdvProp's dual BN ---------------------------------------------------------------------------

def test_dual_bn_split_sends_each_half_to_its_own_bn():
    dual = randomised(DualBatchNorm2d(C), 0).train()
    main = plain_bn(dual.weight, dual.bias).train()
    aux = plain_bn(dual.aux_bn.weight, dual.aux_bn.bias).train()
    x = torch.randn(6, C, 5, 5) * 3 + 1
    dual.branch = "split"
    out = dual(x)
    assert torch.equal(out, torch.cat([main(x[:3]), aux(x[3:])]))
    # each BN's running statistics were updated by its own half only
    for ours, reference in ((dual, main), (dual.aux_bn, aux)):
        assert torch.equal(ours.running_mean, reference.running_mean)
        assert torch.equal(ours.running_var, reference.running_var)
        assert int(ours.num_batches_tracked) == 1
    assert not torch.allclose(dual.running_mean, dual.aux_bn.running_mean)


def test_dual_bn_main_and_aux_modes_touch_only_their_bn():
    dual = randomised(DualBatchNorm2d(C), 1).train()
    x = torch.randn(4, C, 3, 3)
    assert dual.branch == "main"  # the default: clean, and the test-time branch
    aux_before = copy.deepcopy(dual.aux_bn.state_dict())
    assert torch.equal(dual(x), plain_bn(dual.weight, dual.bias).train()(x))
    assert all(torch.equal(v, dual.aux_bn.state_dict()[k]) for k, v in aux_before.items())
    dual.branch = "aux"
    main_mean = dual.running_mean.clone()
    assert torch.equal(dual(x), plain_bn(dual.aux_bn.weight, dual.aux_bn.bias).train()(x))
    assert torch.equal(dual.running_mean, main_mean)


def test_dual_bn_keeps_a_plain_bn_state_dict_plus_its_auxiliary():
    keys = set(DualBatchNorm2d(C).state_dict())
    assert set(nn.BatchNorm2d(C).state_dict()) <= keys
    assert {k for k in keys if k.startswith("aux_bn.")} \
        == {f"aux_bn.{k}" for k in nn.BatchNorm2d(C).state_dict()}


def test_a_dual_bn_with_two_auxiliaries_routes_each_branch_to_its_own_bn():
    dual = DualBatchNorm2d(C, auxiliaries=2).train()
    assert {k.split(".")[0] for k in dual.state_dict() if k.startswith("aux")} == {"aux_bn", "aux_bn2"}
    with torch.no_grad():
        dual.auxiliary(2).weight.fill_(3.0)
    x = torch.randn(4, C, 2, 2)
    before = {j: copy.deepcopy(dual.auxiliary(j).state_dict()) for j in (1, 2)}
    dual.branch = "aux2"
    assert torch.equal(dual(x), plain_bn(dual.auxiliary(2).weight, dual.auxiliary(2).bias).train()(x))
    assert all(torch.equal(v, dual.auxiliary(1).state_dict()[k]) for k, v in before[1].items())
    assert not torch.equal(dual.auxiliary(2).running_mean, before[2]["running_mean"])
    assert "aux3" in one_line_config_error(setattr, dual, "branch", "aux3")
    model = create_model("small_vgg_cifar_half", norm_layer="dual_bn_aux2")
    assert all(m.auxiliaries == 2 for m in model.modules() if isinstance(m, DualBatchNorm2d))
    set_norm_mode(model, branch="aux2")
    assert "aux2" in one_line_config_error(set_norm_mode, create_model("small_vgg_cifar_half", norm_layer="dual_bn"),
                                           branch="aux2")


# --- RobMask (Eq. (6.2)) -------------------------------------------------------------------------

def test_encode_strength_is_the_thesis_code_for_k2_and_piecewise_linear_beyond():
    assert torch.equal(encode_strength(0.0, 2), torch.tensor([1.0, 0.0]))  # exact at the knots
    assert torch.equal(encode_strength(1.0, 2), torch.tensor([0.0, 1.0]))
    for p in (0.25, 0.6):
        torch.testing.assert_close(encode_strength(p, 2), torch.tensor([1 - p, p]))
    assert torch.equal(encode_strength(0.0, 3), torch.tensor([1.0, 0.0, 0.0]))
    assert torch.equal(encode_strength(0.5, 3), torch.tensor([0.0, 1.0, 0.0]))
    assert torch.equal(encode_strength(1.0, 3), torch.tensor([0.0, 0.0, 1.0]))
    torch.testing.assert_close(encode_strength(0.25, 3), torch.tensor([0.5, 0.5, 0.0]))
    torch.testing.assert_close(encode_strength(0.9, 5), torch.tensor([0.0, 0.0, 0.0, 0.4, 0.6]))
    per_example = encode_strength(torch.tensor([0.0, 0.3, 1.0]), 4)
    assert per_example.shape == (3, 4)
    torch.testing.assert_close(per_example.sum(1), torch.ones(3))
    assert strength_of(6 / 255, 8 / 255) == pytest.approx(0.75)  # the thesis's footnote example


@pytest.mark.parametrize("training", [True, False])
def test_robmask_k2_is_the_dual_bn_at_the_knots_and_linear_between(training):
    dual = randomised(DualBatchNorm2d(C), 2)
    mask = robmask_from_dual(dual)
    with torch.no_grad():  # the same normalisation statistics for all three BNs
        for bn in (dual, dual.aux_bn, mask):
            bn.running_mean.copy_(torch.linspace(-1, 1, C))
            bn.running_var.copy_(torch.linspace(0.5, 2, C))
    for module in (dual, mask):
        module.train(training)
    x = torch.randn(6, C, 4, 4) * 2 - 0.5
    mask.strength = 0.0
    dual.branch = "main"
    assert torch.equal(mask(x), dual(x))
    mask.strength, dual.branch = 1.0, "aux"
    assert torch.equal(mask(x), dual(x))
    # in between: (γ, β) = (1 − p)(γ, β)_main + p (γ, β)_aux
    p = 0.3
    mask.strength = p
    gamma, beta = mask.rescaling()
    torch.testing.assert_close(gamma, (1 - p) * dual.weight + p * dual.aux_bn.weight)
    torch.testing.assert_close(beta, (1 - p) * dual.bias + p * dual.aux_bn.bias)
    reference = plain_bn(gamma.detach(), beta.detach()).train(training)
    reference.load_state_dict({**reference.state_dict(), "running_mean": mask.running_mean,
                               "running_var": mask.running_var})
    torch.testing.assert_close(mask(x), reference(x))


def test_robmask_per_example_strengths_share_the_batch_statistics():
    mask = randomised(RobMaskNorm2d(C, k=3), 3).train()
    x = torch.randn(5, C, 3, 3)
    strengths = torch.tensor([0.0, 1.0, 0.25, 0.5, 0.8])
    reference = copy.deepcopy(mask)
    mask.strength = strengths
    out = mask(x)
    # row i is the whole-batch forward at strength p_i: one normalisation, per-example (γ, β)
    for i, p in enumerate(strengths.tolist()):
        reference.strength = p
        torch.testing.assert_close(out[i], reference(x)[i])
    # the running statistics are shared: one update per call, as a plain BN
    bn = nn.BatchNorm2d(C, affine=False).train()
    bn(x)
    assert torch.equal(mask.running_mean, bn.running_mean) and torch.equal(mask.running_var, bn.running_var)
    assert int(mask.num_batches_tracked) == 1
    # both ends get gradient: W's columns are learned jointly
    F.relu(mask(x)).sum().backward()
    assert (mask.w_gamma.grad.abs().sum(0) > 0).all() and (mask.w_beta.grad.abs().sum(0) > 0).all()


def test_robmask_starts_as_a_fresh_bn_at_every_strength():
    mask, bn = RobMaskNorm2d(C, k=3), nn.BatchNorm2d(C)
    x = torch.randn(4, C, 3, 3)
    for p in (0.0, 0.4, 1.0):
        mask.strength = p
        torch.testing.assert_close(mask(x), bn(x))


def test_robmask_with_k2_has_advprops_parameter_count():
    for name in ("small_vgg_cifar", "resnet18_cifar"):
        counts = {norm: sum(p.numel() for p in create_model(name, norm_layer=norm).parameters())
                  for norm in NORMS}
        assert counts["robmask"] == counts["dual_bn"] > counts["bn"]


def test_robmask_k_is_chosen_by_name():
    model = create_model("small_vgg_cifar_half", norm_layer="robmask_k3")
    masks = [m for m in model.modules() if isinstance(m, RobMaskNorm2d)]
    assert len(masks) == 4 and all(m.k == 3 and m.w_gamma.shape == (m.num_features, 3) for m in masks)
    assert all(m.k == 2 for m in create_model("small_vgg_cifar_half", norm_layer="robmask").modules()
               if isinstance(m, RobMaskNorm2d))


def test_a_norm_factory_may_be_passed_instead_of_a_name():
    def group_norm(channels: int) -> nn.Module:
        return nn.GroupNorm(4, channels)

    assert norm_factory(group_norm) is group_norm
    model = create_model("small_vgg_cifar_half", norm_layer=group_norm)
    assert sum(isinstance(m, nn.GroupNorm) for m in model.modules()) == 4
    assert len(norm_parameters(model)) == 8


def test_robmask_model_state_dict_round_trips_with_weights_only(tmp_path):
    torch.manual_seed(0)
    model = create_model("small_vgg_cifar_half", norm_layer="robmask")
    randomised(model, 4)
    with norm_mode(model, strength=0.5):
        model.train()(torch.rand(8, 3, 32, 32))  # move the running statistics off their start
    path = tmp_path / "robmask.pt"
    torch.save(model.state_dict(), path)
    again = create_model("small_vgg_cifar_half", norm_layer="robmask")
    again.load_state_dict(torch.load(path, weights_only=True))
    model.eval(), again.eval()
    x = torch.rand(3, 3, 32, 32)
    for strength in (0.0, 0.7, 1.0, torch.tensor([0.0, 0.5, 1.0])):
        with norm_mode(model, strength=strength), norm_mode(again, strength=strength):
            assert torch.equal(model(x), again(x))


# --- one switch for every layer ------------------------------------------------------------------

def test_norm_mode_sets_every_layer_and_restores_each_previous_state():
    dual_model = create_model("small_vgg_cifar_half", norm_layer="dual_bn")
    duals = [m for m in dual_model.modules() if isinstance(m, DualBatchNorm2d)]
    assert len(duals) == 4 and all(d.branch == "main" for d in duals)
    duals[0].branch = "aux"  # a mixed state comes back as it was
    with norm_mode(dual_model, branch="split"):
        assert all(d.branch == "split" for d in duals)
    assert [d.branch for d in duals] == ["aux", "main", "main", "main"]
    mask_model = create_model("small_vgg_cifar_half", norm_layer="robmask")
    masks = [m for m in mask_model.modules() if isinstance(m, RobMaskNorm2d)]
    assert all(m.strength == 0.0 for m in masks)
    with pytest.raises(RuntimeError), norm_mode(mask_model, strength=0.25):
        assert all(m.strength == 0.25 for m in masks)
        raise RuntimeError("restored even on an error")
    assert all(m.strength == 0.0 for m in masks)
    set_norm_mode(mask_model, strength=1.0)
    assert all(m.strength == 1.0 for m in masks)


# --- Table 6.2: interpolation --------------------------------------------------------------------

def two_models() -> tuple[nn.Module, nn.Module]:
    torch.manual_seed(0)
    first = create_model("small_vgg_cifar_half").eval()
    randomised(first, 5)
    second = copy.deepcopy(first)
    with torch.no_grad():
        for module in second.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.weight.mul_(-0.5).add_(0.3)
                module.bias.add_(0.7)
                module.running_mean.add_(1.0)  # as BN-only fine-tuning in train mode moves them
                module.running_var.mul_(1.5)
    return first, second


def test_interpolation_ends_are_the_two_models_bit_for_bit():
    first, second = two_models()
    x = torch.rand(4, 3, 32, 32)
    assert not torch.equal(second(x), first(x))
    assert torch.equal(interpolate_norms(first, second, 1.0).eval()(x), first(x))
    assert torch.equal(interpolate_norms(first, second, 0.0).eval()(x), second(x))  # as Table 6.2's p = 0 column
    assert torch.equal(interpolate_norms(first, second, 1.0, statistics="first").eval()(x), first(x))


def bn_triples(first: nn.Module, second: nn.Module, mixed: nn.Module) -> list[tuple[nn.BatchNorm2d, ...]]:
    return [(a, b, c) for a, b, c in zip(first.modules(), second.modules(), mixed.modules(), strict=True)
            if isinstance(a, nn.BatchNorm2d)]


@pytest.mark.parametrize("statistics", ["interpolate", "first"])
def test_interpolation_mixes_the_affine_and_the_chosen_statistics(statistics):
    first, second = two_models()
    half = interpolate_norms(first, second, 0.25, statistics=statistics)
    for a, b, c in bn_triples(first, second, half):
        assert torch.equal(c.weight, 0.25 * a.weight + 0.75 * b.weight)
        assert torch.equal(c.bias, 0.25 * a.bias + 0.75 * b.bias)
        for buffer in ("running_mean", "running_var"):
            ours, theirs = getattr(a, buffer), getattr(b, buffer)
            expected = 0.25 * ours + 0.75 * theirs if statistics == "interpolate" else ours
            assert torch.equal(getattr(c, buffer), expected)
    for name, parameter in half.named_parameters():  # everything else is the first model's
        if not any(name.startswith(f"features.{i}.") for i in (1, 5, 9, 13)):
            assert torch.equal(parameter, dict(first.named_parameters())[name])
    first_at_zero = interpolate_norms(first, second, 0.0, statistics="first")
    x = torch.rand(2, 3, 32, 32)
    assert not torch.equal(first_at_zero.eval()(x), second(x))  # the first model's means: not the second model


def test_interpolating_a_dual_bn_models_branches():
    torch.manual_seed(0)
    model = randomised(create_model("small_vgg_cifar_half", norm_layer="dual_bn"), 6).eval()
    x = torch.rand(3, 3, 32, 32)
    assert torch.equal(interpolate_branches(model, 1.0)(x), model(x))
    mixed = interpolate_branches(model, 0.4)
    for ours, theirs in zip(model.modules(), mixed.modules(), strict=True):
        if isinstance(ours, DualBatchNorm2d):
            assert torch.equal(theirs.weight, 0.4 * ours.weight + 0.6 * ours.aux_bn.weight)
            assert torch.equal(theirs.running_var, ours.running_var) and theirs.branch == "main"


# --- Table 6.1: BN-only fine-tuning --------------------------------------------------------------

@pytest.mark.parametrize("norm", NORMS)
def test_bn_only_fine_tuning_moves_the_norm_parameters_and_nothing_else(norm):
    torch.manual_seed(0)
    model = create_model("small_vgg_cifar_half", norm_layer=norm).train()
    selected = norm_parameters(model)
    widths = 16 + 32 + 64 + 128
    assert sum(p.numel() for p in selected) == (2 if norm == "bn" else 4) * widths
    assert [id(p) for p in freeze_all_but_norm(model)] == [id(p) for p in selected]
    names = {id(p): n for n, p in model.named_parameters()}
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    # an optimiser over *all* parameters, with weight decay and momentum: frozen ones never move
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    x, y = torch.rand(6, 3, 32, 32), torch.arange(6)
    with mixed_mode(model, norm, 6):
        for _ in range(2):
            optimizer.zero_grad()
            F.cross_entropy(model(x), y).backward()
            optimizer.step()
    moved = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    assert moved == {names[id(p)] for p in selected}


def mixed_mode(model: nn.Module, norm: str, batch: int) -> contextlib.AbstractContextManager[object]:
    """The mixed modes: AdvProp's clean-then-adversarial split, RobMask's per-example strengths."""
    if norm == "dual_bn":
        return norm_mode(model, branch="split")
    if norm == "robmask":
        return norm_mode(model, strength=torch.linspace(0, 1, batch))
    return contextlib.nullcontext()


# --- every CIFAR model with every norm layer -----------------------------------------------------

def test_the_norm_models_are_every_cifar_model_with_a_norm_layer_argument():
    """Every model that takes norm layers is checked here, but Table 6.4's ImageNet ResNet-18, which
    tests/test_imagenet_items.py builds with each (224-pixel inputs are too slow for this file's sweeps)."""
    with_norms = {name for name in available("model", family="image_classifier")
                  if "norm_layer" in inspect.signature(lookup("model", name)).parameters}
    assert with_norms == {*CIFAR_NORM_MODELS, "resnet18_imagenet"}


@pytest.mark.parametrize(("name", "count"), [
    ("preact_resnet18_cifar", 11_171_146), ("densenet121_cifar", 6_956_298), ("resnext29_cifar", 9_128_778),
])
def test_new_cifar_models_have_kuangliu_parameter_counts(name, count):
    assert sum(p.numel() for p in create_model(name).parameters()) == count


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("name", CIFAR_NORM_MODELS)
def test_every_cifar_model_trains_with_every_norm_layer(name, norm):
    torch.manual_seed(0)
    model = create_model(name, norm_layer=norm).train()
    kinds = {type(m) for m in model.modules() if isinstance(m, nn.BatchNorm2d)}
    expected = {"bn": {nn.BatchNorm2d}, "dual_bn": {DualBatchNorm2d, nn.BatchNorm2d},
                "robmask": {RobMaskNorm2d}}[norm]
    assert kinds == expected
    with mixed_mode(model, norm, 2):
        logits = model(torch.rand(2, 3, 32, 32))
    assert logits.shape == (2, 10) and torch.isfinite(logits).all()
    F.cross_entropy(logits, torch.tensor([0, 1])).backward()
    for parameter_name, parameter in model.named_parameters():  # main, aux and both columns learn
        assert parameter.grad is not None and torch.isfinite(parameter.grad).all(), parameter_name
    for parameter in norm_parameters(model):
        assert parameter.grad.abs().sum() > 0


# --- one-line errors -----------------------------------------------------------------------------

def one_line_config_error(call: object, *args: object, **kwargs: object) -> str:
    with pytest.raises(ConfigError) as error:
        call(*args, **kwargs)  # type: ignore[operator]
    message = str(error.value)
    assert "\n" not in message
    return message


def test_bad_settings_raise_one_line_config_errors():
    assert "robmask" in one_line_config_error(norm_factory, "group_norm")
    assert "bn" in one_line_config_error(create_model, "resnet18_cifar", norm_layer="batchnorm")
    assert "k >= 2" in one_line_config_error(norm_factory, "robmask_k1")
    assert "n >= 2" in one_line_config_error(norm_factory, "dual_bn_aux1")
    assert "k >= 2" in one_line_config_error(RobMaskNorm2d, C, k=1)
    assert "k >= 2" in one_line_config_error(encode_strength, 0.5, 1)
    mask = RobMaskNorm2d(C)
    for bad in (1.5, -0.1, torch.tensor([0.5, 1.2]), torch.zeros(2, 2)):
        one_line_config_error(setattr, mask, "strength", bad)
    one_line_config_error(setattr, DualBatchNorm2d(C), "branch", "adv")
    split = DualBatchNorm2d(C)
    split.branch = "split"
    assert "even" in one_line_config_error(split, torch.randn(3, C, 2, 2))
    bn_model = create_model("small_vgg_cifar_half")
    assert "dual_bn" in one_line_config_error(set_norm_mode, bn_model, branch="aux")
    assert "robmask" in one_line_config_error(set_norm_mode, bn_model, strength=0.5)
    one_line_config_error(strength_of, 9 / 255, 8 / 255)
    first, second = two_models()
    one_line_config_error(interpolate_norms, first, second, 1.5)
    one_line_config_error(interpolate_norms, first, second, 0.5, statistics="second")
    one_line_config_error(interpolate_norms, first, create_model("resnet18_cifar"), 0.5)
    mask.strength = torch.tensor([0.0, 1.0])
    assert "batch of 3" in one_line_config_error(mask, torch.randn(3, C, 2, 2))
