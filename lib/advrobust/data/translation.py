"""English -> German translation corpora of Sec. 3.1 (Seq2Sick's machine-translation attacks, Table 3.4).

**Multi30k** (Elliott et al. 2016; WMT16 multimodal task 1), the source of the 500 attacked
sentences (Table 3.1: "500 samples from WMT'16 Multimodal Translation task"), in three layouts
under ``<data root>/multi30k/``:

- ``"tok"`` (default): ``tok/{train,val,test_2016_flickr}.lc.norm.tok.{en,de}`` of multi30k/dataset,
  lower-cased, normalised and Moses-tokenised; read as whitespace tokens. Moses' XML escapes stay
  as in the files (``man &apos;s``, ``&quot;``).
- ``"raw"``: ``raw/{train,val,test_2016_flickr}.{en,de}.gz`` of multi30k/dataset, the cased,
  untokenised captions.
- ``"wmt16"``: the original WMT16 tarballs ``wmt16_tarballs/{training,validation,
  mmt_task1_test2016}.tar.gz`` (what torchtext reads). Their text equals ``raw``'s except for 61
  German validation captions that multi30k/dataset later corrected.

Raw text (``"raw"``, ``"wmt16"``) is tokenised by ``tokenizer``: ``"13a"`` (default; lower-case,
then sacrebleu's 13a rule) or ``"whitespace"`` (cased words with their punctuation attached).
Every file is verified against its sha256 in ``shared/data/PROVENANCE.md`` before it is read.

**WMT15** En-De, the training set of the thesis's translation model ("453k pairs" of Europarl,
Common Crawl and News Commentary), is not redistributable here: a user supplies it as
``<data root>/wmt15/train.en`` and ``train.de``, tokenised, one sentence per line, line i of one
the translation of line i of the other. It is read unverified (the filtered 453k-pair selection
was never published).
"""
from __future__ import annotations

import io
import tarfile
from pathlib import Path

from ..errors import DataError, require
from .files import Checksum, data_root, verify
from .text import (
    ParallelCorpus,
    Tokenizer,
    lower_13a_tokens,
    parallel_corpus,
    read_lines,
    text_lines,
    user_file,
    whitespace_tokens,
)

SPLITS = ("train", "val", "test2016")
LANGUAGES = ("en", "de")  # source, target
LAYOUTS = ("tok", "raw", "wmt16")
TOKENIZERS: dict[str, Tokenizer] = {"13a": lower_13a_tokens, "whitespace": whitespace_tokens}

_STEMS = {"train": "train", "val": "val", "test2016": "test_2016_flickr"}  # multi30k/dataset's names
_TARBALLS = {"train": ("training.tar.gz", "train"), "val": ("validation.tar.gz", "val"),
             "test2016": ("mmt_task1_test2016.tar.gz", "test2016")}  # tarball, member stem

DATASET_URL = ("https://github.com/multi30k/dataset/raw/a3d2e0d26b56f3846f66a952536ffed4e401d05a/"
               "data/task1/")  # + "tok/<file>" or "raw/<file>"
TARBALL_URL = ("https://raw.githubusercontent.com/neychev/small_DL_repo/"
               "1cc0d4bf4c97119c73ae93411d361c040ce1394c/datasets/Multi30k/")
CHECKSUMS: dict[str, Checksum] = {  # file name -> sha256, from shared/data/PROVENANCE.md
    "train.en.gz": ("sha256", "d79cfa999dd4c51d2cb42499b6796d5a882c3a8a961923c25a898c90f8bbd56f"),
    "train.de.gz": ("sha256", "726e39b2fa9eb9ffb6dc763fb35a179f80fae06ffc5d28b6ace5faa883de28a6"),
    "val.en.gz": ("sha256", "14f7d25ddd868909a9213e361768460edcacdd6ab9d1e77b92560dc10c10dc28"),
    "val.de.gz": ("sha256", "f0cba2f995189cf5770f29a8a9a537a3ad3f51657ad873405082ff6863a5e75a"),
    "test_2016_flickr.en.gz": ("sha256", "611d361c6334bc7246101d48097c13cf5c4413c5befc793cc629934359d532d9"),
    "test_2016_flickr.de.gz": ("sha256", "9204244e408ccb38d2a55cfcd344df15005fc42a07a6e55ca6c52b6ababb8cc8"),
    "train.lc.norm.tok.en": ("sha256", "08925f8e0572bcd5a006702fc5fe20e2d77c6917d4eebd576fc20de6693c2119"),
    "train.lc.norm.tok.de": ("sha256", "cb5a23529b65ec2061f1dc446192a9c37382b63cc75f81a0be59d34894b3a505"),
    "val.lc.norm.tok.en": ("sha256", "46573ce391ae227f1c72f873392436a20ef18e0a6d518098cfbd70b77c8572ec"),
    "val.lc.norm.tok.de": ("sha256", "97232bd273eceb7207f689527386a97e4be2616b18ada47576bdaf96c8ae1f00"),
    "test_2016_flickr.lc.norm.tok.en": ("sha256", "5b7f32627cf99eced828311b955dae9800bb52bc8b91cf8b6526829e605b29d2"),
    "test_2016_flickr.lc.norm.tok.de": ("sha256", "c6a33d39d48f9f510de147651316cd9d918e09ad0219df734a2f16b6baccacc4"),
    "training.tar.gz": ("sha256", "20140d013d05dd9a72dfde46478663ba05737ce983f478f960c1123c6671be5e"),
    "validation.tar.gz": ("sha256", "a7aa20e9ebd5ba5adce7909498b94410996040857154dab029851af3a866da8c"),
    "mmt_task1_test2016.tar.gz": ("sha256", "876a95a689a2a20b243666951149fd42d9bfd57cbbf8cd2c79d3465451564dd2"),
}


