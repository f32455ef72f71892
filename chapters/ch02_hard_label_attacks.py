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
# # 2.5 Hard-label attacks compared: Sign-OPT, SVM-OPT, OPT, Boundary, Guessing Smart
#
# The previous page turned the hard-label attack into the minimisation of $g(\theta)$, the distance
# from $x_0$ to the decision boundary along the direction $\theta$ (2.13)–(2.15). This page runs the
# thesis's experiments of §2.5 on the attacks that minimise it, and on the two boundary-walking
# attacks they are compared with:
#
# | attack | what it uses | code |
# |---|---|---|
# | OPT-attack {cite}`cheng2019opt` (Algorithm 3) | $q = 20$ finite differences of $g$ per step (2.16), each $g$ by search (Algorithm 2) | `OPTAttack` |
# | Sign-OPT {cite}`cheng2020signopt` (Algorithm 4) | $Q = 200$ *signs* of directional derivatives, one query each (2.17), summed (2.18) | `SignOPT` |
# | SVM-OPT (Algorithm 5) | the same signs, combined by the hard-margin SVM (2.19) | `SVMOPT` |
# | ZO-SignSGD (§2.5.0.3) | the element-wise sign of the estimate, with or without the single-query oracle | `ZOSignSGD` |
# | Boundary attack {cite}`brendel2018boundary` | a random walk along the boundary | `BoundaryAttack` |
# | Guessing Smart {cite}`brunner2019guessing` | the Boundary attack with low-frequency (Perlin) and mask priors, no surrogate model (as in the thesis) | `GuessingSmart` |
# | C&W $L_2$ {cite}`carlini2017cw` | gradients (white-box baseline) | `CarliniWagnerL2` |
#
# Every black-box attack sees the model only through a **query oracle** that answers with the top-1
# label, clips every query to $[0, 1]$, counts one query per input row and refuses queries beyond the
# budget. Whenever a query is adversarial, the oracle records its distortion, so a single run gives
# the thesis's metrics at *every* budget: the **median distortion within $x$ queries** and the
# **success rate within $x$ queries at threshold $\varepsilon$** (§2.5).

# %% tags=["parameters"]
profile = "quick"  # smoke | quick | paper
device = "auto"
seed = 0
results_dir = "results"

# %%
from advrobust.experiments import ch2_hard_label as hl
from advrobust.experiments.setup import setup_chapter
from advrobust.plotting.curves import query_curves_figure
from advrobust.plotting.images import image_grid
from advrobust.profiles.hard_label import hard_label
from advrobust.profiles.whitebox import whitebox

chapter = setup_chapter(profile, device, seed, results_dir)
results = chapter.results
mnist_settings, cifar_settings = hard_label(profile, "mnist"), hard_label(profile, "cifar10")

# %% [markdown]
# ## The victim: the C&W MNIST network
#
# The thesis uses the CNNs of Carlini and Wagner (§2.5). The MNIST network is the one trained for
# the white-box page (shared through the checkpoint cache). We attack correctly classified test
# images only, the same ones for every attack.

# %%
mnist = hl.hard_label_victim(mnist_settings, chapter.device, chapter.seed)
print(mnist.describe("MNIST"))

# %% [markdown]
# ## Untargeted attacks (Table 2.2, Figure 2.6)
#
# Each attack runs to the largest budget once; Table 2.2's columns are read off the traces. The
# white-box C&W $L_2$ attack, which uses gradients, is the reference line.
#
# The attacks and their budgets come from the profile: `mnist_settings.untargeted_specs()` maps each
# of Table 2.2's names to an `AttackSpec`, the attack class with `budget = max_budget` and a seed, and
# that budget is the one the oracle enforces. Finished runs are cached on disk under a key made of the
# attack, its settings, the network and the attacked images, so re-running the page reads them back
# without a single query. In the table, `avg_l2` averages the distortion over the images with an
# adversarial example found within the budget, while `success_rate` is the share of *all* attacked
# images whose distortion is at most ε: an attack that fails on an image lowers its success rate but
# not its average.

# %%
untargeted = hl.untargeted_runs(mnist_settings, mnist)
cw = hl.white_box_cw(whitebox(profile).cw, mnist)
results.table(hl.table_2_2(mnist_settings, untargeted, profile, cw).round(3), "table_2_2_mnist", caption=(
    f"Table 2.2 (MNIST): average L2 distortion and success rate SR(ε = {mnist_settings.sr_threshold}) within each "
    f"query budget, untargeted, on {len(mnist.y)} correctly classified test images (thesis: 100). Ours beside "
    "the thesis's."))
