"""The machine-translation experiments of Chapter 3.1 (Seq2Sick) as functions of the profile's
settings: the translator and its BLEU, Table 3.1's statistics, Table 3.4's attacks, Table 3.5's
perplexity (a proxy on the translator's inputs), Table 3.6's examples, and the measurements that
explain them (the attack's steps, its variants, the keywords' reach). The summarisation tables
are :mod:`.ch3_summarisation`'s. Every table comes back beside the thesis's numbers
(``data/thesis/table_3_*.csv``), and the claims with bootstrap intervals over the sentences.

Averages, as the thesis leaves them open: BLEU and "# changed" average over the successful
attacks; the perplexity of an attack's row over its successful adversarial inputs, the
"Original" row over every attacked sentence.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from ..attacks.base import eval_mode
from ..attacks.spec import AttackSpec
from ..data import (
    ParallelCorpus,
    TensorData,
    load_duc,
    load_gigaword,
    load_multi30k,
    sequence_pairs,
    text_statistics,
)
from ..data.vocab import Vocabulary
from ..errors import DataError
from ..jobs.unit import Unit, Work
from ..jobs.units import stage
from ..models import LanguageModel, Seq2Seq
from ..profiles.seq2sick import Seq2SickSettings, seq2sick
from ..tables import beside_thesis, thesis_table
from ..text.keywords import draw_keywords, keyword_band
from ..text.metrics import corpus_bleu, sentence_bleu
from ..text.seq2sick import Seq2Sick, Seq2SickResult
from ..training.text import TextTrainConfig, text_training_rate, trained_text_model
from .claims import Claim, Effect, Part, joint_claim, judged, mean_effect, paired_effect

DECIMALS = 4
NON_OVERLAP = "Non-overlap"
CHAPTER = "ch03_seq2sick"  # the page of both the translation and the summarisation units
TRANSLATOR, TRANSLATION_LM = "translator", "translation-lm"  # the trained text models, as roles and unit names
UNKNOWN_SIZE = 0  # a vocabulary size in a unit's settings: the data decides it, and data_key names the data


def keyword_row(count: int) -> str:
    """Table 3.4's row name of the ``count``-keyword attack."""
    return f"{count}-keyword"


@dataclass(frozen=True)
class Translation:
    """The attacked translator, its vocabularies, Table 3.5's language model and the test set."""

    model: Seq2Seq
    source: Vocabulary
    target: Vocabulary
    language_model: LanguageModel
    test: ParallelCorpus  # test2016, all 1,000 pairs


def training_pairs(settings: Seq2SickSettings) -> ParallelCorpus:
    """Multi30k's training pairs (a seeded subset when the profile asks for one)."""
    train = load_multi30k("train", layout=settings.layout)
    return train.subset(settings.train_pairs, 0) if settings.train_pairs else train


@dataclass(frozen=True)
class TextCorpus:
    """Training pairs as padded ids of the vocabularies built on them (the translator's, the
    summariser's)."""

    source: Vocabulary
    target: Vocabulary
    pairs: TensorData

    def sizes(self) -> tuple[int, int]:
        """(source words, target words): what the models' configs need of the vocabularies."""
        return len(self.source), len(self.target)


def text_corpus(train: ParallelCorpus, min_freq: int, max_vocabulary: int | None) -> TextCorpus:
    """``train``'s pairs as ids of its source and target vocabularies (words seen at least
    ``min_freq`` times, at most ``max_vocabulary`` of them)."""
    source = Vocabulary.build(train.source, min_freq, max_vocabulary)
    target = Vocabulary.build(train.target, min_freq, max_vocabulary)
    return TextCorpus(source, target, sequence_pairs(train, source, target))


def translation_configs(settings: Seq2SickSettings, source_words: int, target_words: int) -> dict[str, TextTrainConfig]:
    """The training runs of the translator and of Table 3.5's language model, by role, given the
    vocabulary sizes."""
    return {TRANSLATOR: settings.translator_config(source_words, target_words),
            TRANSLATION_LM: settings.language_model_config(source_words)}


