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
# # 5 SPROUT, dissected (Figures 5.5–5.9, Table 5.9)
#
# The previous page compared SPROUT with adversarial training and TRADES. This one takes SPROUT
# apart (§5.3.4.6–5.3.4.9):
#
# * **Figure 5.5**: each of its three modules (Dirichlet label smoothing, Gaussian augmentation
#   "GA", mixup) alone and in every combination, with uniform label smoothing "LS"
#   {cite}`szegedy2016inception` as the baseline the Dirichlet replaces;
# * **Table 5.9**: how different the single-module models are, as the cosine similarity of their
#   input gradients (low similarity is the thesis's argument that the modules complement each
#   other);
# * **Figure 5.6b**: the model SPROUT starts from ("A+SPROUT");
# * **Figure 5.7**: network width;
# * **Figure 5.8**: the label correlation $\beta_s \beta_t$ that SPROUT learns (by Eq. (5.7) the
#   Dirichlet's covariance is proportional to it);
# * **Figure 5.9a**: sensitivity to the mixup shape $a$ and the smoothing $\alpha$;
# * and one item the thesis does not have: its **three label rules** (Algorithm 9, Eq. (5.6), the
#   official code) trained alike.
#
# Every variant is a setting of one class, `advrobust.defenses.SPROUT` (`gaussian`, `mixup`,
# `smoothing`, `label_rule`, ...), trained like the chapter's SPROUT (from the natural model),
# and its randomness is drawn in one fixed order, so switching a module off removes exactly that
# module. Each variant's PGD number has its AutoAttack twin beside it.

# %% tags=["parameters"]
profile = "quick"  # smoke | quick | paper
device = "auto"  # auto | cpu | cuda
seed = 0
results_dir = "results"

# %%
from advrobust.data.cifar import CIFAR10_CLASSES
from advrobust.experiments import ch5_sprout as ch5
from advrobust.experiments.setup import setup_chapter
from advrobust.plotting.sprout import ablation_figure, accuracy_curves_figure, beta_matrix_figure
from advrobust.profiles.sprout import EPS, sprout

chapter = setup_chapter(profile, device, seed, results_dir)
results = chapter.results
settings = sprout(profile)
test = ch5.test_images(settings, settings.n_eval, chapter.device, chapter.seed)
print(f"{chapter.describe()}: {settings.describe()}")

# %% [markdown]
# ## Figure 5.5: the ablation
#
# The thesis's findings: Dirichlet beats uniform LS by a wide margin; of the single modules,
# Dirichlet is the most robust; no combination beats all three together, and SPROUT's accuracy is
# close to the sum of the single modules'.

# %%
ablation, variants = ch5.ablation(settings, chapter.device, test)
results.figure(ablation_figure(ablation), "figure_5_5", caption=(
    f"Figure 5.5: PGD-{settings.steps} accuracy of every combination of SPROUT's modules and of uniform LS at ε = 0.01 and "
    f"{EPS}, and AutoAttack at {EPS}, {len(test)} test images."))
results.table(ablation.pivot(index="variant", columns="eps", values="robust_accuracy").loc[list(variants)]
              .round(ch5.DECIMALS), "figure_5_5_values", caption="Figure 5.5's values.")

# %% [markdown]
# ## Table 5.9: are the modules diverse?
#
# Following {cite}`kariyappa2019diversity`'s measure as the thesis uses it: for two models trained
# with one module each, the cosine similarity of their input gradients on the same test images,
# averaged. Our single-module models all fine-tune the same natural model (the chapter's default
# start), so their input gradients start out identical and a short run leaves them similar; the
# thesis does not say where its single-module models start.

# %%
results.table(ch5.table_5_9(variants, settings, chapter.device, chapter.seed, profile), "table_5_9", caption=(
    f"Table 5.9: mean cosine similarity of input gradients between the single-module models, "
    f"{settings.n_similarity} test images (thesis: 10,000, VGG-16)."))

