"""Streamed training data (advrobust.training.sources): a small ImageFolder written here is served
by DataLoader workers exactly as the in-memory tensors of the same images are, augmentation
included; the datasets' own random transforms do not depend on the workers; Restricted ImageNet
is streamed by the cached trainer; pretrained torchvision weights come from the hub cache only.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from advrobust.data.streamed import streamed_dataset
from advrobust.errors import ConfigError, DataError
from advrobust.models.imagenet import NormalizedImageNetNet
from advrobust.training import TrainConfig, trained_model
from advrobust.training import cache as cache_module
from advrobust.training.loop import train_on
from advrobust.training.pretrained import cached_weights_path, pretrained_imagenet_model
from advrobust.training.shard import Shard
from advrobust.training.sources import (
    Epoch,
    InMemory,
    Streamed,
    default_workers,
    streamed_training_split,
)
from PIL import Image
from torch import nn
from torchvision import datasets, transforms

CPU = torch.device("cpu")
CONFIG = TrainConfig(model="cw_mnist", dataset="synthetic", epochs=2, batch_size=4, optimizer="sgd", lr=0.1,
                     augment=True)
GREY = transforms.Compose([transforms.Grayscale(), transforms.ToTensor()])  # ImageFolder reads RGB


def write_image_folder(root: Path, classes: int = 2, per_class: int = 6, size: int = 8, mode: str = "RGB") -> Path:
    """``classes`` folders of ``per_class`` random PNG images of ``size`` x ``size`` pixels."""
    rng = np.random.default_rng(0)
    channels = {"RGB": (3,), "L": ()}[mode]
    for label in range(classes):
        (root / f"class{label}").mkdir(parents=True)
        for index in range(per_class):
            pixels = rng.integers(0, 256, (size, size, *channels), dtype=np.uint8)
            Image.fromarray(pixels, mode).save(root / f"class{label}" / f"{index}.png")
    return root


def in_memory(folder) -> InMemory:
    """The folder's images decoded once into tensors, as the in-memory path holds data."""
    items = [folder[index] for index in range(len(folder))]
    return InMemory(torch.stack([x for x, _ in items]), torch.tensor([y for _, y in items]))


def epoch(seed: int, examples: int, augment: bool = True, transform_seed: int = 0) -> Epoch:
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(examples, generator=generator)
    return Epoch(order, examples // 4, 4, Shard(), generator if augment else None, transform_seed)


def test_streamed_and_in_memory_paths_give_the_same_batches(tmp_path):
    folder = datasets.ImageFolder(str(write_image_folder(tmp_path)), transform=transforms.ToTensor())
    memory, streamed = in_memory(folder), Streamed(folder, workers=2)
    assert len(streamed) == len(memory) == 12 and streamed.example_shape == memory.example_shape == (3, 8, 8)
    for seed in (0, 1):  # two epochs' permutations and crops
        pairs = list(zip(memory.batches(epoch(seed, 12)), streamed.batches(epoch(seed, 12)), strict=True))
        assert len(pairs) == 3
        for expected, got in pairs:
            for a, b in zip(expected, got, strict=True):
                assert torch.equal(a, b)
    flat = torch.cat([ids for ids, _, _ in memory.batches(epoch(0, 12))])
    assert sorted(flat.tolist()) == list(range(12))


def test_training_on_either_path_gives_the_same_weights(tmp_path):
    folder = datasets.ImageFolder(str(write_image_folder(tmp_path, size=28, mode="L")), transform=GREY)
    weights, histories = [], []
    for source in (in_memory(folder), Streamed(folder, workers=1)):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Flatten(), nn.Dropout(0.2), nn.Linear(28 * 28, 2))  # dropout: the defense's stream
        histories.append(train_on(model, source, CONFIG, CPU))
        weights.append(model.state_dict())
    assert all(torch.equal(weights[0][key], weights[1][key]) for key in weights[0])
    assert histories[0]["loss"] == histories[1]["loss"] and len(histories[0]["loss"]) == 2