def translation_model(settings: Seq2SickSettings, role: str, device: torch.device | str,
                      corpus: TextCorpus | None = None) -> nn.Module:
    """Train (or read from the cache) the model ``role`` of :func:`translation_configs` on
    ``corpus`` (Multi30k's training pairs of ``settings``, read when not given)."""
    corpus = corpus if corpus is not None else text_corpus(training_pairs(settings), settings.min_freq,
                                                           settings.max_vocabulary)
    return trained_text_model(translation_configs(settings, *corpus.sizes())[role], corpus.pairs, device)


def translation(settings: Seq2SickSettings, device: torch.device | str) -> Translation:
    """Train (or read from the cache) the translator and the language model of ``settings``."""
    corpus = text_corpus(training_pairs(settings), settings.min_freq, settings.max_vocabulary)
    model = translation_model(settings, TRANSLATOR, device, corpus)
    lm = translation_model(settings, TRANSLATION_LM, device, corpus)
    assert isinstance(model, Seq2Seq) and isinstance(lm, LanguageModel)
    return Translation(model, corpus.source, corpus.target, lm, load_multi30k("test2016", layout=settings.layout))


def encoded(corpus: ParallelCorpus, bundle: Translation, device: torch.device | str) -> TensorData:
    """``corpus`` as padded ids of ``bundle``'s vocabularies, on ``device``."""
    return sequence_pairs(corpus, bundle.source, bundle.target).to(device)


def translator_quality(bundle: Translation, settings: Seq2SickSettings, device: torch.device | str) -> pd.DataFrame:
    """Corpus BLEU (sacrebleu, tokenised lower-cased text) of the translator on all of test2016."""
    data = encoded(bundle.test, bundle, device)
    beam = int(settings.non_overlap.settings.get("beam_size", 1))
    with torch.no_grad():
        outputs = bundle.model.translate(data.x, data.lengths(), beam_size=beam, max_len=2 * data.x.shape[1])
    hypotheses = [bundle.target.decode(o) for o in outputs]
    bleu = corpus_bleu(hypotheses, [list(t) for t in bundle.test.target])
    return pd.DataFrame([{"test set": "Multi30k test2016", "sentences": len(outputs), "beam": beam, "BLEU": bleu,
                          "source words": len(bundle.source), "target words": len(bundle.target)}])


# ------------------------------------------------------------------------------ Table 3.1


def table_3_1(profile: str) -> pd.DataFrame:
    """Table 3.1: samples and mean input length. Multi30k: the first 500 test2016 sentences in
    raw whitespace words (the count that comes nearest the thesis's 11.5); DUC2004: the author's
    file; Gigaword and DUC2003 from the files when a user has them, else NaN."""
    rows = [{"dataset": "Multi30k", **text_statistics(
        load_multi30k("test2016", layout="raw", tokenizer="whitespace").source[:500])._asdict()},
        {"dataset": "DUC2004", **text_statistics(load_duc(2004))._asdict()}]
    for dataset, read in (("DUC2003", lambda: load_duc(2003)), ("Gigaword", lambda: load_gigaword("test").source)):
        try:
            rows.append({"dataset": dataset, **text_statistics(read())._asdict()})
        except DataError:
            rows.append({"dataset": dataset, "samples": np.nan, "mean_length": np.nan})
    ours = pd.DataFrame(rows)
    return beside_thesis(ours, thesis_table("table_3_1"), on=["dataset"], profile=profile).round(3)


# ------------------------------------------------------------------------------ Table 3.4


def attacked(bundle: Translation, settings: Seq2SickSettings, device: torch.device | str) -> TensorData:
    """The profile's test2016 sentences (a seeded choice, in corpus order) as padded ids."""
    return encoded(bundle.test.subset(settings.sentences, 0), bundle, device)


