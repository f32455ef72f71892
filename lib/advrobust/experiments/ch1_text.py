"""Table 1.1 of the thesis: a character-level AG News classifier fooled by changing one character.

The thesis's example: "South Africa's historic Soweto township marks its 100th birthday on Tuesday
in a mood of optimism." is World news at 57%; with "mood" changed to "mooP" it is Sci/Tech at 95%.
:func:`table_1_1` does the same to our classifier when the reader has AG News: it trains (or takes
from the cache) Zhang et al.'s character-level ConvNet through the one trainer
(``settings.train``), measures its clean accuracy, attacks ``settings.n_attack`` correctly
classified test texts with one-character HotFlip (:mod:`advrobust.text.hotflip`) and reports how
many fall (and how many fall to the flip of best first-order estimate alone, Ebrahimi et al.'s
one-flip HotFlip), with one example in the thesis's format beside the thesis's. The example is the
thesis's own text when the test split holds it, else the shortest text that fell (else the
shortest attacked). Without AG News, the thesis's table stands alone with the status
``"paper only: data absent: <what is missing and where to put it>"``.

Our models lower-case their input, as Zhang et al.'s, so the flipped character is printed in lower
case: to them "mooP" and "moop" are the same text.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import torch
from torch import Tensor, nn

from ..attacks.result import AttackResult
from ..data.agnews import (
    ZHANG_LENGTH,
    LabelledTexts,
    character_data,
    character_lengths,
    load_ag_news,
    replace_characters,
)
from ..errors import DataError
from ..jobs import Unit
from ..jobs.units import trained_run
from ..profiles.text_classification import (
    TextClassificationSettings,
    text_classification,
)
from ..robustness.accuracy import model_device, top1
from ..tables import thesis_table
from ..text.hotflip import HotFlip
from ..training import trained_model
from ..training.cache import run_directory
from .paper_only import DATA_ABSENT

THESIS_PHRASE = "Soweto township marks its 100th birthday"  # finds the thesis's text in AG News
COLUMNS = ["text", "class", "confidence", "change"]  # Table 1.1's columns, per row (original, adversarial)


@dataclass(frozen=True)
class Table11:
    """Table 1.1: the thesis's example beside ours, and how often one character suffices."""

    status: str  # "ran", or "paper only: data absent: <the loader's message>"
    table: pd.DataFrame  # index (source, row): ("thesis" | "ours (<profile>)", "original" | "adversarial")
    summary: dict[str, float] = field(default_factory=dict)  # n_test, clean_accuracy, n_attacked,
    # success_rate, success_rate_best_estimate (candidates=1), mean_queries (empty without data)
    example: str = ""  # which text our rows show
    result: AttackResult | None = None  # HotFlip on the n_attacked texts

    @property
    def ran(self) -> bool:
        """Whether our classifier was trained and attacked (AG News present)."""
        return self.status == "ran"

    def describe(self) -> str:
        """One line for the page: the data-absent status, or the attack's outcome and the example."""
        if not self.ran:
            return self.status
        s = self.summary
        if not s.get("n_attacked"):
            return f"clean accuracy {s['clean_accuracy']:.1%} on {s['n_test']:.0f} test texts; {self.example}"
        return (f"clean accuracy {s['clean_accuracy']:.1%} on {s['n_test']:.0f} test texts; one changed character "
                f"fools the classifier on {s['success_rate']:.0%} of {s['n_attacked']:.0f} correctly classified "
                f"ones ({s['success_rate_best_estimate']:.0%} with the best first-order flip alone); "
                f"the example is {self.example}")


def thesis_rows() -> pd.DataFrame:
    """The thesis's Table 1.1 (``data/thesis/table_1_1.csv``), indexed by row."""
    return thesis_table("table_1_1").fillna({"change": ""}).set_index("row")[COLUMNS]


def table_1_1(
    settings: TextClassificationSettings,
    device: torch.device | str,
    profile: str,
    *,
    seed: int = 0,
    data_root: str | Path | None = None,
    cache_dir: str | Path | None = None,
) -> Table11:
    """Table 1.1 with our classifier when AG News is under ``data_root`` (module docstring); else
    the thesis's table with the data-absent status naming the missing file and where it goes."""
    thesis = thesis_rows()
    try:
        test, model = classifier(settings, device, data_root, cache_dir)
    except DataError as error:
        return Table11(f"{DATA_ABSENT}: {error}", pd.concat({"thesis": thesis}, names=["source", "row"]))
    on = model_device(model)
    data = character_data(test, ZHANG_LENGTH, on)
    lengths = character_lengths(test.texts).to(on)
    generator = torch.Generator().manual_seed(seed)
    pool = (torch.arange(len(test)) if settings.n_test is None or settings.n_test >= len(test)
            else torch.randperm(len(test), generator=generator)[: settings.n_test].sort().values).to(on)
    predicted, _ = top1(model, data.x[pool])
    correct = pool[predicted == data.y[pool]]
    chosen = correct[torch.randperm(len(correct), generator=generator)[: settings.n_attack].to(on)].sort().values
    attack = HotFlip(model, candidates=settings.candidates, batch_size=settings.attack_batch)
    summary = {"n_test": float(len(pool)), "clean_accuracy": len(correct) / max(1, len(pool)),
               "n_attacked": float(len(chosen))}
    if len(chosen) == 0:
        return Table11("ran", pd.concat({"thesis": thesis}, names=["source", "row"]), summary,
                       "no correctly classified test text to attack")
    result = attack.run(data.x[chosen], data.y[chosen], lengths[chosen])
    best_estimate = HotFlip(model, candidates=1, batch_size=settings.attack_batch)  # Ebrahimi et al.'s one flip
    alone = best_estimate.run(data.x[chosen], data.y[chosen], lengths[chosen])
    summary |= {"success_rate": result.success_rate, "success_rate_best_estimate": alone.success_rate,
                "mean_queries": float(result.queries.double().mean())}
    index, adversarial, example = _example(test, data.x, data.y, lengths, chosen, result, attack)
    ours = example_rows(model, test.texts[index], data.x[index], adversarial, test.classes)
    table = pd.concat({"thesis": thesis, f"ours ({profile})": ours}, names=["source", "row"])
    return Table11("ran", table, summary, example, result)


