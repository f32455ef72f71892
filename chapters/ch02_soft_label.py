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
# # 2.3 Soft-label black-box attacks: ZOO and NES
#
# The white-box attacks of the previous page back-propagate through the network. A deployed model
# rarely allows that: the attacker can only send an input $x$ and read the answer. In the
# **soft-label** (score-based) setting of §2.3 the answer is the vector of class probabilities,
# the softmax output; in the hard-label setting of §2.4 it will be the top-1 label alone.
#
# A first answer to the black-box setting was the *transfer attack* (Papernot et al. 2017): train
# a substitute model $\hat f$ that imitates $f$ and attack $\hat f$ with a white-box method. The
# thesis notes that such attacks reach lower success rates with larger distortions than attacking
# $f$ itself, which is what the two attacks of this page do: they **estimate the gradient from
# queries** and plug the estimate into a white-box method.
#
# ## ZOO: coordinate-wise finite differences {cite}`chen2017zoo`
#
# ZOO keeps the C&W formulation (2.5), $\min_x \|x - x_0\|_2^2 + c\,L(x)$, but computes the loss
# from the probabilities $p(x)$ the model returns:
#
# $$ L(x) = \max\{\log p_{y_0}(x) - \max_{j \neq y_0} \log p_j(x),\; -\kappa\}. $$
#
# Since $\log p_i = Z_i - \log \sum_j e^{Z_j}$, the normaliser cancels in the difference and this
# is exactly the logit margin of (2.6): the soft labels carry all the information C&W needs. The
# gradient is then estimated one coordinate at a time by the symmetric difference of §2.3,
#
# $$ \frac{\partial F(x)}{\partial x_{(i)}} \approx \frac{F(x + h e_i) - F(x - h e_i)}{2h}, $$
#
# with $h = 10^{-4}$. A full gradient costs $2D$ queries ($2 \times 784$ on MNIST), so ZOO never
# forms one: each iteration draws 128 random coordinates, estimates those 128 partial derivatives
# ($2 \times 128 + 1$ queries with the current point) and takes an ADAM step on them alone, with
# ADAM's moments kept per coordinate. This is the cost the thesis points at: the time to estimate
# the gradient grows with the dimension of the input.
#
# ## NES: antithetic Gaussian sampling (Algorithm 1) {cite}`ilyas2018nes`
#
# NES estimates the whole gradient at once from random directions: for $u_i \sim N(0, I)$,
#
# $$ g = \frac{1}{2n\sigma} \sum_{i=1}^{n} \big[f(x + \sigma u_i) - f(x - \sigma u_i)\big]\, u_i, $$
#
# which is Algorithm 1 of the thesis: each pair costs two queries whatever the dimension, and
# evaluating both $x + \sigma u_i$ and $x - \sigma u_i$ (antithetic sampling) cancels the even
# terms of the Taylor expansion. The estimate is the gradient of a Gaussian-smoothed loss, and
# Ilyas et al. use it inside $L_\infty$ projected gradient descent: $x \leftarrow \Pi_{\varepsilon}
# (x - \eta\,\mathrm{sign}(g))$, stopping as soon as the label flips. With $n$ pairs the estimate
# is far noisier than the true gradient in $D = 784$ dimensions, but only its signs are used.
#
# ## How the queries are counted
#
# Both attacks see the model only through a query oracle (`ScoreOracle`) that returns the
# probabilities, clips every query to $[0, 1]$, counts one query per input row, refuses queries
# beyond the budget and records the best adversarial query of each example. The probe points
# count like any other query, and a single run gives the success rate at every budget.

# %% tags=["parameters"]
profile = "quick"  # smoke | quick | paper
device = "auto"
seed = 0
results_dir = "results"

# %%
from advrobust.experiments import ch2_soft_label as soft
from advrobust.experiments.setup import setup_chapter
from advrobust.plotting.curves import query_curves_figure
from advrobust.plotting.images import image_grid
from advrobust.profiles.score_based import score_based
from advrobust.profiles.whitebox import whitebox

chapter = setup_chapter(profile, device, seed, results_dir)
results = chapter.results
settings = score_based(profile)

# %% [markdown]
# ## The victim and the attacked images
#
# The C&W MNIST network of the white-box page (the same trained checkpoint, shared through the
# cache). As in the thesis, only correctly classified test images are attacked.

# %%
mnist = soft.soft_label_victim(settings, chapter.device, chapter.seed)
print(mnist.describe("MNIST"))

