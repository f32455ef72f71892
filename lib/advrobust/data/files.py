"""Dataset files on disk: where they live, checking their checksums, fetching official archives.

Every file is verified against a published checksum before it is parsed, so a loader only ever
reads the official bytes. Verified digests are cached per process, keyed by path, size and
modification time, so loading a dataset a second time does not hash it again.
"""
from __future__ import annotations

import functools
import hashlib
import logging
import os
import tarfile
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

from ..errors import DataError, require
from ..runtime import REPO_ROOT

Checksum = tuple[str, str]
"""A ``hashlib`` algorithm name and the expected hex digest, e.g. ``("md5", "f68b...")``."""

DATA_ENV = "ADVROBUST_DATA"
SPLITS = ("train", "test")
_CHUNK = 1 << 20

log = logging.getLogger(__name__)


def data_root(root: str | Path | None = None) -> Path:
    """The dataset directory: ``root`` if given, else ``$ADVROBUST_DATA``, else ``<repo>/data/raw``."""
    if root is not None:
        return Path(root).expanduser()
    from_env = os.environ.get(DATA_ENV)
    if from_env:
        return Path(from_env).expanduser()
    return REPO_ROOT / "data" / "raw"


def check_split(split: str) -> None:
    """Raise :class:`ConfigError` unless ``split`` is ``"train"`` or ``"test"``."""
    require(split in SPLITS, f"unknown split {split!r}; use one of: {', '.join(SPLITS)}")


def file_digest(path: Path, algorithm: str) -> str:
    """Hex digest of ``path``; cached until the file's size or modification time changes."""
    stat = path.stat()
    return _digest(str(path.resolve()), stat.st_size, stat.st_mtime_ns, algorithm)


@functools.lru_cache(maxsize=256)
def _digest(path: str, size: int, mtime_ns: int, algorithm: str) -> str:
    hasher = hashlib.new(algorithm)
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(_CHUNK), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def verify(path: Path, expected: Checksum) -> Path:
    """Return ``path`` if its digest equals ``expected``; else raise :class:`DataError`."""
    algorithm, digest = expected
    actual = file_digest(path, algorithm)
    if actual != digest:
        raise DataError(
            f"checksum mismatch for {path}: expected {algorithm} {digest}, got {actual}; "
            "the file is corrupt or not the official one, replace it"
        )
    return path


def missing_file(name: str, directories: Sequence[Path], url: str) -> DataError:
    """The error for a data file found in none of ``directories``, saying how to obtain it."""
    searched = " or ".join(str(directory) for directory in directories)
    return DataError(
        f"missing {name} in {searched}; load with download=True to fetch {url}, "
        f"or set {DATA_ENV} to a directory that holds it"
    )


def fetch(url: str, destination: Path, expected: Checksum) -> Path:
    """Fetch ``url`` to ``destination``, which appears only once its checksum has been verified."""
    partial = destination.with_name(destination.name + ".part")
    log.info("downloading %s to %s", url, destination)
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        with urllib.request.urlopen(url, timeout=60) as response, open(partial, "wb") as out:
            size = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=size, unit="B", unit_scale=True, desc=destination.name, disable=None) as bar:
                for chunk in iter(lambda: response.read(_CHUNK), b""):
                    out.write(chunk)
                    bar.update(len(chunk))
        verify(partial, expected)
    except OSError as error:  # network failures (URLError) and checksum mismatches (DataError)
        partial.unlink(missing_ok=True)
        raise DataError(
            f"could not download {url} to {destination} ({error}); fetch it by hand, "
            f"or set {DATA_ENV} to a directory that already holds the dataset"
        ) from None
    partial.replace(destination)
    return destination


def extract(archive: Path, directory: Path) -> None:
    """Unpack the ``.tar.gz`` ``archive`` into ``directory`` (refusing unsafe member paths)."""
    log.info("extracting %s into %s", archive, directory)
    try:
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(directory, filter="data")
    except (OSError, tarfile.TarError) as error:
        raise DataError(f"could not extract {archive} into {directory}: {error}") from None