# %% [markdown]
# ## Figure 5.6b: where SPROUT starts
#
# The thesis finds Natural+SPROUT best for $\varepsilon \ge 0.02$, TRADES+SPROUT and
# Random+SPROUT strong, and Adv Train+SPROUT weaker. Random+SPROUT trains from scratch, for
# the profile's longer schedule (`settings.scratch_train`); the others fine-tune.

# %%
starts = ch5.initialisations(settings, chapter.device, test)
results.figure(accuracy_curves_figure(dict(tuple(starts.groupby("method", sort=False))), x="eps",
                                      xlabel="ε (L∞)", title="Figure 5.6b"), "figure_5_6b", caption=(
    f"Figure 5.6b: PGD-{settings.steps} accuracy over ε of SPROUT started from each model, {len(test)} test images."))

# %% [markdown]
# ## Figure 5.7: network width
#
# The thesis: both Adv Train and SPROUT stay below 47% at width 1 (a ResNet-34), and SPROUT leads by
# about 15 points when wider. Below `paper` the grid is reduced (the profile's `width_models`).

# %%
widths = ch5.width(settings, chapter.device, test)
results.figure(accuracy_curves_figure(dict(tuple(widths.groupby("method", sort=False))), x="width",
                                      xlabel="width", title="Figure 5.7"), "figure_5_7", caption=(
    f"Figure 5.7: PGD-{settings.steps} accuracy at ε = {EPS} against network width ({[w for w, _ in settings.width_models]}; "
    "thesis: WRN-34 widths 1-10)."))
results.table(widths.round(ch5.DECIMALS), "figure_5_7_values", caption="Figure 5.7's values, with clean accuracy.")

# %% [markdown]
# ## Figure 5.8: the label correlation SPROUT learned
#
# By Eq. (5.7) the covariance of two labels of the Dirichlet is $-\beta_s\beta_t / (\beta_0^2
# (\beta_0 + 1))$, so $\beta_s\beta_t$ shows which classes SPROUT learned to confuse. The thesis
# sees {airplane, automobile, ship, truck} high and {bird, cat, deer, dog} low. A short run moves
# $\beta$ little from its random start, so at `quick` read the matrix as the start plus a few
# hundred ascent steps.

# %%
results.figure(beta_matrix_figure(ch5.learned_beta(settings), CIFAR10_CLASSES), "figure_5_8", caption=(
    "Figure 5.8: the matrix β_s·β_t of the β SPROUT learned (VGG-16 in the thesis)."))

# %% [markdown]
# ## Figure 5.9a: sensitivity to $a$ and $\alpha$
#
# The thesis: a too-large $\alpha$ (labels too uncertain) or a too-large $a$ lowers robust
# accuracy.

# %%
results.table(ch5.sensitivity(settings, chapter.device, test).round(ch5.DECIMALS), "figure_5_9a", caption=(
    f"Figure 5.9a: clean and PGD-{settings.steps} accuracy at ε = {EPS} of SPROUT for each (a, α), {len(test)} test images."))

# %% [markdown]
# ## The three label rules
#
# The thesis writes two Dirichlet concentrations, and its code a third (see the previous page).
# Trained alike, with AutoAttack beside PGD:

# %%
results.table(ch5.label_rules(settings, chapter.device, test), "label_rules", caption=(
    f"SPROUT under each label rule (eq_5_6 = (1-α)y + αβ, the book's default; algorithm_9 = αy + (1-α)β; "
    f"official_code = 10y + β): clean, PGD and AutoAttack at ε = {EPS}, {len(test)} test images."))

# %% [markdown]
# ## Exercises
#
# 1. In Figure 5.5, is SPROUT's accuracy "close to the sum" of the single modules' under PGD? Under
#    AutoAttack? What would a sum of accuracies mean?
# 2. Retrain the ablation with `gaussian_std=0.25`. Gaussian augmentation is the training half of
#    randomized smoothing; does its AutoAttack accuracy move with σ the way PGD's does?
# 3. Plot the per-epoch `beta_mean` of SPROUT's training history (`advrobust.training.training_record`)
#    and explain its trend from the sign of $\partial L / \partial \beta$.
