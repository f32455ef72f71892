# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 2.5.0.5 Attacking gradient boosting decision trees (Table 2.1)
#
# A gradient boosting decision tree (GBDT) is a sum of decision trees: its decision is piecewise
# constant on axis-aligned boxes, so it has no gradient at all, and white-box attacks that follow
# the gradient of a loss have nothing to follow. The OPT-attack {cite}`cheng2019opt` (§2.4.2) needs only the predicted
# label, so it applies unchanged: it minimises the distance to the decision boundary $g(\theta)$
# over directions $\theta$ (2.15), which stays nearly continuous even for a tree ensemble (see the
# previous page, Figure 2.3). The thesis uses it to show that GBDT models, valued for their
# interpretability, are as easy to fool as neural networks.
#
# **Models (§2.5.0.5).** LightGBM {cite}`ke2017lightgbm` with "the suggested parameters in
# github.com/Koziev/MNIST_Boosting": MNIST {cite}`lecun1998mnist` 100 trees of at most 100 leaves,
# HIGGS {cite}`baldi2014higgs` 255 trees of at most 500 leaves, no depth limit. The remaining settings are
# that repository's `lgb_solver.py`: learning rate 0.05, at least 100 examples per leaf, 70% of the
# features per tree, 70% of the examples re-drawn every iteration, 256 histogram bins, no L1/L2
# penalty (`advrobust.models.gbdt.KOZIEV_PARAMS`). That repository tunes them for MNIST (with early
# stopping, which the thesis's fixed tree counts replace); the thesis uses them for HIGGS too.
#
# **Attack.** Untargeted OPT-attack in $L_2$ with the thesis's settings ($q = 20$ directions per
# gradient estimate, $\beta = 0.005$, $t = 100$ initial directions), on correctly classified test
# examples. MNIST pixels stay in $[0, 1]$; HIGGS features are physical quantities, so each feature
# is kept within its observed range. Table 2.1 reports the average $L_2$ distortion reached within
# three query budgets.

# %% tags=["parameters"]
profile = "quick"  # smoke | quick | paper
device = "auto"  # unused: LightGBM runs on the CPU
seed = 0
results_dir = "results"

# %%
from advrobust.experiments import ch2_gbdt as gb
from advrobust.experiments.setup import setup_chapter
from advrobust.plotting.curves import distortion_vs_queries_figure
from advrobust.plotting.images import image_grid
from advrobust.profiles.gbdt import gbdt

chapter = setup_chapter(profile, device, seed, results_dir)
results = chapter.results
settings = gbdt(profile)

# %% [markdown]
# ## The victims
#
# Each model is trained once and cached as a LightGBM text file under the checkpoint cache,
# keyed by its configuration and by the data files it was trained on.

# %%
victims = gb.train_victims(settings)
results.table(gb.models_table(victims, profile).round(4), "gbdt_models", caption=(
    "The GBDT victims of §2.5.0.5: test accuracy (MNIST, HIGGS) and AUC (HIGGS), ours beside the thesis's "
    f"(98.09% on MNIST, AUC 0.8457 on HIGGS). Ours: {gb.describe_models(victims)}."))
results.glue("higgs_rows", f"{len(victims['HIGGS'].train):,}")
results.glue("higgs_data", gb.higgs_source(victims["HIGGS"]))