def load_multi30k(
    split: str, root: str | Path | None = None, layout: str = "tok", tokenizer: str | None = None
) -> ParallelCorpus:
    """Multi30k En -> De ``split`` ("train" 29,000 pairs, "val" 1,014, "test2016" 1,000) read from
    ``layout``; ``tokenizer`` applies to the raw layouts (default ``"13a"``)."""
    require(split in SPLITS, f"unknown Multi30k split {split!r}; use one of: {', '.join(SPLITS)}")
    require(layout in LAYOUTS, f"unknown Multi30k layout {layout!r}; use one of: {', '.join(LAYOUTS)}")
    require(layout != "tok" or tokenizer is None, "the tok layout is already tokenised; pass no tokenizer")
    require(tokenizer is None or tokenizer in TOKENIZERS,
            f"unknown tokenizer {tokenizer!r}; use one of: {', '.join(TOKENIZERS)}")
    base = data_root(root)
    if layout == "wmt16":
        tarball, stem = _TARBALLS[split]
        archive = _verified(base, f"wmt16_tarballs/{tarball}", TARBALL_URL + tarball)
        sides = [(f"{tarball}:{stem}.{language}", _member_lines(archive, f"{stem}.{language}"))
                 for language in LANGUAGES]
    else:
        pattern = "tok/{}.lc.norm.tok.{}" if layout == "tok" else "raw/{}.{}.gz"
        files = [pattern.format(_STEMS[split], language) for language in LANGUAGES]
        sides = [(file, read_lines(_verified(base, file, DATASET_URL + file))) for file in files]
    tokenize = TOKENIZERS["whitespace" if layout == "tok" else tokenizer or "13a"]
    return parallel_corpus(f"multi30k-{layout}-{split}", sides[0], sides[1], tokenize)


def load_wmt15(root: str | Path | None = None) -> ParallelCorpus:
    """A user's WMT15 En -> De training corpus, ``<data root>/wmt15/train.{en,de}`` (unverified)."""
    base = data_root(root)
    how = ("the WMT15 En-De corpus is not distributed with this book: build it from Europarl v7, "
           "Common Crawl and News Commentary v10 (http://www.statmt.org/wmt15/translation-task.html), "
           f"tokenised, one sentence per line, as train.en and train.de in {base / 'wmt15'}")
    sides = [(f"train.{language}", read_lines(user_file(base, f"wmt15/train.{language}", "WMT15 file", how)))
             for language in LANGUAGES]
    return parallel_corpus("wmt15-train", sides[0], sides[1])


def _verified(base: Path, file: str, url: str) -> Path:
    """``<base>/multi30k/<file>`` checked against its sha256; a missing file is a
    :class:`DataError` that says where to get it."""
    relative = f"multi30k/{file}"
    how = f"download it from {url} into {(base / relative).parent}"
    path = user_file(base, relative, "Multi30k file", how)
    return verify(path, CHECKSUMS[path.name])


def _member_lines(archive: Path, member: str) -> list[str]:
    """The lines of ``member`` of the ``.tar.gz`` ``archive``."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            stream = tar.extractfile(member)
            if stream is None:
                raise KeyError(member)
            return text_lines(io.TextIOWrapper(stream, encoding="utf-8"), f"{archive}:{member}")
    except (KeyError, OSError, tarfile.TarError) as error:
        raise DataError(f"cannot read {member} from {archive}: {error}") from None
