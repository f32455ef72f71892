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
# # 4.1 Adversarial training and its limitation (Figure 4.1, Table 4.1)
#
# Adversarial training {cite}`madry2018pgd` solves the min-max problem (4.1),
#
# $$\min_\theta \frac1n \sum_{i=1}^n \max_{x_i' \in B(x_i, \varepsilon)} \ell(f_\theta(x_i'), y_i),$$
#
# with the inner maximisation approximated by $K$ steps of PGD. In the vicinal-risk frame of §5.2
# (Eq. (5.4), Table 5.1) it is the choice $\tilde x = \mathrm{PGD}_\varepsilon(x)$, $\tilde y = y$,
# $g = h = I$; `advrobust.defenses.PGDAT` supplies exactly that and the common trainer does the
# rest.
#
# §4.1.1 argues that one uniform $\varepsilon$ for every example is harmful in two ways, which
# motivate CAT (next page):
#
# 1. examples closer to the true decision boundary than $\varepsilon$ cannot be fitted robustly,
#    so training gives them up and the boundary is distorted (Figure 4.1);
# 2. even when the training error is close to zero, a larger $\varepsilon$ widens the
#    generalisation gap (Table 4.1).

# %% tags=["parameters"]
profile = "quick"  # smoke | quick | paper
device = "auto"  # auto | cpu | cuda
seed = 0
results_dir = "results"

# %%
from advrobust.experiments import ch4_defenses as ch4
from advrobust.experiments.setup import setup_chapter
from advrobust.plotting.toys import plot_toy_boundaries
from advrobust.profiles.defenses import defenses
from advrobust.toys.margin import MARGIN

chapter = setup_chapter(profile, device, seed, results_dir)
results = chapter.results
settings = defenses(profile)
print(f"{chapter.describe()}: {settings.describe()}")

# %% [markdown]
# ## Figure 4.1: a uniformly large $\varepsilon$ ruins a separable problem
#
# Two classes, linearly separable with an $L_\infty$ margin of 1.75 on both sides of the true
# line (dashed). Four small networks are trained on the same 400 points: natural training, PGD
# adversarial training at $\varepsilon = 1$ (below the margin) and at $\varepsilon = 4$ (beyond
# it), and CAT with $\varepsilon_{\max} = 4$. The thesis gives neither the data nor the model; ours
# (documented in `advrobust.toys.margin`) put half of one class right at the margin, the examples
# "intrinsically closer to the decision boundary" of §4.1.1. This figure does not depend on the
# profile: it is the same, exactly, at every profile.

# %%
toy = ch4.figure_4_1(chapter.seed)
results.figure(plot_toy_boundaries(toy.models, toy.x, toy.y, toy.x_test, toy.y_test), "figure_4_1", caption=(
    f"Figure 4.1: decision boundaries on separable 2-D data with margin {MARGIN} (L∞). (a) natural, "
    "(b) adversarial training eps = 1, (c) eps = 4, (d) CAT eps_max = 4. The thesis shows the same "
    "four panels without numbers: (c) distorted, the others near the true line."), stamped=False)
results.table(toy.table, "figure_4_1_accuracy", caption=(
    f"Figure 4.1's claim measured: toy test accuracy ({len(toy.y_test)} points) of each training. The "
    "thesis's claim: adversarial training at eps = 4 ruins the boundary while CAT keeps it."))
print(toy.claim())

# %% [markdown]
# **Why panel (c) fails.** An $\varepsilon$-ball of radius 4 around a class-0 point and one around
# a close class-1 point overlap (the two bands are only $2 \times 1.75 = 3.5$ apart), so no
# classifier is robust on both. Adversarial training minimises the *average* robust loss, and the
# cheapest way to do that here is to give up the close class-1 band entirely: the boundary moves
# into it. CAT grows each example's $\varepsilon_i$ only until the attack breaks it, so the close
# examples keep a small $\varepsilon_i$ and the boundary stays where the data put it.

# %% [markdown]
# ## Table 4.1: fixed training $\varepsilon$ and the generalisation gap
#
# The thesis trains VGG-16 on CIFAR-10 with PGD adversarial training at $\varepsilon$ = 0.01, 0.02
# and 0.03 and measures robust accuracy at $\varepsilon = 0.01$ on the training and the test set:
# all three fit the training set almost perfectly, but the test accuracy falls as the training
# $\varepsilon$ grows. Our runs measure the same with PGD (step $\varepsilon/5$) and, beside it,
# AutoAttack; clean accuracy is shown too. Below `paper` the models are trained on a small
# training set for many epochs, so that they can fit it as the thesis's models fit theirs.

# %%
fixed = ch4.table_4_1(settings, chapter.device, profile)
columns = settings.columns
results.table(fixed.shown, "table_4_1", caption=(
    f"Table 4.1: robust accuracy at eps = {settings.fixed_eps_test} on training and test images of "
    f"models adversarially trained at fixed eps; thesis (VGG-16, CIFAR-10, full sets) beside ours "
    f"({settings.network}, {settings.n_fixed_eps} training and test images, PGD{columns.pgd_steps}"
    f" and AutoAttack)."))
print("generalisation gap (train - test robust accuracy) by training eps:", fixed.gap.to_dict())

# %% [markdown]
# **Reading the gap.** Each row pair is one model: its robust accuracy on images it was trained
# on, then on images it never saw. The difference is the robust generalisation gap; the thesis's
# claim is that it widens as the training $\varepsilon$ grows even when the training column is
# near 100%. On a few hundred images one image is worth half a point and the sampling noise is a
# few points, so compare the trend across the training $\varepsilon$ rather than single values.

# %% [markdown]
# ## Exercises
#
# 1. Move the close half of class 1 further from the line (`advrobust.toys.margin.CLOSE_WIDTH`,
#    or `separable_data(..., margin=...)`) until adversarial training at $\varepsilon = 4$ stops
#    failing. How far must it be, and why?
# 2. Train the toy with `advrobust.defenses.adv_ls` at $\varepsilon = 4$ (fixed $\varepsilon$ with
#    CAT's labels). Which of CAT's two components keeps the boundary?