# %% [markdown]
# Our HIGGS model is trained on {glue:text}`higgs_data` ({glue:text}`higgs_rows` training rows). The
# thesis trains on UCI's full data set, 10.5 million training rows and 500,000 test rows; the
# LightGBM sample (7,000 training and 500 test rows, features rounded to 3 decimals) is what is
# available offline, so its model is smaller in effect (with at least 100 examples per leaf, a tree
# on 4,900 bagged rows has at most 49 leaves, far below the 500 allowed) and its AUC lower. Put UCI's
# `HIGGS.csv.gz` in the data directory to train on the full set. At reduced profiles the MNIST
# model is trained on a subset of the 60,000 training images. The thesis does not state the
# learning rate; with Koziev's 0.05 and only 100 trees (Koziev stops early, after many more), our
# MNIST model trained on all 60,000 images stays about half a point below the thesis's 98.09%.
#
# ## The attack
#
# One run per data set to the largest budget; the oracle's trace gives the best distortion found
# within every smaller budget, so Table 2.1's three columns come from the same run. The attack is
# the profile's `settings.opt(experiment, bounds, seed)`, an `AttackSpec` of `OPTAttack` whose
# `budget` is the experiment's largest read point, the one the oracle enforces. As on the other
# black-box pages, a finished run is cached on disk under the GBDT's configuration, the attack's
# settings (the bounds included) and the attacked examples, so a second run of the page reads it
# back without querying the trees.

# %%
runs = gb.attack_victims(settings, victims, chapter.seed)
for name, run in runs.items():
    print(f"{name}: attacked {len(run.x)} correctly classified test examples, {run.experiment.budget:,} queries each")

# %% [markdown]
# ## Table 2.1

# %%
table = gb.table_2_1(runs)
results.table(gb.beside_table_2_1(table, profile).round(4), "table_2_1", caption=(
    "Table 2.1: untargeted L2 OPT-attack on the GBDTs; average L2 distortion within each query budget, ours beside "
    "the thesis's, over " + " and ".join(f"{len(run.x)} {name} examples" for name, run in runs.items())
    + " (thesis: 100 each). 'found': share of examples with an adversarial example within the budget "
    "(the average is over those). A budget missing on one side was not run there."))


# %%
results.figure(distortion_vs_queries_figure(gb.curves(runs), gb.thesis_points(runs)), "avg_l2_vs_queries", caption=(
    "Average L2 distortion of the OPT-attack against the number of queries on the HIGGS and MNIST GBDTs "
    "(ours, line) and Table 2.1's three read points (thesis, dots). The thesis shows no such curve, only the table."))

# %% [markdown]
# ### The claim: the average $L_2$ distortion falls as queries grow
#
# Table 2.1's numbers fall along each column (HIGGS 0.3458 → 0.2179 → 0.1704, MNIST 0.6113 → 0.5576
# → 0.5505): with about 30k queries both GBDTs are fooled by small changes. We check the same on
# our run, at our read points.

# %%
falls = gb.falls_claims(runs)
results.claims(list(falls.values()))
for name, path in gb.l2_falls(table)[["dataset", "average L2 at the read points"]].values:
    results.glue(f"{name}_falls", gb.falls_phrase(falls[name]))
    results.glue(f"{name}_path", path)
results.glue("same_examples", (
    "here every attacked example has an adversarial example from the first read point on (column 'found'), so the "
    "averages are over the same examples" if gb.found_from_first_read(table) else
    "here some examples have none at the first read point (column 'found'), so the averages at different budgets "
    "are over different examples"))

# %% [markdown]
# On HIGGS the average distortion {glue:text}`HIGGS_falls` ({glue:text}`HIGGS_path`), and on MNIST
# it {glue:text}`MNIST_falls` ({glue:text}`MNIST_path`). The best distortion of each example can only
# improve with more queries, but the *average* could still rise if a late success added a large
# distortion; {glue:text}`same_examples`. Absolute values depend on the model: ours
# are trained on less data at reduced profiles (and on the LightGBM sample of HIGGS), so the
# comparison with the thesis is about the trend and the order of magnitude, not the third decimal.
#
# ## Adversarial digits
#
# The first MNIST examples and the adversarial examples found within the full budget, with the
# GBDT's predictions.

