"""The registered models: shapes, attributes, and normalisation inside the model."""
from __future__ import annotations

import copy

import pytest
import torch
import torchvision.transforms.functional as TF
from advrobust.errors import ConfigError
from advrobust.models import CIFAR10_MEAN, CIFAR10_STD, Normalize, create_model
from advrobust.registry import available
from torch import nn

EXPECTED_MODELS = {
    "cw_mnist": (1, 28, 28), "cw_cifar10": (3, 32, 32), "resnet18_cifar": (3, 32, 32)
}


def test_the_thesis_models_are_registered():
    assert EXPECTED_MODELS.keys() <= set(available("model"))


def test_every_model_has_a_family():
    from advrobust.registry import FAMILIES, family

    assert {family("model", name) for name in available("model")} <= set(FAMILIES)
    assert set(available("model", family="toy")) == {"mlp_2d"}
    assert set(EXPECTED_MODELS) <= set(available("model", family="image_classifier"))


# The families with a fixed input shape; the text families have their own contract tests
# (tests/test_seq2seq.py, tests/test_char_cnn_hotflip.py).
SHAPED = sorted(set(available("model", family="image_classifier")) | set(available("model", family="toy")))


@pytest.mark.parametrize("name", SHAPED)
def test_every_model_maps_its_input_shape_to_logits(name):
    torch.manual_seed(0)
    model = create_model(name).eval()
    x = torch.rand(3, *model.input_shape)
    logits = model(x)
    assert logits.shape == (3, model.num_classes)
    assert torch.isfinite(logits).all()
    # the batch dimension is independent: the first row alone gives the same logits
    torch.testing.assert_close(model(x[:1]), logits[:1], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", available("model", family="image_classifier"))
def test_every_image_classifier_takes_square_images(name):
    channels, height, width = create_model(name).input_shape  # [0, 1] pixels; any normalisation is inside
    assert channels in (1, 3) and height == width >= 28


@pytest.mark.parametrize("name", available("model", family="toy"))
def test_every_toy_network_takes_points_in_the_plane(name):
    model = create_model(name).eval()
    assert model.input_shape == (2,) and model(torch.rand(5, 2)).shape == (5, model.num_classes)


@pytest.mark.parametrize("name, shape", EXPECTED_MODELS.items())
def test_input_shapes_and_class_counts(name, shape):
    assert create_model(name).input_shape == shape
    assert create_model(name, num_classes=7).num_classes == 7
    assert create_model(name, num_classes=7).eval()(torch.rand(2, *shape)).shape == (2, 7)


def test_cw_mnist_architecture_matches_carlini_wagner():
    model = create_model("cw_mnist")
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert [c.out_channels for c in convs] == [32, 32, 64, 64]
    assert all(c.kernel_size == (3, 3) and c.padding == (0, 0) for c in convs)
    assert [(f.in_features, f.out_features) for f in linears] == [(1024, 200), (200, 200), (200, 10)]
    assert [d.p for d in model.modules() if isinstance(d, nn.Dropout)] == [0.5, 0.5]
    # 312,202 trainable parameters, as in the C&W MNIST network
    assert sum(p.numel() for p in model.parameters()) == 312_202


def test_cw_cifar10_architecture_matches_carlini_wagner():
    model = create_model("cw_cifar10")
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert [c.out_channels for c in convs] == [64, 64, 128, 128]
    assert [(f.in_features, f.out_features) for f in linears] == [(3200, 256), (256, 256), (256, 10)]


def test_resnet18_has_the_cifar_layout():
    model = create_model("resnet18_cifar")
    stem = next(m for m in model.modules() if isinstance(m, nn.Conv2d))
    assert stem.kernel_size == (3, 3) and stem.stride == (1, 1)
    assert not any(isinstance(m, nn.MaxPool2d) for m in model.modules())
    assert sum(p.numel() for p in model.parameters()) == 11_173_962  # standard CIFAR ResNet-18


def test_dropout_is_active_only_in_training_mode():
    torch.manual_seed(0)
    model = create_model("cw_mnist")
    x = torch.rand(4, 1, 28, 28)
    model.eval()
    torch.testing.assert_close(model(x), model(x))
    model.train()
    assert not torch.equal(model(x), model(x))


def test_normalize_matches_torchvision():
    x = torch.rand(5, 3, 8, 8)
    expected = TF.normalize(x, CIFAR10_MEAN, CIFAR10_STD)
    torch.testing.assert_close(Normalize(CIFAR10_MEAN, CIFAR10_STD)(x), expected)


def test_resnet_normalises_inside_the_model():
    torch.manual_seed(0)
    model = create_model("resnet18_cifar").eval()
    x = torch.rand(2, 3, 32, 32)
    bare = copy.deepcopy(model)
    bare.normalize = nn.Identity()
    assert not torch.allclose(model(x), bare(x))
    # ... and the normalisation is exactly the CIFAR-10 one applied before the bare network
    torch.testing.assert_close(model(x), bare(TF.normalize(x, CIFAR10_MEAN, CIFAR10_STD)))


@pytest.mark.parametrize("name", ["cw_mnist", "cw_cifar10"])
def test_cw_nets_see_raw_pixels(name):
    torch.manual_seed(0)
    model = create_model(name).eval()
    x = torch.rand(2, *model.input_shape)
    bare = copy.deepcopy(model)
    bare.normalize = nn.Identity()
    torch.testing.assert_close(model(x), bare(x))


def test_normalisation_constants_are_not_in_the_state_dict():
    assert not any("normalize" in key for key in create_model("resnet18_cifar").state_dict())


def test_unknown_model_raises_config_error():
    with pytest.raises(ConfigError, match="cw_mnist"):
        create_model("no_such_net")
