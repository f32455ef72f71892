"""The summarisation half of Chapter 3.1 (Seq2Sick, thesis §3.1.3-3.1.4): a headline generator
trained on Gigaword, attacked on Gigaword, DUC2003 and DUC2004 sentences.

- **Table 3.2**: the non-overlap attack on each set: success rate, BLEU to the original input,
  words changed.
- **Table 3.3**: the targeted keywords attack with |K| = 1, 2, 3 on each set.
- **Table 3.5** (its summarisation columns): perplexity of the DUC2003 and DUC2004 inputs, original
  and adversarial.
- **Tables 3.7 and 3.8**: examples, non-overlap and the keywords "police arrest".

Every table comes back beside the thesis's numbers (``data/thesis/table_3_*.csv``).

Gigaword (LDC) and DUC2003 (NIST) cannot ship with this book; DUC2004's 500 sentences do. The
loaders (:func:`~advrobust.data.load_gigaword`, :func:`~advrobust.data.load_duc`) decide what is
present: without Gigaword's training and test files :func:`summarisation_tables` returns the
thesis's tables as printed, marked "Not run: Gigaword absent" with the loader's message saying
where the files go; without a DUC set, that set's rows are NaN and the captions say why.

Departures and choices the thesis leaves open:

- the training pairs are the first ``train_pairs`` of Rush et al.'s training files (the thesis:
  "380k training pairs", unspecified); Gigaword's attacked sentences are a seeded choice from the
  1,951 test sentences, kept in file order (the thesis: 1,000 "randomly chosen");
- the summariser's embeddings are trained from scratch; the thesis's GloVe-300 variant is not run.
  ``quick`` trains a reduced summariser (embedding 128, hidden 256, one layer, 50,000 pairs, 2
  epochs); every profile trains with Adam, not OpenNMT's SGD (:mod:`advrobust.training.text`);
- keywords come from a frequency band of the title vocabulary, the translation page's stated rule
  (:mod:`advrobust.text.keywords`), without Rush et al.'s ``UNK`` (their files are lower-cased
  and ``UNK`` is alphabetic, so the band would offer it as a word); Table 3.8 uses "police" and
  "arrest", or drawn keywords when the title vocabulary lacks one;
- the examples attack the thesis's own source sentences where a set holds them (DUC2004 holds
  five of the six), else the first sentences of the sets;
- BLEU and "# changed" average over the successful attacks; the perplexity of an attack's row over
  its successful adversarial inputs, the "Original" row over every attacked sentence, under our
  word-level LSTM language model trained on the summariser's training articles (the thesis names
  none).
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from ..data import (
    ParallelCorpus,
    TensorData,
    load_duc,
    load_gigaword,
    pad_sequences,
)
from ..data.text import Sentence
from ..data.vocab import PAD, Vocabulary
from ..errors import DataError, require
from ..jobs.unit import Unit
from ..jobs.units import stage
from ..models import LanguageModel, Seq2Seq
from ..profiles.summarisation import SummarisationSettings, summarisation
from ..tables import beside_thesis, thesis_table
from ..text.keywords import draw_keywords, keyword_band
from ..text.seq2sick import Seq2SickResult
from ..training.text import TextTrainConfig, trained_text_model
from .ch3_seq2sick import (
    CHAPTER,
    DECIMALS,
    NON_OVERLAP,
    UNKNOWN_SIZE,
    TextCorpus,
    attack_rows,
    attack_summary,
    keyword_row,
    text_corpus,
    text_work,
)

GIGAWORD = "Gigaword"
DUC_SETS: dict[str, Callable[[], tuple[Sentence, ...]]] = {"DUC2003": lambda: load_duc(2003),
                                                          "DUC2004": lambda: load_duc(2004)}
NOT_RUN = "Not run: Gigaword absent"
SUMMARISER, SUMMARISATION_LM = "summariser", "summarisation-lm"  # the trained text models, as roles and unit names
VALUES = ["success", "bleu", "changed"]
EXAMPLE_ROWS = ("Source input seq", "Adv input seq", "Source output seq", "Adv output seq")

# name on the page -> (the thesis's table in data/thesis, caption)
TABLES = {
    "table_3_2": ("table_3_2", ("Table 3.2: non-overlap attack on the summariser: success rate, BLEU to the "
                                "original input and words changed (both over successful attacks)")),
    "table_3_3": ("table_3_3", "Table 3.3: targeted keywords attack on the summariser, |K| keywords"),
    "table_3_5_duc": ("table_3_5", "Table 3.5: perplexity of the DUC2003 and DUC2004 inputs, original and adversarial"),
    "table_3_7": ("table_3_7", "Table 3.7: summarisation examples, non-overlap"),
    "table_3_8": ("table_3_8", "Table 3.8: summarisation examples, targeted keywords (the thesis: \"police arrest\")"),
}


@dataclass(frozen=True)
class SummarisationData:
    """What the summarisation tables need, as found on disk."""

    train: ParallelCorpus  # Gigaword article -> title training pairs
    sets: dict[str, tuple[Sentence, ...]]  # the attacked sets present: Gigaword's test articles, DUC
    absent: dict[str, str]  # each DUC set absent or unreadable -> the loader's message


@dataclass(frozen=True)
class Summariser:
    """The attacked headline generator, its vocabularies and Table 3.5's language model."""

    model: Seq2Seq
    source: Vocabulary  # article words
    target: Vocabulary  # title words
    language_model: LanguageModel  # on the articles, in the source vocabulary


