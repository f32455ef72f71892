"""Chapter 3.1's settings and experiments (advrobust.profiles.seq2sick, advrobust.experiments.
ch3_seq2sick): the profiles, Table 3.1 from the files, Table 3.4's averages, the claims reading
the right cells, and the page at smoke."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from advrobust.attacks.result import AttackResult
from advrobust.data import Vocabulary
from advrobust.experiments import ch3_seq2sick as ch3
from advrobust.profiles.seq2sick import seq2sick
from advrobust.text import Seq2SickResult

ROOT = Path(__file__).resolve().parents[1]


def test_profiles_follow_the_thesis_and_the_notes():
    paper, quick = seq2sick("paper"), seq2sick("quick")
    assert (paper.translator.layers, paper.translator.hidden_size, paper.translator.embedding_dim) == (2, 500, 500)
    assert paper.max_vocabulary == 50_000 and paper.sentences == 500
    assert paper.non_overlap.settings["beam_size"] == 5 and paper.non_overlap.settings["learning_rates"] == (2.0,)
    assert paper.keywords.settings["learning_rates"] == (0.1, 0.5) and paper.keywords.settings["iterations"] == 200
    assert (quick.translator.embedding_dim, quick.translator.hidden_size, quick.min_freq) == (128, 256, 3)
    assert quick.sentences >= 100 and quick.keyword_counts == (1, 2, 3)
    config = quick.translator_config(4568, 5382)
    assert dict(config.model_options)["src_vocab_size"] == 4568 and config.data_key == "multi30k-tok-min3"
    assert seq2sick("smoke").data_key() != quick.data_key()  # a training subset never shares a cache entry


def test_table_3_1_counts_the_files_on_disk():
    table = ch3.table_3_1("smoke")
    ours = table.xs("ours (smoke)", axis=1, level=1)
    assert ours.loc["DUC2004", "samples"] == 500 and ours.loc["DUC2004", "mean_length"] == pytest.approx(35.558)
    assert ours.loc["Multi30k", "samples"] == 500 and ours.loc["Multi30k", "mean_length"] == pytest.approx(11.338)
    assert np.isnan(ours.loc["Gigaword", "samples"])  # not shipped: NaN beside the thesis's 1,000
    assert table.xs("thesis", axis=1, level=1).loc["Gigaword", "samples"] == 1000


def fake_run(success: list[bool], changed_rows: list[list[int]], clean: torch.Tensor) -> Seq2SickResult:
    x_adv = torch.tensor(changed_rows)
    ok = torch.tensor(success)
    result = AttackResult(x_adv=x_adv, success=ok, l2=torch.zeros(len(ok)), linf=torch.zeros(len(ok)),
                          queries=torch.tensor([3, 5]), original_correct=torch.ones_like(ok),
                          distances={"words_changed": (x_adv != clean).sum(1).float()})
    return Seq2SickResult(result, [[4], [5]], [[6], [7]])


def test_attack_summary_averages_bleu_and_words_changed_over_successes():
    vocabulary = Vocabulary.build([["a", "b", "c", "d", "e", "f", "g", "h"]])
    clean = torch.tensor([[4, 5, 6, 7, 8], [4, 5, 6, 7, 8]])
    run = fake_run([True, False], [[4, 5, 9, 7, 8], [10, 11, 6, 7, 8]], clean)
    summary = ch3.attack_summary(run, clean, vocabulary)
    assert summary["success"] == 0.5 and summary["changed"] == 1.0  # the failed row's 2 changes are not counted
    # one substitution in the middle of five words: no 3- or 4-gram survives; sacrebleu's exp smoothing
    # gives the k-th zero precision 1 / (2^k x the n-gram count)
    precisions = [4 / 5, 2 / 4, 1 / (2 * 3), 1 / (4 * 2)]
    assert summary["bleu"] == pytest.approx(np.prod(precisions) ** 0.25)
    assert summary["iterations"] == 4.0


def table_3_4(success, changed, bleu, profile="smoke"):
    rows = ["Non-overlap", "1-keyword", "2-keyword", "3-keyword"]
    ours = f"ours ({profile})"
    return pd.DataFrame({("success", ours): success, ("changed", ours): changed, ("bleu", ours): bleu}, index=rows)


def table_3_5(original=100.0, attacks=(120.0, 150.0, 200.0, 300.0)):
    index = ["Original", "Non-overlap", "1-keyword", "2-keyword", "3-keyword"]
    return pd.DataFrame({"Multi30k inputs, ours (smoke)": [original, *attacks]}, index=index)


def test_claims_read_the_right_cells():
    good = ch3.claims(table_3_4([0.9, 1.0, 0.9, 0.7], [3.0, 1.5, 3.0, 4.5], [0.5, 0.7, 0.4, 0.3]), table_3_5(), "smoke")
    assert all(c.status == "holds" for c in good), [c.line() for c in good]
    bad = ch3.claims(table_3_4([0.4, 0.8, 0.9, 0.7], [3.0, 1.5, 1.0, 4.5], [0.5, 0.7, 0.8, 0.3]),
                     table_3_5(attacks=(90.0, 150.0, 200.0, 300.0)), "smoke")
    assert [c.status for c in bad] == ["does NOT hold"] * 5


def test_trends_skip_rows_without_a_successful_attack():
    # the quick run's shape: no 3-keyword success, so no words-changed or BLEU value there
    rows = table_3_4([1.0, 0.17, 0.01, 0.0], [11.2, 1.53, 3.0, np.nan], [0.05, 0.69, 0.41, np.nan])
    lines = {c.claim: c.status for c in ch3.claims(rows, table_3_5(), "smoke")}
    assert lines["success falls and words changed rise with the number of keywords"] == "holds"
    assert lines["BLEU falls with the number of keywords"] == "holds"
    single = table_3_4([1.0, 0.1, 0.0, 0.0], [3.0, 1.0, np.nan, np.nan], [0.5, 0.7, np.nan, np.nan])
    assert {c.claim: c.status for c in ch3.claims(single, table_3_5(), "smoke")}[
        "BLEU falls with the number of keywords"] == "inconclusive"


def test_page_runs_at_smoke(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    bin_dir = Path(sys.executable).parent
    notebook = tmp_path / "x.ipynb"
    subprocess.run([str(bin_dir / "jupytext"), "--to", "ipynb", "-o", str(notebook),
                    str(ROOT / "chapters" / "ch03_seq2sick.py")], check=True, env=env, cwd=tmp_path, capture_output=True)
    subprocess.run([str(bin_dir / "papermill"), str(notebook), str(tmp_path / "out.ipynb"), "-p", "profile", "smoke",
                    "-p", "device", "cpu", "-p", "results_dir", str(tmp_path / "results")],
                   check=True, env=env, cwd=tmp_path, capture_output=True)
    written = {path.stem for path in (tmp_path / "results").iterdir()}
    assert {"table_3_1", "table_3_4", "table_3_5", "table_3_6", "table_3_2", "translator", "attack_variants",
            "embedding_scale", "keyword_reach"} <= written