def sentence_keywords(bundle: Translation, settings: Seq2SickSettings, originals: Sequence[Sequence[int]],
                      count: int) -> Tensor:
    """(N, ``count``) keyword ids for the sentences whose original outputs are ``originals``, drawn
    by the stated rule (:mod:`advrobust.text.keywords`): the profile's frequency band, seeded."""
    return draw_keywords(originals, keyword_band(bundle.target, *settings.keyword_band), count, settings.keyword_seed)


def attack_rows(model: Seq2Seq, data: TensorData, non_overlap: AttackSpec[Seq2Sick], keywords: AttackSpec[Seq2Sick],
                counts: Sequence[int], draw: Callable[[list[list[int]], int], Tensor]) -> dict[str, Seq2SickResult]:
    """One set's rows of Tables 3.2-3.4: the non-overlap attack on ``data``, then the keyword attack
    for each count in ``counts``, with ``draw(original outputs, count)`` keywords per sentence."""
    lengths = data.lengths()
    results = {NON_OVERLAP: non_overlap.build(model).run(data.x, lengths)}
    originals = results[NON_OVERLAP].original_outputs
    for count in counts:
        results[keyword_row(count)] = keywords.build(model).run(data.x, lengths, draw(originals, count).to(data.x.device))
    return results


def run_attacks(bundle: Translation, data: TensorData, settings: Seq2SickSettings) -> dict[str, Seq2SickResult]:
    """Table 3.4's attacks on ``data``, keywords drawn against each sentence's original output
    (:func:`sentence_keywords`)."""
    return attack_rows(bundle.model, data, settings.non_overlap, settings.keywords, settings.keyword_counts,
                       lambda originals, count: sentence_keywords(bundle, settings, originals, count))


def input_words(ids: Tensor, vocabulary: Vocabulary) -> list[list[str]]:
    """The words of padded source ids (N, S)."""
    return [vocabulary.decode(row) for row in ids.tolist()]


def attack_summary(run: Seq2SickResult, clean: Tensor, vocabulary: Vocabulary) -> dict[str, float]:
    """Success rate (over the sentences with an output to attack), and BLEU to the original input
    and words changed over the successful attacks."""
    result = run.result
    ok = result.success
    adversarial, original = input_words(result.x_adv, vocabulary), input_words(clean, vocabulary)
    bleu = [sentence_bleu(a, o) for a, o, s in zip(adversarial, original, ok.tolist(), strict=True) if s]
    return {"success": result.success_rate, "bleu": float(np.mean(bleu)) if bleu else np.nan,
            "changed": result.mean_distance("words_changed"), "iterations": float(result.queries.double().mean())}


def table_3_4(results: Mapping[str, Seq2SickResult], data: TensorData, bundle: Translation,
              profile: str) -> pd.DataFrame:
    """Table 3.4: success rate, BLEU and words changed of each attack, beside the thesis."""
    ours = pd.DataFrame([{"method": name, **attack_summary(run, data.x, bundle.source)} for name, run in results.items()])
    shown = beside_thesis(ours, thesis_table("table_3_4"), on=["method"], profile=profile,
                          values=["success", "bleu", "changed"])
    shown[("iterations", f"ours ({profile})")] = ours.set_index("method")["iterations"]
    return shown.round(DECIMALS)


def _tenth_of_the_rates(spec: AttackSpec[Seq2Sick]) -> AttackSpec[Seq2Sick]:
    return spec.replace(learning_rates=tuple(lr / 10 for lr in spec.settings.get("learning_rates", (2.0,))))


# Variants of the attack measured beside the profile's (Table 3.4's) on a few sentences: Algorithm 6's
# literal projection, the author's code's effective λ2 = 0 (its gradient-regularisation term is
# detached), and learning rates a tenth of the author's (our embedding space is smaller than the steps).
VARIANTS: dict[str, Callable[[AttackSpec[Seq2Sick]], AttackSpec[Seq2Sick]]] = {
    "straight-through, λ1 = λ2 = 1 (Table 3.4)": lambda spec: spec,
    "literal projection (Algorithm 6)": lambda spec: spec.replace(projection="literal"),
    "λ2 = 0 (the author's code: the term is detached)": lambda spec: spec.replace(lambda2=0.0),
    "η a tenth of the author's": _tenth_of_the_rates,
}


