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


ATTACKS = ["Non-overlap", "1-keyword", "2-keyword", "3-keyword"]


def outcomes(success, changed, bleu, perplexity, sentences=40, original=100.0):
    """A sentence_outcomes frame: attack k breaks the first success[k] share of the sentences, each
    success changing changed[k] words, at BLEU bleu[k] and adversarial perplexity perplexity[k]."""
    frames = []
    for name, share, words, score, ppl in zip(ATTACKS, success, changed, bleu, perplexity, strict=True):
        ok = np.arange(sentences) < round(share * sentences)
        jitter = np.linspace(-0.1, 0.1, sentences)  # sentences differ a little, so intervals have width
        frames.append(pd.DataFrame({
            "attack": name, "sentence": np.arange(sentences), "attacked": True, "success": ok,
            "changed": np.where(ok, words + jitter, np.nan), "bleu": np.where(ok, score + jitter / 10, np.nan),
            "perplexity": np.where(ok, ppl + jitter, np.nan), "original_perplexity": original + jitter}))
    return pd.concat(frames).set_index(["attack", "sentence"])


def verdicts(found):
    return {claim.claim.split(" (")[0]: claim.verdict for claim in found}


def test_claims_hold_and_fail_as_the_outcomes_say():
    good = ch3.claims(outcomes([0.9, 1.0, 0.8, 0.5], [3.0, 1.5, 3.0, 4.5], [0.5, 0.7, 0.4, 0.3], [120, 150, 200, 300]))
    assert all(c.verdict == "holds" for c in good), [c.line() for c in good]
    assert all(c.effect is not None and c.effect.low <= c.effect.estimate <= c.effect.high for c in good)
    bad = ch3.claims(outcomes([0.2, 0.5, 0.8, 0.9], [3.0, 4.5, 3.0, 1.0], [0.5, 0.3, 0.5, 0.8], [90, 80, 70, 60]))
    assert [c.verdict for c in bad] == ["fails"] * 5, [c.line() for c in bad]


def test_a_claim_without_enough_successes_is_inconclusive():
    # the quick run's shape: no 3-keyword success, so no words-changed or BLEU pair there
    found = verdicts(ch3.claims(outcomes([1.0, 0.2, 0.05, 0.0], [11.0, 1.5, 3.0, 0], [0.05, 0.7, 0.4, 0],
                                         [900, 90, 120, 0])))
    assert found["non-overlap succeeds for most sentences with a few words changed"] == "fails"  # 11 words
    assert found["one keyword succeeds almost always"] == "fails"
    assert found["BLEU falls with the number of keywords"] == "inconclusive"  # 2 vs 3 keywords: no pair
    # the 1-keyword row's perplexity is below the original's: a failing part decides
    assert found["adversarial inputs have higher perplexity than the originals"] == "fails"


def test_a_share_at_the_edge_of_its_margin_is_inconclusive():
    # 1-keyword success of 36/40 = 0.9 exactly: its interval straddles the 90% margin
    found = verdicts(ch3.claims(outcomes([0.9, 0.9, 0.8, 0.5], [3.0, 1.5, 3.0, 4.5], [0.5, 0.7, 0.4, 0.3],
                                         [120, 150, 200, 300])))
    assert found["one keyword succeeds almost always"] == "inconclusive"


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