results.glue("cw_median", f"{cw.median_l2:.2f}")
results.figure(
    query_curves_figure(hl.figure_2_6_panel(mnist_settings, untargeted), "median_l2", "median L2 distortion",
                        references={"MNIST": {"C&W (white-box), median": cw.median_l2}}),
    "figure_2_6_mnist", caption=(
        "Figure 2.6 (MNIST panel): untargeted median L2 distortion against queries. The dotted line is the white-box "
        "C&W attack's median. The thesis draws this panel as curves only; its numbers at 4k/8k/14k queries are "
        "Table 2.2's, beside ours above (e.g. Sign-OPT 1.54/1.18/1.09, C&W 0.88)."))

# %% [markdown]
# ### The claim: Sign-OPT < OPT-attack < Boundary at 4k and 8k queries
#
# The thesis's Table 2.2 puts the three in this order at every budget on MNIST (avg L2 1.54 < 3.65 <
# 4.24 at 4k; 1.18 < 2.41 < 4.24 at 8k). We read the medians off our run:

# %%
ordering = ["Sign-OPT attack", "OPT attack", "Boundary attack"]
medians, _ = hl.ordered_medians(untargeted, [4000, 8000], ordering)
print(medians.round(3).to_string())
order = hl.order_claims(untargeted, [4000, 8000], ordering, item="Table 2.2")
results.claims(order)
results.glue("order_4k", order[0].phrase())
results.glue("order_8k", order[1].phrase())

# %% [markdown]
# At 4k queries the order {glue:text}`order_4k`, and at 8k it {glue:text}`order_8k` (medians above).
#
# Two differences from the thesis's setting shape these numbers, and neither is tuned away:
#
# * **The Boundary attack is stronger here than in Table 2.2 at 8k queries.** The thesis ran the
#   Foolbox 1.x copy kept in the official repository, which spends queries on tuning its batch size
#   and on many candidate directions per step; its average stays at 4.24 from 4k to 8k queries. We
#   follow Foolbox 3's semantics (one candidate per step, the spherical candidate queried every tenth
#   step), which converge faster, so Boundary catches up with OPT-attack earlier: at 8k the two
#   are close, at 14k they are level. The 4k ordering is unaffected.
# * **Our MNIST network needs larger distortions than the thesis's.** The white-box C&W attack on
#   the same images needs a median of {glue:text}`cw_median` (thesis: average 0.88), so every
#   attack's distortion sits higher than in Table 2.2; the `quick` network is trained for 3 epochs
#   (98.9% accuracy), not with CW17's 50-epoch recipe (99.5%). Compare attacks with each other and
#   with C&W on this page, not with the thesis's absolute values.

# %% [markdown]
# ## Sign-OPT against SVM-OPT, and the number of directions Q (Figure 2.5)
#
# SVM-OPT replaces the sum of signed directions (2.18) by the smallest vector that agrees with all
# of the signs (2.19). The thesis finds the two "remarkably similar". The third panel varies Q,
# the number of sign queries per gradient estimate; the thesis runs it on CIFAR-10, we run it on
# the MNIST side set (cheaper per query) on a reduced grid.

# %%
side = hl.side_runs(mnist_settings, mnist, chapter.device, chapter.seed)
panels = hl.figure_2_5_panels(mnist_settings, side)
results.figure(query_curves_figure(panels, "median_l2", "median L2 distortion"), "figure_2_5", caption=(
        f"Figure 2.5: Sign-OPT against SVM-OPT (untargeted and targeted), and Sign-OPT for several Q, on "
        f"{len(side.y)} MNIST images. The thesis's Q sweep is on CIFAR-10 with Q from 10 to 1000. The thesis gives "
        "no numbers for this figure; its finding is that the two attacks are on a par and that Q changes the "
        "speed, not the end point."))
gap = hl.largest_relative_gap(side.svm, mnist_settings.budgets[:2], ("SVM-OPT", "Sign-OPT attack"))
results.glue("svm_gap", f"{gap:.0%}")

# %% [markdown]
# The largest relative gap between the two medians at these budgets is {glue:text}`svm_gap`. The
# book calls two attacks similar when their medians differ by at most 15% of the smaller one: the
# thesis puts no number on "remarkably similar", and 15% is well below the gaps between the attacks
# it does rank (Sign-OPT 1.18 against OPT-attack 2.41 at 8k queries in Table 2.2, a factor of two).
#
# ## Targeted attacks and the single-query oracle (Figure 2.7)
#
# A targeted attack must reach a given class $t$ (2.14). As in §2.5.0.2 every attack starts from
# the best of {glue:text}`n_starts` training images the model assigns to $t$. Panel (b) isolates the
# single-query oracle: ZO-SignSGD {cite}`cheng2020signopt` estimates the same objective, once with
# finite differences measured by search (as OPT does) and once with the one-query signs (2.17).

