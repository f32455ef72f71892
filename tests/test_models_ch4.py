"""The Chapter 4 networks: VGG-16, WRN-34-10 (TRADES), ResNet-50 and the quick-profile CNN."""
from __future__ import annotations

import functools

import pytest
import torch
import torch.nn.functional as F
import torchvision.transforms.functional as TF
from advrobust.models import (
    CIFAR10_MEAN,
    CIFAR10_STD,
    IMAGENET_MEAN,
    IMAGENET_STD,
    Normalize,
    PreActBlock,
    WideResNet,
    create_model,
)
from advrobust.registry import available
from torch import nn

CH4_MODELS = {
    "vgg16_cifar": (3, 32, 32),
    "wrn34_10": (3, 32, 32),
    "resnet50_rimagenet": (3, 224, 224),
    "small_vgg_cifar": (3, 32, 32),
    "small_vgg_cifar_half": (3, 32, 32),
}
DEFAULT_CLASSES = {
    "vgg16_cifar": 10, "wrn34_10": 10, "resnet50_rimagenet": 9, "small_vgg_cifar": 10,
    "small_vgg_cifar_half": 10,
}


@functools.cache
def seeded_model(name: str, num_classes: int | None = None) -> nn.Module:
    """One model per (name, num_classes), built under seed 0, in eval mode; shared, so read-only."""
    torch.manual_seed(0)
    return create_model(name, num_classes=num_classes).eval()


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def conv_params(c_in: int, c_out: int, kernel: int, bias: bool = False) -> int:
    return kernel * kernel * c_in * c_out + (c_out if bias else 0)


def bn_params(channels: int) -> int:
    return 2 * channels


def linear_params(n_in: int, n_out: int) -> int:
    return n_in * n_out + n_out


# --- every Chapter 4 model ---------------------------------------------------------------------

def test_the_chapter_4_models_are_registered():
    assert CH4_MODELS.keys() <= set(available("model"))


def batch_size(shape: tuple[int, ...]) -> int:
    return 1 if shape[-1] > 32 else 2  # one ImageNet-sized image keeps the CPU tests fast


@pytest.mark.parametrize("name, shape", CH4_MODELS.items())
def test_shapes_and_class_counts(name, shape):
    model, n = seeded_model(name), batch_size(shape)
    assert model.input_shape == shape and model.num_classes == DEFAULT_CLASSES[name]
    assert model(torch.rand(n, *shape)).shape == (n, DEFAULT_CLASSES[name])
    other = seeded_model(name, 7)
    assert other.num_classes == 7 and other(torch.rand(1, *shape)).shape == (1, 7)


@pytest.mark.parametrize("name", ["vgg16_cifar", "small_vgg_cifar", "wrn16_2"])
def test_models_are_deterministic_under_a_seed(name):
    # WRN-34-10 is built by the same WideResNet code as the cheaper WRN-16-2
    def build() -> nn.Module:
        return (WideResNet(16, 2) if name == "wrn16_2" else create_model(name)).eval()

    torch.manual_seed(0)
    first = build()
    torch.manual_seed(0)
    again = build()
    for (key, a), b in zip(first.state_dict().items(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b), key
    x = torch.rand(2, *first.input_shape)
    torch.testing.assert_close(first(x), again(x), rtol=0, atol=0)
    torch.manual_seed(1)
    assert not torch.equal(build()(x), first(x))  # the seed matters


@pytest.mark.parametrize("name", CH4_MODELS)
def test_gradient_reaches_the_input_pixels(name):
    model = seeded_model(name)
    n = batch_size(model.input_shape)
    x = torch.rand(n, *model.input_shape, requires_grad=True)
    (grad,) = torch.autograd.grad(F.cross_entropy(model(x), torch.arange(n)), x)
    assert torch.isfinite(grad).all()
    assert (grad != 0).float().mean() > 0.9  # not a handful of pixels: the whole image matters


# --- VGG-16 ------------------------------------------------------------------------------------

VGG16_WIDTHS = [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]


def test_vgg16_has_13_conv_bn_layers_5_pools_and_one_linear_layer():
    model = seeded_model("vgg16_cifar")
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == VGG16_WIDTHS
    assert all(c.kernel_size == (3, 3) and c.padding == (1, 1) and c.stride == (1, 1)
               for c in convs)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) == 13
    assert sum(isinstance(m, nn.MaxPool2d) for m in model.modules()) == 5
    assert [(f.in_features, f.out_features) for f in model.modules() if isinstance(f, nn.Linear)] \
        == [(512, 10)]
    assert model.features(torch.rand(2, 3, 32, 32)).shape == (2, 512)  # 32 / 2**5 = 1 pixel left


def test_vgg16_parameter_count():
    layers = zip([3, *VGG16_WIDTHS[:-1]], VGG16_WIDTHS)
    expected = sum(conv_params(c_in, c_out, 3, bias=True) + bn_params(c_out)
                   for c_in, c_out in layers) + linear_params(512, 10)
    assert expected == 14_728_266  # the usual "14.7M" of CIFAR VGG-16 with BatchNorm
    assert parameter_count(seeded_model("vgg16_cifar")) == expected


def test_vgg16_normalises_with_the_cifar10_statistics():
    model = seeded_model("vgg16_cifar")
    x = torch.rand(2, 3, 32, 32)
    bare = model.classifier(model.features(TF.normalize(x, CIFAR10_MEAN, CIFAR10_STD)))
    torch.testing.assert_close(model(x), bare)


# --- WRN-34-10 ---------------------------------------------------------------------------------