# ------------------------------------------------------------------------------ data and models


def summarisation_data(settings: SummarisationSettings) -> SummarisationData:
    """Gigaword's first ``settings.train_pairs`` training pairs and test articles (a one-line
    :class:`DataError` when either is missing or unreadable), and whichever DUC sets load."""
    train = load_gigaword("train", max_pairs=settings.train_pairs)
    checked_sentences(f"{GIGAWORD} train", train.source)
    sets = {GIGAWORD: checked_sentences(f"{GIGAWORD} test", load_gigaword("test").source)}
    absent = {}
    for name, read in DUC_SETS.items():
        try:
            sets[name] = checked_sentences(name, read())
        except DataError as error:
            absent[name] = str(error)
    return SummarisationData(train, sets, absent)


def checked_sentences(name: str, sentences: tuple[Sentence, ...]) -> tuple[Sentence, ...]:
    """``sentences`` (articles) if there are some and none is empty (the encoder needs a word),
    else a one-line :class:`DataError` naming the first empty line."""
    empty = next((line for line, sentence in enumerate(sentences, start=1) if not sentence), None)
    if not sentences or empty is not None:
        raise DataError(f"{name}: " + (f"line {empty} is empty" if empty else "no sentences")
                        + "; every article needs at least one word")
    return sentences


def summarisation_configs(settings: SummarisationSettings, pairs: int, source_words: int,
                          target_words: int) -> dict[str, TextTrainConfig]:
    """The training runs of the summariser and of Table 3.5's language model, by role, on
    ``pairs`` training pairs, given the vocabulary sizes."""
    return {SUMMARISER: settings.summariser_config(pairs, source_words, target_words),
            SUMMARISATION_LM: settings.language_model_config(pairs, source_words)}


def summarisation_model(train: ParallelCorpus, settings: SummarisationSettings, role: str,
                        device: torch.device | str, corpus: TextCorpus | None = None) -> nn.Module:
    """Train (or read from the cache) the model ``role`` of :func:`summarisation_configs` on
    ``train`` (``corpus``: its ids, built when not given)."""
    corpus = corpus if corpus is not None else text_corpus(train, settings.min_freq, settings.max_vocabulary)
    return trained_text_model(summarisation_configs(settings, len(train), *corpus.sizes())[role], corpus.pairs, device)


def summariser(train: ParallelCorpus, settings: SummarisationSettings, device: torch.device | str) -> Summariser:
    """Train (or read from the cache) the summariser and the language model of ``settings`` on
    ``train`` (§3.1.3: a 2-layer 500-unit LSTM with attention on 380k Gigaword pairs)."""
    corpus = text_corpus(train, settings.min_freq, settings.max_vocabulary)
    model = summarisation_model(train, settings, SUMMARISER, device, corpus)
    lm = summarisation_model(train, settings, SUMMARISATION_LM, device, corpus)
    assert isinstance(model, Seq2Seq) and isinstance(lm, LanguageModel)
    return Summariser(model, corpus.source, corpus.target, lm)


def source_data(sentences: Sequence[Sentence], vocabulary: Vocabulary, name: str) -> TensorData:
    """Source sentences alone (DUC has no reference summaries) as Seq2Sick's input: ``x`` (N, S)
    their ids then PAD, without BOS/EOS (as :func:`~advrobust.data.sequence_pairs`' sources), and
    ``y`` (N,) each sentence's 0-based line in its set, which :meth:`TensorData.subset` keeps."""
    ids = pad_sequences([vocabulary.encode(sentence) for sentence in sentences], PAD)
    return TensorData(ids, torch.arange(len(sentences)), vocabulary.words, name, PAD)