# %%
results.glue("n_starts", mnist_settings.n_starts)
panels = hl.figure_2_7_panels(mnist_settings, side)
results.figure(query_curves_figure(panels, "median_l2", "median L2 distortion"), "figure_2_7", caption=(
        f"Figure 2.7: (a) targeted median L2 against queries on {len(side.y)} MNIST images with random targets; "
        "(b) Sign-OPT against ZO-SignSGD with and without the single-query oracle (SQO). The thesis draws "
        "curves only; its one number: on MNIST targeted, Sign-OPT needs about 12k queries to reach C&W's "
        "average distortion 1.51, the other attacks more than 120k."))
zo_attacks = ["Sign-OPT attack", "ZO-SignSGD with SQO", "ZO-SignSGD without SQO"]
zo_budgets = mnist_settings.budgets[:2]
zo_medians, _ = hl.ordered_medians(side.zo, zo_budgets, zo_attacks)
print(zo_medians.round(3).to_string())
zo_order = hl.order_claims(side.zo, zo_budgets, zo_attacks, item="Figure 2.7")
results.claims(zo_order)
results.glue("zo_order", ", ".join(f"{claim.phrase()} at {q:,} queries" for q, claim in zip(zo_budgets, zo_order)))

# %% [markdown]
# The thesis's ordering, Sign-OPT < ZO-SignSGD with the oracle < ZO-SignSGD without it,
# {glue:text}`zo_order`.
#
# ## Success rate against queries (Figure 2.8) and examples (Figure 2.9)
#
# Figure 2.8 of the thesis shows, for CIFAR-10, the share of examples whose distortion is below a
# threshold within each budget; we show it for both datasets we run (CIFAR-10 further below).

# %%
panels = hl.figure_2_8_panels(mnist_settings, untargeted, side)
results.figure(query_curves_figure(panels, "success_rate", "success rate"), "figure_2_8_mnist", caption=(
        "Figure 2.8 analogue on MNIST: success rate (distortion ≤ ε) against queries (the thesis's panels are "
        "CIFAR-10, curves only; its MNIST SR(1.5) at 4k/8k/14k is in Table 2.2, e.g. Sign-OPT 46%/84%/94%)."))
