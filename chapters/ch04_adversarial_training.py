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
import pandas as pd
from advrobust.experiments.ch4_defenses import evaluation_data, fixed_eps_table, train_defended
from advrobust.plotting.common import use_book_style
from advrobust.plotting.toys import plot_toy_boundaries
from advrobust.profiles.defenses import defenses
from advrobust.report import Results
from advrobust.runtime import device_name, resolve_device, seed_everything
from advrobust.tables import beside_thesis, thesis_table
from advrobust.toys.margin import MARGIN, figure_4_1_data, figure_4_1_models, toy_accuracy

device = resolve_device(device)
seed_everything(seed)
use_book_style()
results = Results(results_dir, profile)
settings = defenses(profile)
print(f"profile {profile} on {device_name(device)}: {settings.dataset}, {settings.model_label()}"
      + (f" ({settings.note})" if settings.note else ""))

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
x_train, y_train, x_test, y_test = figure_4_1_data(seed)
toy_models = figure_4_1_models(seed)
toy_table = pd.DataFrame(
    [{"training": name, "test accuracy": toy_accuracy(model, x_test, y_test),
      "training accuracy": toy_accuracy(model, x_train, y_train)} for name, model in toy_models.items()]
)
results.figure(plot_toy_boundaries(toy_models, x_train, y_train, x_test, y_test), "figure_4_1", caption=(
    f"Figure 4.1: decision boundaries on separable 2-D data with margin {MARGIN} (L∞). (a) natural, "
    "(b) adversarial training eps = 1, (c) eps = 4, (d) CAT eps_max = 4. The thesis shows the same "
    "four panels without numbers: (c) distorted, the others near the true line."))
results.table(toy_table.set_index("training").round(4), "figure_4_1_accuracy", caption=(
    f"Figure 4.1's claim measured: toy test accuracy ({len(y_test)} points) of each training. The "
    "thesis's claim: adversarial training at eps = 4 ruins the boundary while CAT keeps it."))
accuracy = toy_table.set_index("training")["test accuracy"]
holds = accuracy["pgd_at_eps4"] < min(accuracy.drop("pgd_at_eps4")) - 0.05
print(f"[{'holds' if holds else 'does NOT hold'}] AT at eps = 4 is clearly worse than natural, "
      f"AT at eps = 1 and CAT: {accuracy.round(4).to_dict()}")

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
fixed_models = train_defended(settings, settings.fixed_eps_defenses(), device, config=settings.fixed_eps_config)
# the same seed as the training run's subset: these training images are ones the models saw
train_data = evaluation_data(settings, "train", settings.n_fixed_eps, device, seed=settings.fixed_eps_config.seed)
test_data = evaluation_data(settings, "test", settings.n_fixed_eps, device)
columns = settings.columns
fixed = fixed_eps_table(fixed_models, train_data, test_data, eps=settings.fixed_eps_test,
                        steps=columns.pgd_steps, autoattack=columns.autoattack)
shown = beside_thesis(fixed, thesis_table("table_4_1"), on=["test_eps", "split", "train_eps"],
                      profile=profile, values=["robust_accuracy"])
ours = fixed.set_index(["test_eps", "split", "train_eps"])
shown[("AutoAttack", f"ours ({profile})")] = ours["autoattack"]
shown[("clean accuracy", f"ours ({profile})")] = ours["clean_accuracy"]
results.table(shown.round(4), "table_4_1", caption=(
    f"Table 4.1: robust accuracy at eps = {settings.fixed_eps_test} on training and test images of "
    f"models adversarially trained at fixed eps; thesis (VGG-16, CIFAR-10, full sets) beside ours "
    f"({settings.model_label()}, {settings.n_fixed_eps} training and test images, PGD{columns.pgd_steps}"
    f" and AutoAttack)."))
robust = ours["robust_accuracy"].droplevel("test_eps")
gap = robust.xs("train", level="split") - robust.xs("test", level="split")
print("generalisation gap (train - test robust accuracy) by training eps:", gap.round(4).to_dict())

# %% [markdown]
# ## Exercises
#
# 1. Move the close half of class 1 further from the line (`advrobust.toys.margin.CLOSE_WIDTH`,
#    or `separable_data(..., margin=...)`) until adversarial training at $\varepsilon = 4$ stops
#    failing. How far must it be, and why?
# 2. Train the toy with `advrobust.defenses.adv_ls` at $\varepsilon = 4$ (fixed $\varepsilon$ with
#    CAT's labels). Which of CAT's two components keeps the boundary?