# %% [markdown]
# ## Running the attacks
#
# ZOO minimises the $L_2$ objective under a budget of {glue:text}`sl_zoo_budget` queries per image;
# NES looks for an adversarial example inside the $L_\infty$ ball of radius
# $\varepsilon$ = {glue:text}`sl_nes_eps` with at most {glue:text}`sl_nes_budget` queries. Finished
# runs are cached on disk, so an interrupted page resumes. As references, the white-box C&W $L_2$
# attack and PGD at the same $\varepsilon$ run on the same images with the settings of the
# white-box page.

# %%
results.glue("sl_zoo_budget", f"{settings.zoo_budget:,}")
results.glue("sl_nes_budget", f"{settings.nes_budget:,}")
results.glue("sl_nes_eps", settings.nes_eps)
runs = soft.run_soft_label(settings, whitebox(profile), mnist)

# %% [markdown]
# ## Success, distortion and queries
#
# For each attack: the share of images it made adversarial, the distortion of those adversarial
# examples in the attack's own norm, and the queries it used. A white-box "query" is one forward
# and backward pass. ZOO keeps minimising the distortion until its budget is spent, so it usually
# uses all of it; the column "queries to first success" reads from the oracle's trace when the first
# adversarial query of each image came.

# %%
results.table(
    soft.summary_table(runs, settings.nes_eps).round(3),
    "soft_label_summary",
    caption=(f"ZOO and NES against the MNIST CNN on {len(mnist.y)} correctly classified test images, beside the "
             "white-box C&W L2 and PGD attacks on the same images (queries = gradient steps for these). "
             "The thesis reports no experiment for §2.3, so there is no thesis column."),
)

# %% [markdown]
# ## Success against queries
#
# The oracle's trace gives, for every budget $x$, the share of images with an adversarial query
# among their first $x$ queries, and the smallest distortion found so far. The dotted lines are the
# white-box attacks on the same images.

# %%
panels, references = soft.success_panels(settings, runs)
results.figure(
    query_curves_figure(panels, "share", "success rate", references=references),
    "soft_label_success_vs_queries",
    caption=("Success rate against queries: for ZOO, the share of images with any adversarial query and "
             "with one of L2 ≤ 1.5 (Table 2.2's MNIST threshold); for NES, with an adversarial query inside "
             "the ε-ball. Dotted lines: the white-box C&W and PGD attacks on the same images. The thesis "
             "has no figure for §2.3."),
)
results.figure(
    query_curves_figure({"ZOO (L2)": soft.zoo_curve(settings, runs)}, "median_l2", "median L2 distortion",
                        references={"ZOO (L2)": {"C&W median": runs.cw.median_l2}}),
    "zoo_median_l2_vs_queries",
    caption=("ZOO's median L2 distortion against queries (an image with no adversarial query yet counts "
             "as infinite, so the curve starts once half of the images have one). Dotted line: the white-box "
             "C&W median on the same images. The thesis has no figure for §2.3."),
)

# %% [markdown]
# ## Adversarial examples
#
# The first few attacked digits, with the model's prediction (an image an attack did not break is
# shown unchanged). C&W concentrates its change on and around the strokes; ZOO does too, but also
# leaves faint noise on the background, since every coordinate it draws takes an ADAM step of about
# the step size, whether its estimated derivative is signal or noise. NES, an $L_\infty$ attack,
# moves many pixels by up to $\varepsilon$.

# %%
shown = min(4, len(mnist.y))
images, titles, row_labels = soft.example_rows(mnist.model, mnist.x, runs, shown)
results.figure(
    image_grid(images, titles, columns=shown, row_labels=row_labels),
    "soft_label_examples",
    caption="Adversarial examples of ZOO, the white-box C&W attack and NES on the same digits, with the "
            "model's prediction. The thesis shows no examples for §2.3.",
)

# %% [markdown]
# ## What the probabilities buy
#
# The numbers below are glued from this run (on the images of this page).

# %%
results.glue("sl_n", len(mnist.y))
results.glue("sl_zoo_success", runs.zoo.success_rate)
results.glue("sl_zoo_median", runs.zoo.median_l2)
results.glue("sl_cw_median", runs.cw.median_l2)
results.glue("sl_cw_steps", f"{float(runs.cw.queries.double().mean()):,.0f}")
results.glue("sl_zoo_first", f"{soft.median_first_success(runs.zoo):,.0f}")
results.glue("sl_nes_success", runs.nes.success_rate)
results.glue("sl_nes_first", f"{soft.median_first_success(runs.nes):,.0f}")
results.glue("sl_pgd_success", runs.pgd.success_rate)
results.glue("sl_zoo_lr", settings.zoo_lr)
results.glue("sl_zoo_updates", f"{soft.zoo_updates_per_pixel(settings, mnist.x[0].numel()):.0f}")