def attack_variants(bundle: Translation, data: TensorData, settings: Seq2SickSettings) -> pd.DataFrame:
    """Non-overlap and one keyword on the first ``settings.variant_sentences`` attacked sentences,
    with the profile's attack and each variant of :data:`VARIANTS`: success rate, words changed
    (successful attacks) and mean iterations."""
    sentences = data.x[: settings.variant_sentences]
    lengths = data.lengths()[: settings.variant_sentences]
    keywords = sentence_keywords(bundle, settings, bundle.model.translate(sentences, lengths), 1)
    rows = []
    for variant, change in VARIANTS.items():
        for name, spec, wanted in ((NON_OVERLAP, settings.non_overlap, None),
                                   (keyword_row(1), settings.keywords, keywords.to(sentences.device))):
            result = change(spec).build(bundle.model).run(sentences, lengths, wanted).result
            rows.append({"method": name, "variant": variant, "success": result.success_rate,
                         "changed": result.mean_distance("words_changed"),
                         "iterations": float(result.queries.double().mean())})
    return pd.DataFrame(rows).set_index(["method", "variant"]).round(DECIMALS)


def embedding_scale(bundle: Translation, data: TensorData, settings: Seq2SickSettings) -> pd.DataFrame:
    """The attack's steps against the source embedding space, measured on the first
    ``settings.variant_sentences`` attacked sentences.

    The space: the median word-embedding norm and the median distance from a word to its nearest
    other word (a word changes when x_i + δ_i passes about half of it). The steps, per goal
    (non-overlap; one keyword): the median over words of ‖∇_{δ_i} L‖ at δ = 0, the share of words
    where it exceeds λ1 (Algorithm 6's group-lasso prox zeroes, at every iteration, a δ_i the
    gradient does not push beyond ηλ1, so only those words accumulate a perturbation), and, for
    each learning rate η, the median first step η‖∇_{δ_i} L‖ of each sentence's most-pushed word.
    """
    words = bundle.model.src_embedding.weight.detach()[4:]
    distances = torch.cdist(words, words)
    distances.fill_diagonal_(float("inf"))
    rows = [{"quantity": "median word-embedding norm", "value": float(words.norm(dim=1).median())},
            {"quantity": "median distance to the nearest other word", "value": float(distances.amin(dim=1).median())}]
    sentences, lengths = data.x[: settings.variant_sentences], data.lengths()[: settings.variant_sentences]
    keywords = sentence_keywords(bundle, settings, bundle.model.translate(sentences, lengths), 1).to(sentences.device)
    for name, spec, wanted in ((NON_OVERLAP, settings.non_overlap, None),
                               (keyword_row(1), settings.keywords, keywords)):
        attack = spec.build(bundle.model)
        gradient = attack.goal_gradient(sentences, lengths, wanted)
        per_word = gradient[gradient > 0]
        rows += [{"quantity": f"{name}: median ‖∇_δi L‖ at δ = 0", "value": float(per_word.median())},
                 {"quantity": f"{name}: share of words with ‖∇_δi L‖ > λ1 = {attack.lambda1:g}",
                  "value": float((per_word > attack.lambda1).double().mean())}]
        rows += [{"quantity": f"{name}: η = {lr:g}, median first step of the most-pushed word",
                  "value": lr * float(gradient.amax(dim=1).median())} for lr in attack.learning_rates]
    return pd.DataFrame(rows).set_index("quantity").round(DECIMALS)