def test_random_dataset_transforms_do_not_depend_on_the_workers(tmp_path):
    random_crops = transforms.Compose([transforms.RandomCrop(6), transforms.RandomHorizontalFlip(), transforms.ToTensor()])
    folder = datasets.ImageFolder(str(write_image_folder(tmp_path)), transform=random_crops)
    state = torch.get_rng_state()
    batches = {workers: [x for _, x, _ in Streamed(folder, workers).batches(epoch(0, 12, False, 7))]
               for workers in (0, 2)}
    assert torch.equal(torch.get_rng_state(), state)  # torch's global generator is left alone
    assert all(torch.equal(a, b) for a, b in zip(batches[0], batches[2], strict=True))
    other_epoch = [x for _, x, _ in Streamed(folder).batches(epoch(0, 12, False, 8))]
    assert not all(torch.equal(a, b) for a, b in zip(batches[0], other_epoch, strict=True))


def make_imagenet_train(root: Path, with_images: dict[int, int]) -> None:
    """A fake ImageNet train split: 1000 class folders, ``with_images[c]`` small PNGs in class c."""
    folder = root / "imagenet" / "train"
    for index in range(1000):
        (folder / f"n{index:08d}").mkdir(parents=True)
    for index, count in with_images.items():
        for copy in range(count):
            Image.new("RGB", (40, 30), (index % 256, 0, copy)).save(folder / f"n{index:08d}" / f"{copy}.png")


def test_restricted_imagenet_is_streamed_with_training_crops(tmp_path, monkeypatch):
    firsts = [151, 281, 30, 33, 80, 365, 389, 118, 300]  # one ImageNet class of each super-class
    make_imagenet_train(tmp_path, {index: 2 for index in firsts})
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "1")
    config = TrainConfig(model="resnet50_rimagenet", dataset="restricted_imagenet", train_subset=5, seed=3)
    split = streamed_training_split(config, tmp_path)
    assert len(split) == 5 and split.example_shape == (3, 224, 224) and split.workers == default_workers()
    whole = streamed_dataset("restricted_imagenet", "train", tmp_path)
    assert len(whole) == 18
    with pytest.raises(ConfigError, match="unknown streamed dataset"):
        streamed_dataset("cifar10")


def test_trained_model_streams_a_streamed_dataset(tmp_path, monkeypatch):
    folder = datasets.ImageFolder(str(write_image_folder(tmp_path / "images", size=28, mode="L")), transform=GREY)
    asked = []

    def fake_split(config, data_root):
        asked.append((config.dataset, data_root))
        return Streamed(folder)

    monkeypatch.setattr(cache_module, "streamed_training_split", fake_split)
    monkeypatch.setattr(cache_module, "load_training_split", lambda *args: pytest.fail("read into memory"))
    config = replace(CONFIG, dataset="restricted_imagenet", epochs=1)
    model = trained_model(config, CPU, cache_dir=tmp_path / "cache", data_root=tmp_path / "data")
    assert asked == [("restricted_imagenet", tmp_path / "data")] and not model.training
    assert (cache_module.run_directory(config, tmp_path / "cache") / "final.pt").exists()


def test_pretrained_weights_come_from_the_hub_cache_and_are_never_downloaded(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(torch.hub, "download_url_to_file", lambda *args, **kwargs: pytest.fail("downloaded"))
    from torchvision import models

    url = models.SqueezeNet1_1_Weights.IMAGENET1K_V1.url
    path = cached_weights_path(url)
    assert path == tmp_path / "hub" / "checkpoints" / Path(url).name
    with pytest.raises(DataError) as error:
        pretrained_imagenet_model("squeezenet1_1")
    assert str(path) in str(error.value) and "\n" not in str(error.value)
    torch.manual_seed(0)
    original = models.squeezenet1_1()
    path.parent.mkdir(parents=True)
    torch.save(original.state_dict(), path)
    model = pretrained_imagenet_model("squeezenet1_1")
    assert isinstance(model, NormalizedImageNetNet) and model.num_classes == 1000 and not model.training
    assert all(torch.equal(value, model.network.state_dict()[key]) for key, value in original.state_dict().items())
    with pytest.raises(ConfigError, match="unknown torchvision model"):
        pretrained_imagenet_model("no_such_net")
    with pytest.raises(ConfigError, match="IMAGENET1K_V1"):
        pretrained_imagenet_model("squeezenet1_1", "IMAGENET9K")