def classifier(
    settings: TextClassificationSettings,
    device: torch.device | str,
    data_root: str | Path | None = None,
    cache_dir: str | Path | None = None,
) -> tuple[LabelledTexts, nn.Module]:
    """AG News's test split and the classifier of ``settings.train`` (from the checkpoint cache,
    else trained now): what :func:`table_1_1` attacks. A :class:`DataError` without AG News."""
    test = load_ag_news("test", data_root)
    return test, trained_model(settings.train, device, cache_dir, data_root)


def example_rows(model: nn.Module, text: str, ids: Tensor, adversarial: Tensor, classes: tuple[str, ...]) -> pd.DataFrame:
    """Table 1.1's two rows for one text: the original and the adversarial text, each with the
    predicted class and its softmax confidence, and the changed word ("mood → moop")."""
    labels, confidence = top1(model, torch.stack([ids, adversarial]))
    changed_text = replace_characters(text, ids.cpu(), adversarial.cpu())
    rows = pd.DataFrame({
        "text": [text, changed_text],
        "class": [classes[int(k)] for k in labels],
        "confidence": [round(float(p), 2) for p in confidence],
        "change": ["", changed_word(text, changed_text)],
    }, index=pd.Index(["original", "adversarial"], name="row"))
    return rows[COLUMNS]


def changed_word(text: str, changed: str) -> str:
    """"old → new" for the words of ``text`` and ``changed`` (the same length) around the first
    character at which they differ (both words, when a space became a character or the reverse);
    "" when they are equal."""
    position = next((i for i, (a, b) in enumerate(zip(text, changed, strict=True)) if a != b), None)
    if position is None:
        return ""
    start = min(_word_span(text, position)[0], _word_span(changed, position)[0])
    end = max(_word_span(text, position)[1], _word_span(changed, position)[1])
    return f"{text[start:end].strip()} → {changed[start:end].strip()}"


def _word_span(text: str, position: int) -> tuple[int, int]:
    """(start, end) of the whitespace-separated word at ``position`` (empty at a space)."""
    start = position
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    end = position
    while end < len(text) and not text[end].isspace():
        end += 1
    return start, end


def _example(
    test: LabelledTexts, x: Tensor, y: Tensor, lengths: Tensor, chosen: Tensor, result: AttackResult, attack: HotFlip
) -> tuple[int, Tensor, str]:
    """(test index, adversarial ids, description) of the text our rows show: the thesis's text
    when the test split holds it (attacked on its own), else the shortest attacked text that fell,
    else the shortest attacked text."""
    thesis = next((i for i, text in enumerate(test.texts) if THESIS_PHRASE in text), None)
    if thesis is not None:
        adversarial = attack(x[thesis : thesis + 1], y[thesis : thesis + 1], lengths[thesis : thesis + 1])[0]
        return thesis, adversarial, f"the thesis's text (AG News test text {thesis})"
    broken = result.broken
    pool = broken.nonzero().flatten() if bool(broken.any()) else torch.arange(len(chosen), device=chosen.device)
    best = pool[lengths[chosen[pool]].argmin()]
    what = "the shortest attacked text that fell" if bool(broken.any()) else "the shortest attacked text (none fell)"
    return int(chosen[best]), result.x_adv[best], f"{what} (AG News test text {int(chosen[best])})"


# ------------------------------------------------------------------------------ jobs


def units(profile: str, seed: int = 0) -> list[Unit]:
    """The units Table 1.1 of the page ``ch01_introduction`` needs at ``profile``: the training of
    its character-level classifier (by the image trainer, so kind "train"; its run raises the
    AG News loader's :class:`DataError` when the data are absent). HotFlip is a white-box attack
    of the page itself (nothing cached). ``seed`` does not enter; the cost is not estimated (the
    estimate's probes know image datasets only)."""
    settings = text_classification(profile)
    return [trained_run(run_directory(settings.train), "train", "ch01_introduction",
                        functools.partial(_train_classifier, settings))]


def _train_classifier(settings: TextClassificationSettings, device: torch.device) -> None:
    classifier(settings, device)
