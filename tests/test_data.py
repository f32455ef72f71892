"""advrobust.data: parsing of the official formats, checksums, downloads, errors, TensorData.

Synthetic files are written in the official layouts into tmp_path; only ``test_real_data`` reads
the real datasets, from $ADVROBUST_DATA.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from _data_fixtures import (
    digest,
    random_images,
    trust,
    write_cifar_binary,
    write_cifar_pickle,
    write_idx,
    write_tar_gz,
)
from advrobust.data import TensorData, cifar, pad_sequences, data_root, files, imagenet_folder, load_dataset, mnist
from advrobust.errors import ConfigError, DataError

# --- data_root ----------------------------------------------------------------------------------

def test_data_root_prefers_argument_then_environment_then_repository(monkeypatch, tmp_path):
    monkeypatch.setenv("ADVROBUST_DATA", str(tmp_path / "env"))
    assert data_root(tmp_path / "arg") == tmp_path / "arg"
    assert data_root() == tmp_path / "env"
    monkeypatch.delenv("ADVROBUST_DATA")
    default = data_root()
    assert default.parts[-2:] == ("data", "raw")
    assert (default.parent.parent / "pyproject.toml").is_file()


# --- MNIST --------------------------------------------------------------------------------------

def _write_mnist(raw: Path, prefix: str, n: int, suffix: str = ".gz") -> tuple[np.ndarray, np.ndarray]:
    images = random_images(n, (28, 28), seed=n)
    labels = np.arange(n, dtype=np.uint8) % 10
    write_idx(raw / f"{prefix}-images-idx3-ubyte{suffix}", images)
    write_idx(raw / f"{prefix}-labels-idx1-ubyte{suffix}", labels)
    return images, labels


@pytest.mark.parametrize("suffix", [".gz", ""])
@pytest.mark.parametrize("split, prefix", [("train", "train"), ("test", "t10k")])
def test_mnist_parses_idx_files(monkeypatch, tmp_path, split, prefix, suffix):
    raw = tmp_path / "MNIST" / "raw"
    images, labels = _write_mnist(raw, prefix, n=13, suffix=suffix)
    trust(monkeypatch, mnist.CHECKSUMS, *raw.iterdir())
    data = load_dataset("mnist", split, root=tmp_path, download=False)
    assert data.x.shape == (13, 1, 28, 28) and data.x.dtype == torch.float32
    assert data.y.dtype == torch.int64 and data.y.tolist() == labels.tolist()
    assert data.x.min() == 0 and data.x.max() == 1
    assert torch.equal(data.x[:, 0], torch.from_numpy(images).float() / 255)
    assert data.name == f"mnist-{split}" and data.classes == tuple("0123456789")


def test_mnist_checksum_mismatch_names_file_and_both_hashes(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    _write_mnist(raw, "t10k", n=5)
    images_file = raw / "t10k-images-idx3-ubyte.gz"
    with pytest.raises(DataError) as error:
        load_dataset("mnist", "test", root=tmp_path, download=False)
    message = str(error.value)
    assert str(images_file) in message
    assert "9fb629c4189551a2d022fa330f9573f3" in message  # torchvision's md5 of the real file
    assert digest(images_file, "md5") in message


def test_mnist_missing_file_names_file_directory_and_source(tmp_path):
    with pytest.raises(DataError) as error:
        load_dataset("mnist", "test", root=tmp_path, download=False)
    message = str(error.value)
    assert "t10k-images-idx3-ubyte.gz" in message
    assert str(tmp_path / "MNIST" / "raw") in message
    assert mnist.MIRROR in message and "ADVROBUST_DATA" in message
    assert "\n" not in message


def test_mnist_labels_and_images_must_agree(monkeypatch, tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    _write_mnist(raw, "t10k", n=6)
    write_idx(raw / "t10k-labels-idx1-ubyte.gz", np.zeros(5, dtype=np.uint8))
    trust(monkeypatch, mnist.CHECKSUMS, *raw.iterdir())
    with pytest.raises(DataError, match="disagree"):
        load_dataset("mnist", "test", root=tmp_path, download=False)


def test_read_idx_rejects_other_formats(tmp_path):
    not_idx = tmp_path / "float.idx"
    not_idx.write_bytes(b"\x00\x00\x0d\x01" + (4).to_bytes(4, "big") + bytes(16))  # type 0x0d: float32
    with pytest.raises(DataError, match="not an idx file"):
        mnist.read_idx(not_idx)
    truncated = write_idx(tmp_path / "short.idx", np.zeros((3, 4), dtype=np.uint8))
    truncated.write_bytes(truncated.read_bytes()[:-1])
    with pytest.raises(DataError, match="header promises"):
        mnist.read_idx(truncated)


def test_mnist_download_verifies_and_stores_the_gz_files(monkeypatch, tmp_path):
    mirror = tmp_path / "mirror"
    images, labels = _write_mnist(mirror, "t10k", n=7)
    trust(monkeypatch, mnist.CHECKSUMS, *mirror.iterdir())
    monkeypatch.setattr(mnist, "MIRROR", mirror.as_uri() + "/")
    data = load_dataset("mnist", "test", root=tmp_path / "root")
    assert data.y.tolist() == labels.tolist()
    assert (tmp_path / "root" / "MNIST" / "raw" / "t10k-images-idx3-ubyte.gz").is_file()


def test_unreachable_mirror_raises_data_error(monkeypatch, tmp_path):
    monkeypatch.setattr(mnist, "MIRROR", (tmp_path / "nowhere").as_uri() + "/")
    with pytest.raises(DataError, match="could not download"):
        load_dataset("mnist", "test", root=tmp_path / "root")
    assert not list((tmp_path / "root" / "MNIST" / "raw").iterdir())  # no partial file left behind


# --- CIFAR --------------------------------------------------------------------------------------

def _cifar10_binary(folder: Path, sizes: dict[str, int]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    written = {}
    for seed, (name, n) in enumerate(sizes.items()):
        images = random_images(n, (3, 32, 32), seed=seed)
        labels = (np.arange(n) + seed) % 10
        write_cifar_binary(folder / name, images, labels)
        written[name] = (images, labels)
    return written


def _assert_matches(data: TensorData, images: np.ndarray, labels: np.ndarray) -> None:
    assert data.x.shape == (len(labels), 3, 32, 32) and data.x.dtype == torch.float32
    assert data.y.dtype == torch.int64 and data.y.tolist() == labels.tolist()
    assert torch.equal(data.x, torch.from_numpy(images).float() / 255)
    assert data.x.min() == 0 and data.x.max() == 1


@pytest.mark.parametrize("folder", ["cifar10", "cifar-10-batches-bin"])
def test_cifar10_binary_layout(monkeypatch, tmp_path, folder):
    sizes = {f"data_batch_{i}.bin": i + 1 for i in range(1, 6)} | {"test_batch.bin": 4}
    written = _cifar10_binary(tmp_path / folder, sizes)
    trust(monkeypatch, cifar.CIFAR10_BINARY, *(tmp_path / folder).iterdir())
    test = load_dataset("cifar10", "test", root=tmp_path, download=False)
    _assert_matches(test, *written["test_batch.bin"])
    assert test.classes[3] == "cat" and len(test.classes) == 10
    train = load_dataset("cifar10", "train", root=tmp_path, download=False)
    batches = [written[f"data_batch_{i}.bin"] for i in range(1, 6)]
    _assert_matches(train, np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches]))


def test_cifar_binary_record_is_label_then_red_green_blue_planes(monkeypatch, tmp_path):
    record = np.zeros(1 + 3072, dtype=np.uint8)
    record[0] = 9
    record[1:1 + 1024] = 255  # red plane, row-major
    record[1 + 1024 + 32 * 5 + 7] = 51  # green pixel at row 5, column 7
    path = tmp_path / "cifar10" / "test_batch.bin"
    path.parent.mkdir()
    record.tofile(path)
    trust(monkeypatch, cifar.CIFAR10_BINARY, path)
    data = load_dataset("cifar10", "test", root=tmp_path, download=False)
    assert data.y.tolist() == [9]
    assert torch.all(data.x[0, 0] == 1)
    assert data.x[0, 1, 5, 7] == pytest.approx(0.2) and data.x[0, 1].sum() == pytest.approx(0.2)
    assert torch.all(data.x[0, 2] == 0)


def test_cifar10_python_layout(monkeypatch, tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    parts = []
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        images = random_images(3, (3, 32, 32), seed=i)
        labels = [(i + k) % 10 for k in range(3)]
        write_cifar_pickle(folder / name, images, labels=labels)
        parts.append((images, np.array(labels)))
    trust(monkeypatch, cifar.CIFAR10_PYTHON, *folder.iterdir())
    _assert_matches(load_dataset("cifar10", "test", root=tmp_path, download=False), *parts[5])
    train = load_dataset("cifar10", "train", root=tmp_path, download=False)
    _assert_matches(train, np.concatenate([p[0] for p in parts[:5]]), np.concatenate([p[1] for p in parts[:5]]))


def test_cifar100_binary_layout_uses_fine_labels(monkeypatch, tmp_path):
    images = random_images(6, (3, 32, 32))
    fine, coarse = np.array([0, 99, 42, 7, 63, 1]), np.array([19, 0, 3, 5, 2, 11])
    path = write_cifar_binary(tmp_path / "cifar-100-binary" / "test.bin", images, coarse, fine)
    trust(monkeypatch, cifar.CIFAR100_BINARY, path)
    data = load_dataset("cifar100", "test", root=tmp_path, download=False)
    _assert_matches(data, images, fine)
    assert data.classes[99] == "worm" and len(data.classes) == 100


def test_cifar100_python_layout_uses_fine_labels(monkeypatch, tmp_path):
    images = random_images(4, (3, 32, 32))
    fine = [5, 98, 0, 50]
    path = write_cifar_pickle(tmp_path / "cifar-100-python" / "train", images,
                              fine_labels=fine, coarse_labels=[1, 2, 3, 4])
    trust(monkeypatch, cifar.CIFAR100_PYTHON, path)
    data = load_dataset("cifar100", "train", root=tmp_path, download=False)
    _assert_matches(data, images, np.array(fine))


def test_cifar100_class_names_are_the_100_fine_labels_in_alphabetical_order():
    assert len(set(cifar.CIFAR100_CLASSES)) == 100
    assert list(cifar.CIFAR100_CLASSES) == sorted(cifar.CIFAR100_CLASSES)


def test_cifar_checksum_mismatch_names_file_and_both_hashes(tmp_path):
    path = write_cifar_binary(tmp_path / "cifar10" / "test_batch.bin",
                              random_images(2, (3, 32, 32)), np.array([1, 2]))
    with pytest.raises(DataError) as error:
        load_dataset("cifar10", "test", root=tmp_path, download=False)
    message = str(error.value)
    assert str(path) in message
    assert cifar.CIFAR10_BINARY["test_batch.bin"][1] in message and digest(path, "sha256") in message


def test_partial_cifar_is_an_error_and_not_fetched(monkeypatch, tmp_path):
    _cifar10_binary(tmp_path / "cifar10", {f"data_batch_{i}.bin": 2 for i in range(1, 5)})
    trust(monkeypatch, cifar.CIFAR10_BINARY, *(tmp_path / "cifar10").iterdir())

    def no_network(*args, **kwargs):
        raise AssertionError("a partial dataset must not trigger a download")

    monkeypatch.setattr(cifar, "fetch", no_network)
    with pytest.raises(DataError) as error:
        load_dataset("cifar10", "train", root=tmp_path, download=True)
    assert "data_batch_5.bin" in str(error.value) and str(tmp_path / "cifar10") in str(error.value)


def test_missing_cifar_names_file_directories_and_source(tmp_path):
    with pytest.raises(DataError) as error:
        load_dataset("cifar10", "test", root=tmp_path, download=False)
    message = str(error.value)
    assert "test_batch.bin" in message and str(tmp_path / "cifar-10-batches-bin") in message
    assert "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz" in message


def test_cifar_label_out_of_range_is_a_data_error(monkeypatch, tmp_path):
    path = write_cifar_binary(tmp_path / "cifar10" / "test_batch.bin",
                              random_images(2, (3, 32, 32)), np.array([3, 10]))
    trust(monkeypatch, cifar.CIFAR10_BINARY, path)
    with pytest.raises(DataError, match="label 10"):
        load_dataset("cifar10", "test", root=tmp_path, download=False)


def _cifar10_archive(tmp_path: Path, monkeypatch) -> tuple[Path, np.ndarray]:
    staging = tmp_path / "staging"
    labels = np.array([0, 5, 9])
    member = write_cifar_binary(staging / "cifar-10-batches-bin" / "test_batch.bin",
                                random_images(3, (3, 32, 32)), labels)
    trust(monkeypatch, cifar.CIFAR10_BINARY, member)
    return write_tar_gz(tmp_path / "mirror" / "cifar-10-binary.tar.gz", staging, [member]), labels


def test_cifar_download_verifies_archive_then_extracts(monkeypatch, tmp_path):
    archive, labels = _cifar10_archive(tmp_path, monkeypatch)
    monkeypatch.setitem(cifar.ARCHIVES, "cifar10", (archive.as_uri(), ("md5", digest(archive, "md5"))))
    root = tmp_path / "root"
    data = load_dataset("cifar10", "test", root=root)
    assert data.y.tolist() == labels.tolist()
    assert (root / "cifar-10-binary.tar.gz").is_file() and (root / "cifar-10-batches-bin").is_dir()


def test_cifar_archive_with_wrong_checksum_is_not_extracted(monkeypatch, tmp_path):
    archive, _ = _cifar10_archive(tmp_path, monkeypatch)
    monkeypatch.setitem(cifar.ARCHIVES, "cifar10", (archive.as_uri(), ("md5", "0" * 32)))
    root = tmp_path / "root"
    with pytest.raises(DataError) as error:
        load_dataset("cifar10", "test", root=root)
    assert "0" * 32 in str(error.value) and digest(archive, "md5") in str(error.value)
    assert list(root.iterdir()) == []  # neither the archive, a .part file nor extracted files


# --- checksum cache -----------------------------------------------------------------------------

def test_verified_digests_are_cached_until_the_file_changes(tmp_path):
    path = tmp_path / "file.bin"
    path.write_bytes(b"abc")
    first = files.file_digest(path, "sha256")
    hits = files._digest.cache_info().hits
    assert files.file_digest(path, "sha256") == first
    assert files._digest.cache_info().hits == hits + 1
    path.write_bytes(b"abcd")
    assert files.file_digest(path, "sha256") == digest(path, "sha256") != first


# --- TensorData ---------------------------------------------------------------------------------

def _indexed(n: int = 50) -> TensorData:
    """Example i has label i and every pixel equal to i / n, so rows can be traced."""
    y = torch.arange(n)
    x = (y.float() / n).view(n, 1, 1, 1).expand(n, 1, 2, 2).contiguous()
    return TensorData(x=x, y=y, classes=tuple(map(str, range(n))), name="indexed")


def test_subset_is_seeded_without_replacement_and_consistent():
    data = _indexed()
    a, b, c = data.subset(10, seed=3), data.subset(10, seed=3), data.subset(10, seed=4)
    assert torch.equal(a.y, b.y) and not torch.equal(a.y, c.y)
    assert len(set(a.y.tolist())) == 10 and torch.equal(a.y, a.y.sort().values)
    assert torch.equal(a.x[:, 0, 0, 0], a.y.float() / 50)
    assert set(data.subset(5, seed=3).y.tolist()) <= set(a.y.tolist())
    assert data.subset(None) is data and data.subset(50) is data and data.subset(500) is data
    with pytest.raises(ConfigError):
        data.subset(0)


@pytest.mark.parametrize("shuffle", [False, True])
def test_batches_cover_every_example_exactly_once(shuffle):
    data = _indexed(23)
    batches = list(data.batches(5, shuffle=shuffle, generator=torch.Generator().manual_seed(1)))
    assert [len(y) for _, y in batches] == [5, 5, 5, 5, 3]
    seen = torch.cat([y for _, y in batches])
    assert sorted(seen.tolist()) == list(range(23))
    assert torch.equal(torch.cat([x for x, _ in batches])[:, 0, 0, 0], seen.float() / 23)
    assert torch.equal(seen, torch.arange(23)) != shuffle


def test_shuffled_batches_follow_the_generator():
    data = _indexed(23)
    orders = [torch.cat([y for _, y in data.batches(4, True, torch.Generator().manual_seed(s))])
              for s in (7, 7, 8)]
    assert torch.equal(orders[0], orders[1]) and not torch.equal(orders[0], orders[2])
    with pytest.raises(ConfigError):
        next(data.batches(0))


def test_tensor_data_rejects_mismatched_shapes():
    with pytest.raises(ConfigError):
        TensorData(x=torch.zeros(3, 1, 2, 2), y=torch.zeros(2, dtype=torch.int64), classes=(), name="bad")
    with pytest.raises(ConfigError):
        TensorData(x=torch.zeros(3), y=torch.zeros(3, dtype=torch.int64), classes=(), name="bad")


@pytest.mark.parametrize("shape", [(5, 28), (5, 1, 28, 28), (5, 3, 8, 8, 2)])
def test_tensor_data_holds_any_sample_shape(shape):
    data = TensorData(x=torch.rand(shape), y=torch.arange(5), classes=tuple("abcde"), name="any")
    part = data.subset(3, seed=1)
    assert part.x.shape == (3, *shape[1:]) and torch.equal(part.x, data.x[part.y])
    assert torch.equal(torch.cat([xb for xb, _ in data.batches(2)]), data.x)


def test_token_sequences_are_padded_and_measured():
    sequences = [[5, 6, 7], [8], [], [9, 10]]
    x = pad_sequences(sequences, pad_id=0)
    assert x.tolist() == [[5, 6, 7], [8, 0, 0], [0, 0, 0], [9, 10, 0]]
    targets = pad_sequences([[1, 2], [3], [4], [5, 6]], pad_id=0, length=4)
    data = TensorData(x=x, y=targets, classes=("<pad>",) + tuple(map(str, range(1, 11))), name="text", pad_id=0)
    assert data.lengths().tolist() == [3, 1, 0, 2]
    chosen = sorted(torch.randperm(4, generator=torch.Generator().manual_seed(0))[:2].tolist())
    assert data.subset(2, seed=0).lengths().tolist() == [len(sequences[i]) for i in chosen]
    with pytest.raises(ConfigError, match="more than the length 1"):
        pad_sequences(sequences, pad_id=0, length=1)
    with pytest.raises(ConfigError, match="not padded"):
        TensorData(x=torch.rand(2, 3), y=torch.zeros(2), classes=(), name="rows").lengths()


@pytest.mark.parametrize("device", [
    "cpu",
    pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU")),
])
def test_device_argument_places_both_tensors(monkeypatch, tmp_path, device):
    path = write_cifar_binary(tmp_path / "cifar10" / "test_batch.bin",
                              random_images(2, (3, 32, 32)), np.array([1, 2]))
    trust(monkeypatch, cifar.CIFAR10_BINARY, path)
    data = load_dataset("cifar10", "test", root=tmp_path, device=device, download=False)
    assert data.x.device.type == device and data.y.device.type == device
    assert len(data) == 2 and data.to("cpu").x.device.type == "cpu"
    first, _ = next(data.subset(1, seed=0).batches(1, shuffle=True))
    assert first.device.type == device


# --- names and splits ---------------------------------------------------------------------------

def test_unknown_dataset_or_split_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cifar10, cifar100, higgs, mnist"):
        load_dataset("svhn", root=tmp_path)
    with pytest.raises(ConfigError, match="'val'"):
        load_dataset("mnist", "val", root=tmp_path)
    with pytest.raises(ConfigError, match="'test'"):
        imagenet_folder(tmp_path, "test")


# --- ImageNet -----------------------------------------------------------------------------------

def test_imagenet_folder_reads_image_folder_layout(tmp_path):
    from PIL import Image

    for wnid, colour in (("n01440764", (255, 0, 0)), ("n01443537", (0, 0, 255))):
        (tmp_path / "imagenet" / "val" / wnid).mkdir(parents=True)
        Image.new("RGB", (300, 260), colour).save(tmp_path / "imagenet" / "val" / wnid / "a.JPEG")
    dataset = imagenet_folder(tmp_path, "val")
    assert len(dataset) == 2 and dataset.classes == ["n01440764", "n01443537"]
    image, label = dataset[1]
    assert image.shape == (3, 224, 224) and label == 1
    assert 0 <= image.min() and image.max() <= 1 and image[2].mean() > 0.9  # blue, in [0, 1]
    assert len(imagenet_folder(tmp_path / "imagenet", "val")) == 2  # root pointing at the folder


def test_imagenet_folder_missing_says_how_to_prepare_it(tmp_path):
    with pytest.raises(DataError) as error:
        imagenet_folder(tmp_path, "val")
    message = str(error.value)
    assert str(tmp_path / "imagenet" / "val") in message and "image-net.org" in message
    (tmp_path / "imagenet" / "val").mkdir(parents=True)
    with pytest.raises(DataError, match="no ImageNet images"):
        imagenet_folder(tmp_path, "val")


# --- the real data ------------------------------------------------------------------------------

def test_real_data():
    """MNIST and CIFAR-10 test splits at $ADVROBUST_DATA (CI: shared/data), checksummed on load."""
    if not os.environ.get("ADVROBUST_DATA"):
        pytest.fail("ADVROBUST_DATA is not set: point it at the dataset directory (CI: shared/data)")
    digits = load_dataset("mnist", "test", download=False)
    assert len(digits) == 10_000 and digits.x.shape[1:] == (1, 28, 28)
    assert digits.y.bincount(minlength=10).sum() == 10_000 and digits.y.max() == 9
    assert digits.y[0] == 7
    images = load_dataset("cifar10", "test", download=False)
    assert len(images) == 10_000 and images.x.shape[1:] == (3, 32, 32)
    assert images.y.bincount(minlength=10).tolist() == [1000] * 10
    assert images.classes[images.y[0]] == "cat"