def attacked_sets(data: SummarisationData, bundle: Summariser, settings: SummarisationSettings,
                  device: torch.device | str) -> dict[str, TensorData]:
    """Each present set's attacked sentences: at most ``settings.sentences``, a seeded choice in
    file order, as padded ids on ``device``."""
    return {name: source_data(sentences, bundle.source, name).subset(settings.sentences, 0).to(device)
            for name, sentences in data.sets.items()}


# ------------------------------------------------------------------------------ the attacks


def keyword_candidates(bundle: Summariser, settings: SummarisationSettings) -> list[int]:
    """Keyword ids by the stated rule (:func:`~advrobust.text.keywords.keyword_band` of the title
    vocabulary), without Rush et al.'s ``UNK``, the one word of their files that is not lower-case."""
    return [i for i in keyword_band(bundle.target, *settings.keyword_band) if bundle.target.words[i].islower()]


def sentence_keywords(bundle: Summariser, settings: SummarisationSettings, originals: Sequence[Sequence[int]],
                      count: int) -> Tensor:
    """(N, ``count``) keywords per sentence, none in its original output, seeded (§3.1.4)."""
    return draw_keywords(originals, keyword_candidates(bundle, settings), count, settings.keyword_seed)


def run_attacks(bundle: Summariser, data: TensorData, settings: SummarisationSettings) -> dict[str, Seq2SickResult]:
    """Tables 3.2 and 3.3's attacks on one set: non-overlap (λ = 1), then each keyword count."""
    return attack_rows(bundle.model, data, settings.non_overlap, settings.keywords, settings.keyword_counts,
                       lambda originals, count: sentence_keywords(bundle, settings, originals, count))


# ------------------------------------------------------------------------------ Tables 3.2, 3.3, 3.5


def beside(rows: Iterable[Mapping[str, object]], table: str, on: list[str], profile: str) -> pd.DataFrame:
    """Our rows of success, BLEU and words changed beside the thesis's ``table``, with our
    sentences and mean iterations; a set we did not run keeps NaN in our columns."""
    ours = pd.DataFrame(list(rows), columns=[*on, *VALUES, "iterations", "sentences"])
    shown = beside_thesis(ours, thesis_table(table), on=on, profile=profile, values=VALUES)
    for extra in ("iterations", "sentences"):
        shown[(extra, f"ours ({profile})")] = ours.set_index(on)[extra]
    return shown.round(DECIMALS)


def table_3_2(runs: Mapping[str, Mapping[str, Seq2SickResult]], data: Mapping[str, TensorData],
              bundle: Summariser, profile: str) -> pd.DataFrame:
    """Table 3.2: the non-overlap attack on each set, beside the thesis."""
    return beside(({"dataset": name, "sentences": len(data[name]),
                    **attack_summary(attacks[NON_OVERLAP], data[name].x, bundle.source)}
                   for name, attacks in runs.items()), "table_3_2", ["dataset"], profile)


def table_3_3(runs: Mapping[str, Mapping[str, Seq2SickResult]], data: Mapping[str, TensorData],
              bundle: Summariser, settings: SummarisationSettings, profile: str) -> pd.DataFrame:
    """Table 3.3: the keyword attack with each |K| on each set, beside the thesis."""
    return beside(({"dataset": name, "keywords": count, "sentences": len(data[name]),
                    **attack_summary(attacks[keyword_row(count)], data[name].x, bundle.source)}
                   for name, attacks in runs.items() for count in settings.keyword_counts),
                  "table_3_3", ["dataset", "keywords"], profile)


def corpus_perplexity(lm: LanguageModel, ids: Tensor, lengths: Tensor) -> float:
    """The corpus perplexity of the sentences ``ids`` (NaN when there are none)."""
    return lm.perplexity(ids, lengths).corpus if len(ids) else np.nan