def keyword_reach(bundle: Translation, data: TensorData, settings: Seq2SickSettings,
                  run: Seq2SickResult) -> pd.DataFrame:
    """One-keyword success against how far the keyword starts from the output: for each sentence,
    the keyword's best rank among the logits of the clean input's greedy decoding (over the steps
    the attack decodes; rank 0 is the top word), binned, with the attack's success rate per bin."""
    lengths = data.lengths()
    keywords = sentence_keywords(bundle, settings, run.original_outputs, 1).to(data.x.device)
    steps = max(len(output) for output in run.original_outputs) + 1 + int(settings.keywords.settings.get("extra_steps", 2))
    with eval_mode(bundle.model), torch.no_grad():
        logits, _ = bundle.model.greedy_embedded(bundle.model.src_embedding(data.x), lengths, steps)
    keyword_logit = logits.gather(2, keywords.unsqueeze(1).expand(-1, steps, 1))
    rank = (logits > keyword_logit).sum(dim=2).amin(dim=1).cpu().numpy()
    bins = pd.cut(rank, [-1, 49, 199, 999, np.inf], labels=["0-49", "50-199", "200-999", "1000+"])
    attacked_sentences = run.result.original_correct.cpu().numpy()
    frame = pd.DataFrame({"keyword's starting rank": bins, "success": run.result.success.cpu().numpy()})[attacked_sentences]
    table = frame.groupby("keyword's starting rank", observed=False)["success"].agg(["count", "mean"])
    return table.rename(columns={"count": "sentences", "mean": "success"}).round(DECIMALS)


# ------------------------------------------------------------------------------ Table 3.5


def table_3_5(results: Mapping[str, Seq2SickResult], data: TensorData, bundle: Translation,
              profile: str) -> pd.DataFrame:
    """Table 3.5's measurement on the translation inputs (a proxy: the thesis measures DUC2003
    and DUC2004): corpus perplexity under our language model of the original inputs and of each
    attack's successful adversarial inputs, beside the thesis's DUC columns."""
    lengths = data.lengths()
    rows = [{"method": "Original", "perplexity": bundle.language_model.perplexity(data.x, lengths).corpus}]
    for name, run in results.items():
        ok = run.result.success
        value = bundle.language_model.perplexity(run.result.x_adv[ok], lengths[ok]).corpus if bool(ok.any()) else np.nan
        rows.append({"method": name, "perplexity": value})
    ours = pd.DataFrame(rows).set_index("method")["perplexity"].rename(f"Multi30k inputs, ours ({profile})")
    thesis = thesis_table("table_3_5").pivot(index="method", columns="dataset", values="perplexity")
    thesis.columns = [f"{c}, thesis" for c in thesis.columns]
    return thesis.join(ours, how="outer").reindex(ours.index).round(2)


# ------------------------------------------------------------------------------ Table 3.6


def example_sentences(bundle: Translation, settings: Seq2SickSettings) -> ParallelCorpus:
    """Table 3.6's two source sentences from test2016 (the first two test sentences where absent)."""
    chosen: list[int] = []
    for text in settings.example_sources:
        words = tuple(text.split())
        chosen.append(bundle.test.source.index(words) if words in bundle.test.source else len(chosen))
    return ParallelCorpus(tuple(bundle.test.source[i] for i in chosen), tuple(bundle.test.target[i] for i in chosen),
                          "table-3-6")


def table_3_6(bundle: Translation, settings: Seq2SickSettings, device: torch.device | str,
              profile: str) -> pd.DataFrame:
    """Table 3.6: a non-overlap example and a keyword example with the thesis's keywords, ours
    beside the thesis's (same rows: source/adversarial input, source/adversarial output)."""
    examples = encoded(example_sentences(bundle, settings), bundle, device)
    lengths = examples.lengths()
    wanted = [bundle.target.id(word) for word in settings.example_keywords]
    keyword_ids = torch.tensor([wanted], device=examples.x.device)
    runs = {"Non-overlap": settings.non_overlap.build(bundle.model).run(examples.x[:1], lengths[:1]),
            "Keywords": settings.keywords.build(bundle.model).run(examples.x[1:], lengths[1:], keyword_ids)}
    rows = []
    for (attack, run), clean in zip(runs.items(), (examples.x[:1], examples.x[1:]), strict=True):
        texts = {"Source input seq": bundle.source.decode(clean[0].tolist()),
                 "Adv input seq": bundle.source.decode(run.result.x_adv[0].tolist()),
                 "Source output seq": bundle.target.decode(run.original_outputs[0]),
                 "Adv output seq": bundle.target.decode(run.adversarial_outputs[0])}
        rows += [{"attack": attack, "row": row, "text": " ".join(words)} for row, words in texts.items()]
        rows.append({"attack": attack, "row": "success", "text": str(bool(run.result.success[0]))})
    ours = pd.DataFrame(rows)
    return beside_thesis(ours, thesis_table("table_3_6"), on=["attack", "row"], profile=profile)


