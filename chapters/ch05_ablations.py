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
# Each exercise says what to try; its solution is folded under it. For the *predict, then run*
# ones, write your prediction down before opening the solution. The *implement* one names the test
# of the book's test suite that checks the library's version; yours should pass it too.

# %% [markdown]
# ### Exercise 1 (predict, then run): is SPROUT the sum of its parts?
#
# The thesis reads Figure 5.5 as: each module helps, and SPROUT, which combines Gaussian
# augmentation, mixup and Dirichlet label smoothing, is better than each alone. Predict whether
# SPROUT's PGD accuracy at $\varepsilon$ = `EPS` is above the best single module's, and whether the
# same holds under AutoAttack. Then read the page's `ablation` frame (one row per variant and
# $\varepsilon$). What would a *sum* of the single modules' accuracies mean?

# %% tags=["solution"]
parts = ablation.pivot(index="variant", columns="eps", values="robust_accuracy")
parts = parts.reindex(["GA", "Mixup", "Dirichlet", "SPROUT"])  # SPROUT is trained from `quick` on
print(parts.round(3).to_string())
print("best single module per column:", parts.loc[["GA", "Mixup", "Dirichlet"]].max().round(3).to_dict())

# %% [markdown] tags=["solution"]
# The thesis finds SPROUT above every other combination under PGD on its fully trained VGG-16, with
# Dirichlet the best single module. At a reduced scale that need not hold: at `quick` (one epoch of
# each variant) every variant is at 0 at $\varepsilon = 0.03$, and at 0.01 SPROUT (15%) is below
# Gaussian augmentation alone (25%). Under AutoAttack a gap between label-smoothing variants
# shrinks further, since part of their PGD gain is a weaker cross-entropy attack. A sum of
# accuracies has no meaning (it can exceed 1); "close to the sum" can only be read on *gains* over a
# common baseline, and even then only if the modules defend against different examples, which
# Table 5.9's small gradient similarities suggest but do not prove.

# %% [markdown]
# ### Exercise 2 (implement): mixup
#
# Mixup trains on $\tilde x = (1-\lambda)x + \lambda x_{\pi}$ and $\tilde y = (1-\lambda)y +
# \lambda y_{\pi}$, with one $\lambda \sim \mathrm{Beta}(a, a)$ per batch and a random permutation
# $\pi$ of the batch, the same for inputs and labels. Implement it. The library's version is
# SPROUT's mixup module (`SPROUT(gaussian=False, smoothing="none").vicinal(model, x, y, state)`,
# which draws the Gaussian noise, then $\lambda$, then $\pi$ from the global generator); yours should
# pass `tests/test_sprout.py::test_mixup_mixes_inputs_and_labels_with_the_same_lambda_and_partner`.

# %% tags=["solution"]
import torch
from advrobust.defenses import SPROUT, one_hot

x, y = test.x[:8], test.y[:8]
mixup_only = SPROUT(gaussian=False, smoothing="none")
torch.manual_seed(3)
batch = mixup_only.vicinal(variants["Mixup"], x, y, {"beta": torch.ones(10, device=x.device)})
torch.manual_seed(3)  # the same draws, in the library's order: noise, λ, partner
_noise = torch.randn_like(x)
lam = torch.distributions.Beta(torch.tensor(mixup_only.mixup_a), torch.tensor(mixup_only.mixup_a)).sample()
partner = torch.randperm(len(x))
assert torch.allclose(batch.x, (1 - lam) * x + lam * x[partner])
assert torch.allclose(batch.y, (1 - lam) * one_hot(y, 10) + lam * one_hot(y, 10)[partner])
print(f"lambda = {float(lam):.3f}; partners: {partner.tolist()}")

# %% [markdown]
# ### Exercise 3 (predict, then run): where does $\beta$ go?
#
# SPROUT learns the Dirichlet parameter $\beta$ by gradient *ascent* on the training loss (the
# outer maximisation of Eq. (5.5)). It starts uniform on $[0, 1]$ (mean about 0.5). Predict whether
# its mean rises or falls over training, and whether its spread across classes grows. Then read it from the cached training record:
# `training_record(settings.network.sprout_train, settings.sprout,
# start_from=settings.natural_start(settings.network))` (from `advrobust.training`) returns the
# per-epoch history, with `beta_mean`, `beta_min` and `beta_max`.

# %% tags=["solution"]
from advrobust.training import training_record

history, _ = training_record(settings.network.sprout_train, settings.sprout,
                             start_from=settings.natural_start(settings.network))
for name in ("beta_mean", "beta_min", "beta_max"):
    print(f"{name}: {[round(value, 4) for value in history[name]]}")

# %% [markdown] tags=["solution"]
# It rises. Raising $\beta_k$ moves label mass onto class $k$, which raises the cross-entropy of
# every example to which the model gives class $k$ a low probability: nine examples in ten, for
# each class. Gradient ascent therefore raises every entry, unevenly: most for the classes the
# model is surest are *not* the answer, least for those it confuses with others. At `quick`, one
# epoch takes the mean from about 0.5 to about 0.85 (entries 0.63 to 1.06); a `smoke` run, a few
# batches, barely moves it. Larger $\beta$ means labels farther from one-hot: the maximisation of
# Eq. (5.5) makes the label noise stronger as training goes on, and with the book's rule (Eq. (5.6),
# $\alpha = 0.01$) it enters the concentration with a small weight, so the effect on the labels is
# gradual. Figure 5.8 shows the learned $\beta$'s structure across classes.