# %% [markdown]
# **ZOO against C&W.** ZOO breaks {glue:text}`sl_zoo_success:.0%` of the {glue:text}`sl_n` images,
# with a median $L_2$ of {glue:text}`sl_zoo_median:.2f`, against {glue:text}`sl_cw_median:.2f` for
# the white-box C&W attack on the same images. Both minimise the same objective with the same loss
# (the log-probability margin equals the logit margin); what differs is the gradient. C&W gets the
# exact gradient of all 784 pixels from one backward pass, about {glue:text}`sl_cw_steps` of them
# per image here; ZOO pays two queries per pixel per estimate, so with
# {glue:text}`sl_zoo_budget` queries each pixel is updated only about {glue:text}`sl_zoo_updates`
# times. Its first adversarial query comes after a median of
# {glue:text}`sl_zoo_first` queries, and the distortion keeps falling after it (the median-$L_2$
# figure): ZOO's own setting on MNIST is 3,000 iterations, about 770,000 queries per image, which
# the `paper` profile runs. At reduced profiles ZOO's ADAM step is raised from 0.01 to
# {glue:text}`sl_zoo_lr` so that the pixels can move far enough within the budget, at the price of
# a coarser optimum. The white-box page reports C&W on its own images: the thesis's C&W average on
# MNIST is 0.88 (Table 2.2).
#
# **NES against PGD.** Inside the $L_\infty$ ball of radius {glue:text}`sl_nes_eps`, NES makes
# {glue:text}`sl_nes_success:.0%` of the images adversarial, after a median of
# {glue:text}`sl_nes_first` queries, where white-box PGD breaks {glue:text}`sl_pgd_success:.0%`. A
# sign step needs only the signs of the gradient, and $n = 50$ Gaussian pairs get most signs of the
# large coordinates right, which is why NES needs orders of magnitude fewer queries per step than
# ZOO needs per full gradient. Neither number has a thesis counterpart: §2.3 describes ZOO and NES
# as the background of the hard-label attacks and runs no experiment with them. The next pages
# remove the probabilities altogether, leaving only the top-1 label, and compare the distortions
# with the C&W row of Table 2.2 again.

# %% [markdown]
# ## Exercises
#
# Each exercise says what to try; its solution is folded under it. For the *predict, then run*
# ones, write your prediction down before opening the solution. The *implement* one names the test
# of the book's test suite that checks the library's version; yours should pass it too.

# %% [markdown]
# ### Exercise 1 (predict, then run): the variance of Algorithm 1
#
# NES estimates the gradient of the margin loss from $n$ pairs of queries $x \pm \sigma u_i$.
# For an isotropic estimate in $D$ dimensions, the cosine with the true gradient is about
# $1/\sqrt{1 + D/n}$. Predict the cosine for $n$ = 10, 100 and 1000 on one MNIST image
# ($D = 784$), and whether the cosine of the *signs* of the estimate (what the PGD step of NES
# uses) is higher or lower. Then compute them with `advrobust.blackbox.nes.nes_gradient` through a
# `ScoreOracle`, against the gradient back-propagated through `mnist.model`.

# %% tags=["solution"]
import torch
from advrobust.blackbox import ScoreOracle
from advrobust.blackbox.nes import nes_gradient
from advrobust.blackbox.zoo import margin_from_probabilities

x, y = mnist.x[:1], mnist.y[:1]
exact = x.clone().requires_grad_(True)
with torch.enable_grad():
    margin = margin_from_probabilities(mnist.model(exact).softmax(dim=1)[:, None], y, None)
    (true_gradient,) = torch.autograd.grad(margin.sum(), exact)
true_gradient = true_gradient.flatten(1).double()
for n in (10, 100, 1000):
    oracle = ScoreOracle(mnist.model, x, y, budget=2 * n + 1, norm="linf")
    estimate, _ = nes_gradient(oracle, torch.arange(1, device=x.device), x, torch.zeros_like(x), torch.ones_like(x),
                               torch.full((1,), n, device=x.device), n, 1e-3,
                               torch.Generator(device=x.device).manual_seed(0))
    estimate = estimate.flatten(1).double()
    cosine = float(torch.nn.functional.cosine_similarity(estimate, true_gradient))
    sign_cosine = float(torch.nn.functional.cosine_similarity(estimate.sign(), true_gradient))
    print(f"n = {n:4d}: cosine {cosine:.3f} (isotropic: {(1 + x[0].numel() / n) ** -0.5:.3f}), "
          f"signs: {sign_cosine:.3f}")

# %% [markdown] tags=["solution"]
# The cosine grows with $n$ roughly as $1/\sqrt{1 + D/n}$: about 0.1 at $n = 10$, 0.3 at 100,
# 0.75 at 1000. The true gradient of a CNN is not isotropic (it is concentrated on the pixels
# of the digit), so the measured values may differ somewhat. The sign vector has a lower cosine
# with the gradient than the estimate itself: it weighs every pixel alike, including the many
# where the gradient is tiny. It is what an $L_\infty$ step needs, though: the direction that
# raises a linearised loss most within the ball.