def table_3_5(runs: Mapping[str, Mapping[str, Seq2SickResult]], data: Mapping[str, TensorData],
              bundle: Summariser, profile: str) -> pd.DataFrame:
    """Table 3.5 on DUC2003 and DUC2004: the perplexity of the attacked sentences ("Original") and
    of each attack's successful adversarial sentences, beside the thesis."""
    rows = []
    for name in (n for n in DUC_SETS if n in runs):
        lengths = data[name].lengths()
        rows.append({"method": "Original", "dataset": name,
                     "perplexity": corpus_perplexity(bundle.language_model, data[name].x, lengths)})
        for method, run in runs[name].items():
            ok = run.result.success
            rows.append({"method": method, "dataset": name,
                         "perplexity": corpus_perplexity(bundle.language_model, run.result.x_adv[ok], lengths[ok])})
    ours = pd.DataFrame(rows, columns=["method", "dataset", "perplexity"])
    return beside_thesis(ours, thesis_table("table_3_5"), on=["method", "dataset"], profile=profile).round(2)


# ------------------------------------------------------------------------------ Tables 3.7 and 3.8


def comparable(text: str) -> str:
    """A sentence as the thesis's tables and Rush et al.'s files both print it: lower-case, no
    spaces, ’ as ', no closing full stop."""
    return "".join(text.lower().replace("’", "'").split()).rstrip(".")


def example_places(sets: Mapping[str, Sequence[Sentence]], table: str) -> list[tuple[str, int]]:
    """(set, 0-based line) of each of ``table``'s source sentences where a set holds it, else of
    the first sentences of the sets not already chosen."""
    where: dict[str, tuple[str, int]] = {}
    for name, sentences in sets.items():
        for line, sentence in enumerate(sentences):
            where.setdefault(comparable(" ".join(sentence)), (name, line))
    thesis = thesis_table(table)
    require(len(where) >= (thesis["row"] == EXAMPLE_ROWS[0]).sum(), f"too few distinct sentences for {table}")
    found = [where.get(comparable(text)) for text in thesis.loc[thesis["row"] == EXAMPLE_ROWS[0], "text"]]
    spare = ((name, line) for name, sentences in sets.items() for line in range(len(sentences))
             if (name, line) not in found)
    return [place if place is not None else next(spare) for place in found]


def example_keywords(bundle: Summariser, settings: SummarisationSettings, data: TensorData) -> Tensor:
    """(N, K) Table 3.8's keywords for each example; drawn by the stated rule for each sentence
    instead when the title vocabulary lacks one of them."""
    wanted = settings.example_keywords
    if all(word in bundle.target for word in wanted):
        return torch.tensor([[bundle.target.id(word) for word in wanted]] * len(data), device=data.x.device)
    with torch.no_grad():
        originals = bundle.model.translate(data.x, data.lengths())
    return sentence_keywords(bundle, settings, originals, len(wanted)).to(data.x.device)


def example_table(bundle: Summariser, settings: SummarisationSettings, sets: Mapping[str, Sequence[Sentence]],
                  table: str, device: torch.device | str, profile: str) -> pd.DataFrame:
    """Table 3.7 (non-overlap) or 3.8 (keywords) on the thesis's source sentences, ours beside the
    thesis's, with rows saying where each sentence is from, whether the attack succeeded and, for
    Table 3.8, the keywords."""
    places = example_places(sets, table)
    data = source_data([sets[name][line] for name, line in places], bundle.source, table).to(device)
    lengths = data.lengths()
    keywords = example_keywords(bundle, settings, data) if table == "table_3_8" else None
    spec = settings.non_overlap if keywords is None else settings.keywords
    run = spec.build(bundle.model).run(data.x, lengths, keywords)
    rows = []
    for i, (name, line) in enumerate(places):
        texts = [bundle.source.decode(data.x[i].tolist()), bundle.source.decode(run.result.x_adv[i].tolist()),
                 bundle.target.decode(run.original_outputs[i]), bundle.target.decode(run.adversarial_outputs[i])]
        shown = {row: " ".join(words) for row, words in zip(EXAMPLE_ROWS, texts, strict=True)}
        shown |= {"from": f"{name} line {line + 1}", "success": str(bool(run.result.success[i]))}
        if keywords is not None:
            shown["keywords"] = " ".join(bundle.target.words[k] for k in keywords[i].tolist())
        rows += [{"example": i + 1, "row": row, "text": text} for row, text in shown.items()]
    joined = beside_thesis(pd.DataFrame(rows), thesis_table(table), on=["example", "row"], profile=profile)
    return joined.reindex(sorted(joined.index, key=lambda key: key[0]))  # our rows under their example


# ------------------------------------------------------------------------------ the page's entry point


def quoted_tables(message: str) -> dict[str, tuple[pd.DataFrame, str]]:
    """The thesis's tables as printed, each caption marked "Not run: Gigaword absent" with
    ``message`` (the loader's line: what is missing and where it goes)."""
    return {name: (thesis_table(source), f"{caption}, as printed. {NOT_RUN}. {message}")
            for name, (source, caption) in TABLES.items()}