images, titles, row_labels = hl.figure_2_9_rows(side)
results.figure(
    image_grid(images, titles, columns=len(titles) // len(row_labels), row_labels=row_labels),
    "figure_2_9_mnist", caption=(
        "Figure 2.9 (MNIST rows): targeted Sign-OPT and OPT-attack examples with their L2 distortion and "
        "the queries spent (the whole budget; the trace says when each distortion was first reached)."))

# %% [markdown]
# ## CIFAR-10
#
# The same comparison on the C&W CIFAR-10 network, when the CIFAR-10 files are present (they are
# not downloaded here). At `quick` the network is trained for 3 epochs on 20,000 images, far less
# accurate than the thesis's 82.5%, and only 10 images are attacked with up to 4k queries (a
# CIFAR-10 query costs about five MNIST queries on the CPU). The numbers show the attacks' order on
# a weak model; the thesis's scale is the `paper` profile (CW17's 50-epoch recipe, 100 images,
# 40k queries).

# %%
cifar = hl.victim_if_present(cifar_settings, chapter.device, chapter.seed)
if cifar is None:
    print("CIFAR-10 not found under the data directory: this section is skipped.")
else:
    print(cifar.describe("CIFAR-10"), "Thesis: 82.5% accuracy.")
    cifar_runs = hl.untargeted_runs(cifar_settings, cifar)
    results.table(hl.table_2_2(cifar_settings, cifar_runs, profile).round(3), "table_2_2_cifar10", caption=(
        f"Table 2.2 (CIFAR-10): average L2 and SR(ε = {cifar_settings.sr_threshold}), untargeted, "
        f"{len(cifar.y)} images (thesis: 100, budgets 4k/8k/12k)."))
    results.figure(
        query_curves_figure(hl.figure_2_6_panel(cifar_settings, cifar_runs), "median_l2", "median L2 distortion"),
        "figure_2_6_cifar10", caption=(
            "Figure 2.6 (CIFAR-10 panel): untargeted median L2 distortion against queries. The thesis's "
            "numbers are Table 2.2's CIFAR-10 rows, beside ours above."))
    results.figure(
        query_curves_figure(hl.figure_2_8_panels(cifar_settings, cifar_runs), "success_rate", "success rate"),
        "figure_2_8_cifar10", caption=(
            f"Figure 2.8 (untargeted CIFAR-10 panel): success rate at ε = {cifar_settings.sr_threshold} against "
            "queries. The thesis's values are curves only; its SR(0.5) at 4k/8k/12k is in Table 2.2 (e.g. "
            "Sign-OPT 73%/90%/95%). Its targeted CIFAR-10 panels are not run by this page."))

# %% [markdown]
# ## ImageNet
#
# The thesis's third dataset: torchvision's pretrained ResNet-50 (76.15% top-1), budgets of
# 4k/30k/160k queries and SR at ε = 3.0. At `paper` this page attacks 100 correctly classified
# validation images (a seeded choice among 1,000 drawn ones) with Table 2.2's four attacks to
# 160k queries each, and the white-box C&W $L_2$ reference (`whitebox(profile).imagenet_cw`). It
# needs the reader's ImageNet validation folder (ImageNet cannot be downloaded automatically) and
# the weights in the torch hub cache (never downloaded here). Below `paper`, or without them, the
# thesis's rows are shown as printed and the caption says why. A query is a ResNet-50 forward pass
# at 224 × 224: the 64 million queries of these runs are GPU work, a stage of the plan (`make plan`).

# %%
imagenet = hl.imagenet_rows(whitebox(profile), chapter.device, profile, chapter.seed)
if imagenet.attacked is not None:
    print(f"ResNet-50 top-1 accuracy {imagenet.attacked.clean_accuracy:.2%} on {imagenet.attacked.n_test} validation "
          f"images (thesis: 76.15%); attacking {len(imagenet.attacked.y)} correctly classified ones.")
results.table(imagenet.table.round(3), "table_2_2_imagenet", caption=(
    "Table 2.2 (ImageNet, ResNet-50): average L2 and SR(ε = 3.0) within 4k/30k/160k queries, untargeted, "
    "with the white-box C&W row" + (", ours beside the thesis's." if imagenet.status == "ran" else
                                     f"; the thesis's as printed. Ours: {imagenet.status}.")))
if imagenet.cw is not None:
    results.figure(query_curves_figure(imagenet.curves, "median_l2", "median L2 distortion", references={
        "ImageNet (ResNet-50)": {"C&W (white-box), median": imagenet.cw.median_l2}}), "figure_2_6_imagenet", caption=(
        "Figure 2.6 (ImageNet panel): untargeted median L2 distortion against queries on the ResNet-50. The thesis "
        "draws curves to 80k; its finding: Sign-OPT's median falls below 3.0 within 30k queries, the others "
        "need more than 200k."))

# %% [markdown]
# The attacks themselves are dataset-agnostic: `SignOPT(model, budget=160_000).run(x, y)` with `x` in
# $[0, 1]$ is all the ImageNet rows run.

# %% [markdown]
# ## Exercises
#
# Each exercise says what to try; its solution is folded under it. For the *predict, then run*
# ones, write your prediction down before opening the solution. The *implement* one names the test
# of the book's test suite that checks the library's version; yours should pass it too.

# %% [markdown]
# ### Exercise 1 (predict, then run): how many signs per step?
#
# Sign-OPT spends $Q$ single-query signs on each gradient estimate (2.18). Predict, for the first
# two attacked images and the page's smallest budget (`mnist_settings.budgets[0]`), whether
# $Q = 10$ or $Q = 200$ reaches the smaller $L_2$ distortion by half the budget, and which by the
# full budget. Then run `SignOPT(mnist.model, budget=..., q=...)` (from `advrobust.blackbox`) and
# read the best distortion within each budget with the result's `best_at`.

# %% tags=["solution"]
from advrobust.blackbox import SignOPT

budget = mnist_settings.budgets[0]
for q in (10, 200):
    sweep = SignOPT(mnist.model, budget=budget, q=q, seed=0).run(mnist.x[:2], mnist.y[:2])
    print(f"Q = {q:3d}: best L2 per image at {budget // 2:,} and {budget:,} queries:",
          sweep.best_at([budget // 2, budget]).round(decimals=2).tolist())

# %% [markdown] tags=["solution"]
# A small $Q$ takes more steps in the same budget, but each step's direction is worse: the
# estimate (2.18) averages $Q$ signs, and its cosine with the true direction grows like
# $\sqrt{Q/d}$ for $Q \ll d$ (exercise 3 of the soft-label page shows the same law for NES). With
# $Q = 10$ in $d = 784$ dimensions many steps fail the line search and waste its queries: at `quick`
# (4,000 queries), $Q = 200$ is ahead on both images at both budgets (best $L_2$ at the full budget
# 0.91 against 1.35 on one image, 2.41 against 3.50 on the other). At `smoke` the budget is spent before the first step and the
# two tie. Over large budgets the curves approach each other: $Q$ changes the speed more than the end
# point, as Figure 2.5's sweep shows.

# %% [markdown]
# ### Exercise 2 (implement): the hard-margin SVM direction (2.19)
#
# SVM-OPT replaces Sign-OPT's average of the signed directions $s_q u_q$ by the minimum-norm $z$
# with $s_q z^\top u_q \geq 1$ for every $q$. Implement it (any solver of this small quadratic
# program will do: projected gradient on the dual, or an off-the-shelf QP). Two cases have a
# closed form you can check first: one constraint, $z = s_1 u_1 / \|u_1\|^2$, and orthogonal
# $u_q$, $z = \sum_q s_q u_q / \|u_q\|^2$. The library's version is
# `advrobust.blackbox.svm.hard_margin_direction(u, signs)` (batched: `u` of shape (rows, Q, ...));
# yours should pass `tests/test_direction_search.py::test_svm_direction_is_the_minimum_norm_consistent_vector`.

# %% tags=["solution"]
import torch
from advrobust.blackbox.svm import hard_margin_direction

u = 3.0 * torch.eye(4, 10, dtype=torch.float64)[None]  # four orthogonal directions of norm 3 in 10-D
signs = torch.tensor([[1.0, -1.0, -1.0, 1.0]], dtype=torch.float64)
z = hard_margin_direction(u, signs, iterations=2000)[0].double()
closed_form = (signs[0, :, None] * u[0] / u[0].pow(2).sum(dim=1, keepdim=True)).sum(dim=0)
assert torch.allclose(z, closed_form, atol=1e-6)
assert bool(((signs[0] * (u[0] @ z)) >= 1 - 1e-6).all())  # every constraint holds, with equality here
print("SVM direction:", z.round(decimals=4).tolist())

# %% [markdown]
# ### Exercise 3 (predict, then run): why SVM-OPT and Sign-OPT agree
#
# Draw $Q = 20$ Gaussian directions $u_q$ in $d = 784$ dimensions and signs $s_q$ from a hidden
# gradient. Predict the cosine between Sign-OPT's estimate $\frac1Q\sum_q s_q u_q$ and the SVM
# direction (2.19). Then compute it, and explain Figure 2.5 with it.

# %% tags=["solution"]
generator = torch.Generator().manual_seed(0)
u = torch.randn(1, 20, 784, generator=generator, dtype=torch.float64)
signs = torch.sign(u[0] @ torch.randn(784, generator=generator, dtype=torch.float64))[None]
sign_opt = (signs[0, :, None] * u[0]).mean(dim=0)
svm = hard_margin_direction(u, signs, iterations=2000)[0].double()
print(f"cosine(Sign-OPT estimate, SVM direction) = {float(torch.nn.functional.cosine_similarity(sign_opt, svm, dim=0)):.4f}")

# %% [markdown] tags=["solution"]
# Nearly 1. For $Q \ll d$ Gaussian vectors are almost orthogonal and of almost equal norm: their
# Gram matrix is close to $d\,I$. The SVM's dual then gives every constraint about the same weight,
# so $z \approx \sum_q s_q u_q / d$, a multiple of Sign-OPT's average. The two attacks take the same
# steps, which is why Figure 2.5 finds them on a par; SVM-OPT only pays for its quadratic program.

# %% [markdown]
# ### Exercise 4: where do targeted attacks start?
#
# The targeted attacks start from the closest of `mnist_settings.n_starts` images of the target
# class. Before re-running anything: what would change with a single start, and why does a good
# start matter more to the hard-label attacks than to C&W?

# %% [markdown] tags=["solution"]
# A hard-label attack can only walk along the boundary from an image that already has the target
# label; its distortion falls from the start's, one line search at a time. The closest of several
# target images starts smaller, so within a fixed budget it ends smaller: with one start, the
# targeted medians of Figure 2.7 rise, most at small budgets. C&W follows the gradient from $x_0$
# itself and needs no start. The larger the budget, the less the start matters: the attacks forget
# it as they converge.