# ------------------------------------------------------------------------------ claims

# The book's reading of "a few words changed" (the thesis's MT and summarisation rows change 1.8-5.3
# words on average): at most this many on average over the successful attacks.
FEW_WORDS = 5.0
MOST = 0.5  # "most sentences": a success share above one half
ALMOST_ALWAYS = 0.9  # "almost always": a success share of at least 90%


def sentence_outcomes(results: Mapping[str, Seq2SickResult], data: TensorData, bundle: Translation) -> pd.DataFrame:
    """Each attack's outcome on each sentence, the claims' units: indexed by (attack, sentence),
    with ``attacked`` (the model gave an output to attack), ``success``, and, for the successful
    attacks, ``changed`` (words), ``bleu`` (to the original input), ``perplexity`` of the
    adversarial input and ``original_perplexity`` of the clean one (our language model)."""
    lengths = data.lengths()
    original = bundle.language_model.perplexity(data.x, lengths).per_sentence.cpu().numpy()
    clean = input_words(data.x, bundle.source)
    frames = []
    for name, run in results.items():
        result = run.result
        ok = result.success.cpu().numpy()
        adversarial = input_words(result.x_adv, bundle.source)
        perplexity = bundle.language_model.perplexity(result.x_adv, lengths).per_sentence.cpu().numpy()
        frames.append(pd.DataFrame({
            "attack": name, "sentence": np.arange(len(ok)), "attacked": result.original_correct.cpu().numpy(),
            "success": ok, "changed": np.where(ok, result.distance("words_changed").cpu().numpy(), np.nan),
            "bleu": [sentence_bleu(a, o) if s else np.nan for a, o, s in zip(adversarial, clean, ok, strict=True)],
            "perplexity": np.where(ok, perplexity, np.nan), "original_perplexity": original}))
    return pd.concat(frames).set_index(["attack", "sentence"])


def _successes(outcomes: pd.DataFrame, attack: str) -> pd.DataFrame:
    rows = outcomes.loc[attack]
    return rows[rows["success"].astype(bool)]


def _paired_over_successes(outcomes: pd.DataFrame, first: str, second: str, column: str) -> Effect:
    """Mean of ``column`` under attack ``first`` minus under ``second``, paired over the sentences
    both attacks broke."""
    both = _successes(outcomes, first).index.intersection(_successes(outcomes, second).index)
    return paired_effect(outcomes.loc[first].loc[both, column].to_numpy(),
                         outcomes.loc[second].loc[both, column].to_numpy(), over="sentences")