def wrn_parameter_formula(depth: int, widen: int, num_classes: int) -> int:
    """Zagoruyko & Komodakis: blocks of BN-conv3x3-BN-conv3x3 (+ 1x1 projection on width change)."""
    def block(c_in: int, c_out: int) -> int:
        projection = conv_params(c_in, c_out, 1) if c_in != c_out else 0
        return bn_params(c_in) + conv_params(c_in, c_out, 3) + bn_params(c_out) \
            + conv_params(c_out, c_out, 3) + projection

    n = (depth - 4) // 6
    total, c_in = conv_params(3, 16, 3), 16
    for width in (16 * widen, 32 * widen, 64 * widen):
        total += block(c_in, width) + (n - 1) * block(width, width)
        c_in = width
    return total + bn_params(c_in) + linear_params(c_in, num_classes)


def test_wrn34_10_parameter_count_matches_trades():
    # TRADES' WRN-34-10 without the sub_block1 that its forward pass never uses
    assert wrn_parameter_formula(34, 10, 10) == 46_160_474
    assert parameter_count(seeded_model("wrn34_10")) == 46_160_474
    assert parameter_count(WideResNet(16, 2, num_classes=5)) == wrn_parameter_formula(16, 2, 5)


def test_wrn34_10_layout():
    model = seeded_model("wrn34_10")
    blocks = [m for m in model.modules() if isinstance(m, PreActBlock)]
    assert len(blocks) == 15  # 3 groups of (34 - 4) / 6 = 5
    assert [b.conv1.out_channels for b in blocks] == [160] * 5 + [320] * 5 + [640] * 5
    assert [b.conv1.stride[0] for b in blocks] == [1] * 5 + [2] + [1] * 4 + [2] + [1] * 4
    # a 1x1 projection in the first block of each group only
    assert [b.convShortcut is not None for b in blocks] == ([True] + [False] * 4) * 3
    assert not any(isinstance(m, (Normalize, nn.Dropout)) for m in model.modules())


def test_wrn_state_dict_uses_trades_names():
    keys = set(seeded_model("wrn34_10").state_dict())
    assert {"conv1.weight", "block1.layer.0.bn1.weight", "block1.layer.0.convShortcut.weight",
            "block3.layer.4.conv2.weight", "bn1.running_var", "fc.weight", "fc.bias"} <= keys
    assert not any(key.startswith("sub_block1") for key in keys)


def trades_basic_block(block: PreActBlock, x: torch.Tensor) -> torch.Tensor:
    """TRADES' ``BasicBlock.forward`` (dropRate 0), transcribed branch by branch."""
    if not block.equal_in_out:
        x = F.relu(block.bn1(x))
        out = None
    else:
        out = F.relu(block.bn1(x))
    out = F.relu(block.bn2(block.conv1(out if block.equal_in_out else x)))
    out = block.conv2(out)
    return (x if block.equal_in_out else block.convShortcut(x)) + out


def test_wrn_blocks_compute_the_trades_pre_activation_residual():
    torch.manual_seed(0)
    model = WideResNet(16, 2).train()  # batch statistics, so BN is not the identity
    x = torch.randn(4, 32, 16, 16)
    for block in (model.block2.layer[0], model.block2.layer[1]):  # projection, then identity
        block_in = x if block is model.block2.layer[0] else model.block2.layer[0](x)
        expected = trades_basic_block(block, block_in.clone())
        torch.testing.assert_close(block(block_in.clone()), expected)


def test_wrn_sees_raw_pixels():
    model = seeded_model("wrn34_10")
    seen = []
    handle = model.conv1.register_forward_hook(lambda module, args, out: seen.append(args[0]))
    x = torch.rand(2, 3, 32, 32)
    model(x)
    handle.remove()
    assert torch.equal(seen[0], x)


def test_wrn_rejects_impossible_depths():
    with pytest.raises(ValueError, match="6n"):
        WideResNet(33, 10)


# --- ResNet-50 for Restricted ImageNet ---------------------------------------------------------

def test_resnet50_is_torchvisions_with_a_9_way_head():
    model = seeded_model("resnet50_rimagenet")
    # torchvision's ResNet-50 has 25,557,032 parameters with its 2048 -> 1000 head
    assert parameter_count(model) == 25_557_032 - linear_params(2048, 1000) + linear_params(2048, 9)
    assert model.network.fc.out_features == 9


def test_resnet50_normalises_with_the_imagenet_statistics():
    model = seeded_model("resnet50_rimagenet")
    x = torch.rand(1, 3, 224, 224)
    expected = model.network(TF.normalize(x, IMAGENET_MEAN, IMAGENET_STD))
    torch.testing.assert_close(model(x), expected)


# --- the quick-profile network -----------------------------------------------------------------

@pytest.mark.parametrize(("name", "widths"), [("small_vgg_cifar", (32, 64, 128, 256)),
                                              ("small_vgg_cifar_half", (16, 32, 64, 128))])
def test_small_vgg_is_four_conv_bn_relu_pool_layers_and_one_linear(name, widths):
    model = seeded_model(name)
    assert tuple(c.out_channels for c in model.modules() if isinstance(c, nn.Conv2d)) == widths
    assert sum(isinstance(m, nn.MaxPool2d) for m in model.modules()) == 5  # 32x32 down to 1x1
    convs = zip((3, *widths[:-1]), widths)
    expected = sum(conv_params(c_in, c_out, 3, bias=True) + bn_params(c_out) for c_in, c_out in convs)
    expected += linear_params(widths[-1], 10)
    assert parameter_count(model) == expected
    assert model.channels_last_on_cpu