# %%
images, titles, row_labels = gb.example_rows(victims["MNIST"], runs["MNIST"])
results.figure(
    image_grid(images, titles, columns=len(titles) // len(row_labels), row_labels=row_labels), "mnist_gbdt_examples",
    caption=f"MNIST digits and their OPT-attack adversarial examples against the GBDT "
    f"({runs['MNIST'].experiment.budget:,} queries each). The thesis shows no GBDT examples.")

# %% [markdown]
# ## Exercises
#
# Each exercise says what to try; its solution is folded under it. For the *predict, then run*
# ones, write your prediction down before opening the solution. The *implement* one names the test
# of the book's test suite that checks the library's version; yours should pass it too.

# %% [markdown]
# ### Exercise 1 (predict, then run): which pixels does a tree see?
#
# A tree ensemble only reads the pixels it splits on; the others cannot change its answer. Predict
# what share of the 784 pixels the MNIST GBDT splits on, and what share of the squared $L_2$
# distortion of the OPT-attack's adversarial examples falls on those pixels. Then count them with
# `victims["MNIST"].scores.booster.feature_importance()` and the page's `runs["MNIST"]`
# (`.x` the attacked examples, `.result.x_adv` the adversarial ones).

# %% tags=["solution"]
import torch

booster = victims["MNIST"].scores.booster
used = torch.from_numpy(booster.feature_importance() > 0)
change = (runs["MNIST"].result.x_adv - runs["MNIST"].x).flatten(1).cpu().double()
on_used = change[:, used].pow(2).sum() / change.pow(2).sum().clamp_min(1e-12)
print(f"the GBDT ({booster.num_trees()} trees) splits on {int(used.sum())} of {used.numel()} pixels; "
      f"{float(on_used):.0%} of the adversarial examples' squared L2 distortion falls on them")

# %% [markdown] tags=["solution"]
# A tree ensemble splits on a small share of the pixels (at `smoke`, 50 trees read 125 of the 784),
# and only a threshold crossing on one of them changes a tree's leaf. The OPT-attack does not know
# which pixels matter: it searches over all 784 directions, so much of its distortion (at `smoke`,
# most of it) is spent on pixels no tree reads; what reaches the read pixels only needs to push a
# few of them across a few thresholds. This is why the GBDT is fooled with a smaller average $L_2$ than the CNN by the
# same attack (compare Table 2.2's OPT-attack row), and why a search that dropped the unread
# pixels would do better still.

# %% [markdown]
# ### Exercise 2 (implement): the ROC AUC as a share of ordered pairs
#
# The HIGGS GBDT is scored by its AUC. Implement it as the share of (positive, negative) pairs of
# test examples that the scores order correctly, a tie counting one half. The library's version is
# `advrobust.models.gbdt.roc_auc(scores, labels)`; yours should pass
# `tests/test_gbdt.py::test_roc_auc_is_the_share_of_correctly_ordered_pairs`.

# %% tags=["solution"]
from advrobust.models.gbdt import roc_auc

higgs = victims["HIGGS"]
scores, labels = higgs.raw[:2000, 1].double().cpu(), higgs.test.y[:2000].cpu()  # the raw score of class 1
positive, negative = scores[labels == 1], scores[labels == 0]
by_hand = float((positive[:, None] > negative[None]).double().mean()
                + 0.5 * (positive[:, None] == negative[None]).double().mean())
assert abs(roc_auc(scores, labels) - by_hand) < 1e-9
print(f"AUC of the HIGGS GBDT on its first {len(scores)} test examples: {by_hand:.4f} (library: {roc_auc(scores, labels):.4f})")

# %% [markdown]
# ### Exercise 3: feature ranges
#
# The HIGGS attack is bounded by each feature's observed range. What would an attack in a wide box,
# say $[-100, 100]$ for every feature, find, and would its adversarial examples still describe
# possible collisions?

# %% [markdown] tags=["solution"]
# In a wide box the attack may push a feature far outside anything the trees were trained on.
# Beyond its last threshold a tree's answer is constant, so the attack often finds a smaller $L_2$
# by moving one or two features to extreme values: a transverse momentum or an invariant mass that
# no detector records, or a negative one. Such examples fool the model without meaning anything
# physically; the observed range is a crude but honest box for "a plausible event". Tabular data
# needs such per-feature constraints, unlike images, whose pixels all live in $[0, 1]$.