def claims(outcomes: pd.DataFrame) -> list[Claim]:
    """The claims a reduced run can show, each with its effect and bootstrap interval over the
    sentences (:func:`sentence_outcomes`): shares over the attacked sentences, paired differences
    over the sentences both compared attacks broke."""
    keyword_rows = [name for name in outcomes.index.unique("attack") if name.endswith("-keyword")]
    attacked = outcomes[outcomes["attacked"].astype(bool)]

    def success_share(attack: str) -> Effect:
        return mean_effect(attacked.loc[attack, "success"].astype(float).to_numpy(), over="sentences")

    steps = list(pairwise(keyword_rows))
    few = FEW_WORDS - _successes(outcomes, NON_OVERLAP)["changed"].to_numpy()
    found = [
        joint_claim("non-overlap succeeds for most sentences with a few words changed", [
            Part(f"success share (> {MOST:g})", success_share(NON_OVERLAP), MOST),
            Part(f"{FEW_WORDS:g} − words changed (> 0)", mean_effect(few, over="sentences"))], item="Table 3.4"),
        judged("one keyword succeeds almost always", success_share(keyword_row(1)), margin=ALMOST_ALWAYS,
               strict=False, item="Table 3.4"),
        joint_claim("success falls and words changed rise with the number of keywords",
                    [Part(f"success {a} − {b}", paired_effect(
                        attacked.loc[a, "success"].astype(float).to_numpy(),
                        attacked.loc[b, "success"].astype(float).to_numpy(), over="sentences")) for a, b in steps]
                    + [Part(f"words changed {b} − {a}", _paired_over_successes(outcomes, b, a, "changed"))
                       for a, b in steps], item="Table 3.4"),
        joint_claim("BLEU falls with the number of keywords",
                    [Part(f"BLEU {a} − {b}", _paired_over_successes(outcomes, a, b, "bleu")) for a, b in steps],
                    item="Table 3.4"),
    ]
    found.append(joint_claim(
        "adversarial inputs have higher perplexity than the originals (our LM, Multi30k inputs)",
        [Part(f"{name}: adversarial − original", paired_effect(rows["perplexity"].to_numpy(),
                                                                rows["original_perplexity"].to_numpy(), over="sentences"))
         for name in outcomes.index.unique("attack") if len(rows := _successes(outcomes, name))],
        item="Table 3.5"))
    return found


# ------------------------------------------------------------------------------ the jobs


# What the estimates of the units' cost assume of Multi30k, which a plan may not read: its training
# pairs, the mean words of a training source and target sentence (tok layout), and the vocabulary
# sizes (source, target) of each profile's data_key, measured on the files.
MULTI30K_TRAIN_PAIRS = 29_000
MULTI30K_LENGTHS = (13, 12)
MULTI30K_VOCABULARIES = {"multi30k-tok-min3-2000": (904, 867), "multi30k-tok-min3": (4568, 5382),
                         "multi30k-tok-min1max50000": (10_214, 18_726)}


def text_work(config: TextTrainConfig, pairs: int, lengths: tuple[int, int]) -> Work:
    """The work of ``config``'s run (its vocabulary sizes filled in) on ``pairs`` training pairs
    of about ``lengths`` (source, target) words: epochs x pairs sentence pairs, timed by the
    trainer (:func:`~advrobust.training.text.text_training_rate`)."""
    return Work(config.epochs * pairs, "sentence pairs",
                f"train {config.model} {dict(config.model_options)}, batch {config.batch_size}, "
                f"sentences of {lengths[0]} and {lengths[1]} words",
                functools.partial(text_training_rate, config, *lengths))


def units(profile: str, seed: int = 0) -> list[Unit]:
    """The units the chapter page ch03_seq2sick needs at ``profile`` for its translation half (the
    summarisation half's are :func:`.ch3_summarisation.units`): the translator and Table 3.5's
    language model, each a stage (:func:`~advrobust.jobs.units.stage`) that runs
    :func:`translation_model`, since their run directories hash the vocabulary sizes, which only
    the data tells. A stage's settings are the model's training config with those sizes left at
    :data:`UNKNOWN_SIZE`; its cost, :func:`text_work` with the sizes of
    :data:`MULTI30K_VOCABULARIES` (none for a data_key not there). The page's ``seed`` trains
    nothing differently (each config seeds its own run), so the units are the same at every seed.
    The Seq2Sick attacks are not cached, so they are no units: the page runs them."""
    settings = seq2sick(profile)
    sizes = MULTI30K_VOCABULARIES.get(settings.data_key())
    pairs = settings.train_pairs or MULTI30K_TRAIN_PAIRS
    work = {} if sizes is None else {role: text_work(config, pairs, MULTI30K_LENGTHS)
                                     for role, config in translation_configs(settings, *sizes).items()}
    return [stage(role, "text-train", CHAPTER, functools.partial(translation_model, settings, role), config,
                  work=work.get(role))
            for role, config in translation_configs(settings, UNKNOWN_SIZE, UNKNOWN_SIZE).items()]