# %% [markdown]
# ### Exercise 2 (implement): the margin on log-probabilities
#
# A soft-label oracle returns probabilities, not logits. Write the C&W margin on
# log-probabilities, $\log p_{y_0} - \max_{j \neq y_0} \log p_j$ (targeted at $t$:
# $\max_{j \neq t} \log p_j - \log p_t$), and show that it equals the logit margin of (2.6): the
# softmax's normaliser cancels. The library's version is
# `advrobust.blackbox.zoo.margin_from_probabilities` (probabilities of shape (rows, queries,
# classes)); yours should pass `tests/test_blackbox_score.py::test_margin_equals_the_logit_margin`.

# %% tags=["solution"]
logits = torch.tensor([[3.0, 1.0, -2.0], [0.5, 2.5, 2.0]])
labels, target = torch.tensor([0, 1]), torch.tensor([2, 0])
log_p = logits.softmax(dim=1).double().log()
own = log_p.gather(1, labels[:, None]).squeeze(1)
others = log_p.scatter(1, labels[:, None], float("-inf")).amax(dim=1)
library = margin_from_probabilities(logits.softmax(dim=1)[:, None], labels, None)[:, 0]
assert torch.allclose(library, own - others)
assert torch.allclose(library, torch.tensor([2.0, 0.5]).double(), atol=1e-6)  # the logit margins
targeted_library = margin_from_probabilities(logits.softmax(dim=1)[:, None], labels, target)[:, 0]
assert torch.allclose(targeted_library, torch.tensor([5.0, 2.0]).double(), atol=1e-6)
print("log-probability margins", [round(value, 6) for value in library.tolist()], "equal the logit margins")

# %% [markdown]
# ### Exercise 3 (predict, then run): which loss?
#
# Ilyas et al. ascend the cross-entropy $-\log p_{y_0}$. Predict: on how many of the attacked
# images is $p_{y_0}$, computed in float32, exactly 1.0? What would a finite-difference estimate
# of $-\log p_{y_0}$ be there? Then count them.

# %% tags=["solution"]
with torch.no_grad():
    probabilities = mnist.model(mnist.x).softmax(dim=1)
p_true = probabilities.gather(1, mnist.y[:, None]).squeeze(1)
margins = margin_from_probabilities(probabilities[:, None], mnist.y, None)[:, 0]
print(f"{int((p_true == 1.0).sum())} of {len(p_true)} attacked images have p_y0 == 1.0 in float32; their margins "
      f"on log-probabilities range from {float(margins.min()):.1f} to {float(margins.max()):.1f}")

# %% [markdown] tags=["solution"]
# In float32, $p_{y_0}$ rounds to exactly 1.0 once the other classes' total probability falls below
# about $6 \times 10^{-8}$ (half the spacing of float32 numbers just below 1), that is once the margin
# on log-probabilities exceeds about 16.6 (a little more when several classes compete). The models of
# this page's `smoke` and `quick` profiles stay below that on these images (the margins printed say by
# how much); a longer-trained, more confident network crosses it on its easiest images. Where it does,
# $-\log p_{y_0} = 0$ at the image and at every probe near it: the finite differences are all zero, NES
# estimates a zero gradient and cannot start. The margin uses $\log p_j$ for the *other* classes,
# which are tiny but not zero (float32 holds them down to about $10^{-38}$, and the margin floors them
# there): it changes with every probe and keeps the estimate informative.

# %% [markdown]
# ### Exercise 4: ZOO's step size
#
# ZOO updates one coordinate per pair of queries. With budget $B$, each of the $D$ pixels is
# updated about $B / (2D)$ times, and an ADAM step moves a coordinate by about `lr`. How far can
# one pixel move within 10,000 queries at `lr=0.01` (the official step) and at this page's
# `settings.zoo_lr`? What does that say about the budget ZOO needs on MNIST?

# %% [markdown] tags=["solution"]
# $B / (2D) = 10{,}000 / 1{,}568 \approx 6.4$ updates per pixel on average. At `lr=0.01` a pixel
# moves by at most about $0.06$, far below the change of about 0.3–1 that a stroke of an MNIST
# adversarial example needs: the official step breaks almost nothing within this budget. A step
# of 0.1 (this page) lets a pixel move by about 0.6, enough. ZOO at the official step needs
# budgets of hundreds of thousands of queries on MNIST, which is why the thesis's hard-label
# attacks, which search over directions, compare well against it.