def computed_tables(found: SummarisationData, settings: SummarisationSettings, device: torch.device | str,
                    profile: str) -> dict[str, tuple[pd.DataFrame, str]]:
    """Every summarisation table run on the data ``found``, ours beside the thesis's."""
    bundle = summariser(found.train, settings, device)
    data = attacked_sets(found, bundle, settings, device)
    runs = {name: run_attacks(bundle, sentences, settings) for name, sentences in data.items()}
    scope = (f" Thesis beside ours: {', '.join(f'{len(d)} {name}' for name, d in data.items())} sentences; "
             f"{settings.describe()}; trained on {len(found.train):,} pairs.")
    scope += "".join(f" {name} not run: {message}" for name, message in found.absent.items())
    tables = {"table_3_2": table_3_2(runs, data, bundle, profile),
              "table_3_3": table_3_3(runs, data, bundle, settings, profile),
              "table_3_5_duc": table_3_5(runs, data, bundle, profile),
              "table_3_7": example_table(bundle, settings, found.sets, "table_3_7", device, profile),
              "table_3_8": example_table(bundle, settings, found.sets, "table_3_8", device, profile)}
    return {name: (table, f"{TABLES[name][1]}.{scope}") for name, table in tables.items()}


def summarisation_tables(settings: SummarisationSettings, device: torch.device | str,
                         profile: str) -> dict[str, tuple[pd.DataFrame, str]]:
    """Tables 3.2, 3.3, 3.5 (DUC columns), 3.7 and 3.8 with their captions, by page name: run
    when Gigaword's training and test files are present (a DUC set that is absent keeps NaN rows),
    else the thesis's as printed, marked "Not run: Gigaword absent" with the loader's message."""
    try:
        found = summarisation_data(settings)
    except DataError as error:
        return quoted_tables(str(error))
    return computed_tables(found, settings, device, profile)


# ------------------------------------------------------------------------------ the jobs


def train_summarisation_model(settings: SummarisationSettings, role: str, device: torch.device | str) -> nn.Module:
    """What the page trains of the model ``role``: :func:`summarisation_model` on the data
    :func:`summarisation_data` finds, which raises its :class:`DataError` when Gigaword is
    absent (the page then quotes the thesis and trains nothing)."""
    return summarisation_model(summarisation_data(settings).train, settings, role, device)


# What the estimates of the units' cost assume of Gigaword, which a plan may not read: the mean words
# of an article (the thesis's Table 3.1: 30.1 on its test sample) and of a title (assumed 8, a
# headline's length). The vocabulary sizes are assumed to reach the profile's cap; a profile
# without a cap gets no estimate.
GIGAWORD_LENGTHS = (30, 8)


def units(profile: str, seed: int = 0) -> list[Unit]:
    """The units the chapter page ch03_seq2sick needs at ``profile`` for its summarisation half
    (the translation half's are :func:`.ch3_seq2sick.units`): the summariser and Table 3.5's
    language model, each a stage (:func:`~advrobust.jobs.units.stage`) running
    :func:`train_summarisation_model`, since their run directories hash the number of pairs read
    and the vocabulary sizes, which only the data tells. A stage's settings are the model's
    training config with ``settings.train_pairs`` pairs and the sizes left at
    :data:`~.ch3_seq2sick.UNKNOWN_SIZE`; its cost, :func:`~.ch3_seq2sick.text_work` with
    :data:`GIGAWORD_LENGTHS` and both vocabularies at ``settings.max_vocabulary`` (none without
    a cap). They are listed whether or not Gigaword is present (without it their run raises the
    loader's DataError). The page's ``seed`` trains nothing differently, so the units are the
    same at every seed. The Seq2Sick attacks are not cached, so they are no units."""
    settings = summarisation(profile)
    cap = settings.max_vocabulary
    work = {} if cap is None else {
        role: text_work(config, settings.train_pairs, GIGAWORD_LENGTHS)
        for role, config in summarisation_configs(settings, settings.train_pairs, cap, cap).items()}
    configs = summarisation_configs(settings, settings.train_pairs, UNKNOWN_SIZE, UNKNOWN_SIZE)
    return [stage(role, "text-train", CHAPTER, functools.partial(train_summarisation_model, settings, role), config,
                  work=work.get(role))
            for role, config in configs.items()]
