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
# # 2.4.1–2.4.3 The hard-label objective $g(\theta)$
#
# In the **hard-label** setting the attacker sees only the top-1 decision $f(x)$ of the model, not
# its logits $Z(x)$ or probabilities. This page shows, on classifiers of the plane where everything
# can be computed exactly, why the white-box loss breaks down there (§2.4.1), the reformulation
# that repairs it (§2.4.2, Eqs. (2.13)–(2.15)), how its value is computed with label queries only
# (Algorithm 2), and the single-query sign oracle of Sign-OPT (§2.4.3, Eq. (2.17)).
#
# Every figure below is computed from a real classifier: decision regions are classified on a
# grid, and $g(\theta)$ is found for 720 angles by a dense search along each ray followed by
# bisection (`advrobust.toys.hard_label_2d`). Nothing is drawn by hand. The page runs in seconds at every
# profile, so the profile changes nothing here.

# %% tags=["parameters"]
profile = "quick"  # smoke | quick | paper
device = "auto"  # unused: the 2-D classifiers run on the CPU
seed = 0
results_dir = "results"

# %%
import math

from advrobust.experiments import ch2_hard_label_objective as objective
from advrobust.experiments.setup import setup_chapter
from advrobust.plotting.hard_label_2d import figure_2_1, figure_2_2, figure_2_3, figure_2_4
from advrobust.toys import hard_label_2d as toy2d

chapter = setup_chapter(profile, device, seed, results_dir)
results = chapter.results

# %% [markdown]
# ## Why hard labels are hard (§2.4.1, Figure 2.1)
#
# A 3-layer ReLU network ($2 \to 32 \to 32 \to 2$) is trained on points of the square labelled by
# a three-petalled curve. With the logits, the C&W loss (2.6),
#
# $$ L(Z(x)) = \max\{[Z(x)]_{y_0} - \max_{i \neq y_0} [Z(x)]_i,\; -\kappa\}, $$
#
# is a continuous function of $x$ that gradient descent can follow (panel b; we take
# $\kappa = \infty$ to show the whole surface). In the hard-label setting only the one-hot decision
# $f(x)$ is known; plugged into the same loss it becomes a step function (panel c), flat almost
# everywhere and with no gradient to follow. The reformulation below replaces it by $g(\theta)$
# (panel d), a continuous function of the search direction.

# %%
toys = objective.classifiers(chapter.seed)
network, circle, tree = (toys.cases[name] for name in (objective.NETWORK, objective.CIRCLE, objective.TREE))
results.figure(
    figure_2_1(toys.regions, *objective.loss_surfaces(toys), network.g), "figure_2_1",
    caption=f"Figure 2.1: (a) decision regions of a 3-layer ReLU network (training accuracy {toys.train_accuracy:.1%}) "
    f"and the point x0 = {network.x0} (star, class {network.y0}); (b) the C&W loss on the logits L(Z(x)), continuous; "
    "(c) the same loss on the hard label L(f(x)), a step function; (d) g(θ) for x0 over θ ∈ [0, 2π), continuous.",
)

# %% [markdown]
# ## The boundary-based reformulation (§2.4.2, Figures 2.2 and 2.3)
#
# Instead of searching for the adversarial example itself, OPT-attack searches for a *direction*.
# For the original example $x_0$ with label $y_0$ and the hard-label model $f$,
#
# $$ \text{untargeted:}\quad g(\theta) = \min_{\lambda > 0} \lambda \;\; \text{s.t.}\;\;
#    f\Big(x_0 + \lambda \frac{\theta}{\|\theta\|}\Big) \neq y_0, \tag{2.13}$$
#
# $$ \text{targeted (target } t\text{):}\quad g(\theta) = \min_{\lambda > 0} \lambda \;\; \text{s.t.}\;\;
#    f\Big(x_0 + \lambda \frac{\theta}{\|\theta\|}\Big) = t. \tag{2.14}$$
#
# $g(\theta)$ is the distance from $x_0$ to the nearest adversarial point along $\theta$
# (Figure 2.2), and the attack solves
#
# $$ \min_\theta g(\theta), \tag{2.15}$$
#
# returning $x^* = x_0 + g(\theta^*)\,\theta^*/\|\theta^*\|$. In image problems the input box bounds
# $\lambda$ as well; here the plane is unbounded and rays are searched up to radius 2.

# %%
shown_degrees = (30, 145, 260)  # on the grid of 720 angles (every 0.5°)
results.figure(
    figure_2_2(toys.regions, network.g, tuple(math.radians(d) for d in shown_degrees)), "figure_2_2",
    caption="Figure 2.2: g(θ) is the distance from x0 to the decision boundary along the direction θ, "
    f"shown for θ = {', '.join(f'{d}°' for d in shown_degrees)} on the network of Figure 2.1.",
)

# %% [markdown]
# The point of the reformulation is that $g$ is usually **continuous** even when $f$ is not. The
# thesis shows it on two more classifiers: the continuous boundary
# $f(x) = 1$ if $\|x\|_2^2 \geq 0.4$, else $0$ (Figure 2.3a), and a gradient-boosted decision tree
# (GBDT), whose decision is piecewise constant on axis-aligned boxes (Figure 2.3b). For the circle,
# $g$ has a closed form: solving $\|x_0 + \lambda e_\theta\|^2 = 0.4$ for $\lambda > 0$ gives
# $g(\theta) = -x_0^\top e_\theta + \sqrt{(x_0^\top e_\theta)^2 + 0.4 - \|x_0\|^2}$, which checks our
# ray search.

# %%
results.figure(
    figure_2_3(toy2d.evaluate_on_grid(circle.classify), toy2d.evaluate_on_grid(tree.classify), circle.g, tree.g),
    "figure_2_3",
    caption="Figure 2.3: decision regions of (a) the continuous classifier ‖x‖² ≥ 0.4 and (b) a LightGBM GBDT "
    f"(30 trees of at most 8 leaves) trained on points labelled by (a); (c), (d) their g(θ) for x0 = {circle.x0}. "
    f"The ray search matches the closed form of (c) to {toys.circle_error:.1e}.",
)
results.glue("circle_error", toys.circle_error)

# %% [markdown]
# How continuous is $g$? On a grid of angles, a continuous $g$ has jumps between neighbouring
# angles that shrink as the grid is refined; a true discontinuity keeps its size. The table refines
# the grid fourfold twice for the three classifiers.

# %%
refined = objective.continuity(toys)
results.table(
    refined.jumps.round(4), "g_continuity",
    caption=f"Largest change of g between neighbouring angles, for {', '.join(map(str, refined.jumps.index))} angles "
    "in [0, 2π). Computed here; the thesis shows the curves only (Figures 2.1d, 2.3c, 2.3d).",
)
for key, name in (("circle", objective.CIRCLE), ("network", objective.NETWORK), ("tree", objective.TREE)):
    results.glue(f"shrink_{key}", float(refined.shrink[name]))
print("largest jump shrinks by", refined.shrink.round(1).to_dict())
jump = refined.tree_jump  # the GBDT's largest jump, on 1001 angles 1e-5 rad apart (the grid step is 2.2e-3)
results.glue("tree_jump", jump.size)
results.glue("tree_jump_angle", math.degrees(jump.angle))
results.glue("tree_jump_share", jump.share)
print(f"GBDT: largest jump near {math.degrees(jump.angle):.2f}°: {jump.size:.4f} between angles 1e-5 rad apart")

# %% [markdown]
# With 16 times more angles, the largest jump shrinks {glue:text}`shrink_circle:.1f`-fold for the
# circle and {glue:text}`shrink_network:.1f`-fold for the network: $g$ is continuous there, as the
# thesis says. For the GBDT it shrinks only {glue:text}`shrink_tree:.1f`-fold. Zooming on its
# largest jump (near {glue:text}`tree_jump_angle:.1f`°) with angles $10^{-5}$ rad apart,
# $g$ still jumps by {glue:text}`tree_jump:.4f` ({glue:text}`tree_jump_share:.1%` of $g$ there): a
# true discontinuity. Where a ray grazes the corner of a box, the first boundary crossing moves from
# one step of the staircase to the next. So for a GBDT, $g$ is continuous except at a few angles,
# with jumps no larger than the steps of the boundary. That is a small blemish next to the step
# function $L(f(x))$, and the thesis's claim holds in the sense that matters for optimisation.
#
# ## Computing $g$ with queries (Algorithm 2)
#
# An attacker cannot search densely: every evaluation of $f$ is a query. Algorithm 2 computes $g$
# near a previous value $v$: if $x_0 + v\theta$ is still of class $y_0$, grow $v$ by factors of
# $(1 + \alpha)$ until it is not, else shrink it by $(1 - \alpha)$ until it is, with $\alpha = 0.01$;
# then bisect the bracket to tolerance $\varepsilon$. Below, the library's implementation
# (`advrobust.blackbox.search.local_search`, the one every attack uses) runs through a hard-label
# oracle that counts the queries, on the network of Figure 2.1, started from $v = 0.5$.

# %%
tolerance = 1e-4
results.table(
    objective.algorithm_2_table(toys, shown_degrees, start=0.5, tolerance=tolerance).round(5), "algorithm_2",
    caption=f"g(θ) by Algorithm 2 from v = 0.5 (α = 0.01, tolerance ε = {tolerance:g}) against the dense ray "
    "search, with the label queries Algorithm 2 spent. Algorithm 2 returns the upper end of its final bracket, a "
    "verified adversarial distance, so it may exceed the true g by up to ε.",
)

# %% [markdown]
# Most queries go into the bracketing steps of 1%: the farther $v$ is from $g(\theta)$, the more
# steps. Inside an attack, $v$ is the value at the previous, nearby direction, so few steps are
# needed. OPT-attack then minimises $g$ by the randomised gradient-free estimate
# $\hat g = \frac{g(\theta + \beta u) - g(\theta)}{\beta} u$ (2.16), averaged over $q = 20$ random
# $u$ (Algorithm 3); each estimate costs $q$ runs of Algorithm 2. For $L_\infty$ the thesis
# minimises the smooth surrogate $\sum_i \max\{\lambda |\theta_i| / \|\theta\|_\infty - \varepsilon, 0\}^2$
# instead of $\lambda$ itself. The attacks are run on the next pages.
#
# ## The single-query oracle (§2.4.3, Figure 2.4)
#
# Sign-OPT needs only the *sign* of the directional derivative, and that sign costs one query. For
# a new direction $\theta + \varepsilon u$, query the point at the *old* distance $g(\theta)$:
#
# \begin{equation*}
# \operatorname{sign}\big(g(\theta + \varepsilon u) - g(\theta)\big) =
#    \begin{cases} +1, & f\big(x_0 + g(\theta) \frac{\theta + \varepsilon u}{\|\theta + \varepsilon u\|}\big) = y_0,\\
#                  -1, & \text{otherwise.} \end{cases} \tag{2.17}
# \end{equation*}
#
# If that point is already adversarial, the boundary along the new direction is closer: $u$ is a
# descent direction.

# %%
theta_shown, epsilon = math.radians(60), math.radians(15)  # on the grid of 720 angles
perturbed = {"θ − 15°": theta_shown - epsilon, "θ + 15°": theta_shown + epsilon}
signs = objective.single_query_signs(toys, theta_shown, perturbed)
results.figure(
    figure_2_4(toys.regions, network.g, theta_shown, perturbed, {k: s == 1 for k, s in signs.items()}), "figure_2_4",
    caption=f"Figure 2.4: the single-query oracle at θ = 60° on the network of Figure 2.1. The dashed "
    f"circle has radius g(θ) = {network.g.at(theta_shown):.3f}; each perturbed direction (15° away) is "
    "queried once, at that radius. A point outside the class-y0 region means the new direction has a smaller g.",
)
print({k: f"sign {signs[k]:+d}, true g change {network.g.at(a) - network.g.at(theta_shown):+.3f}"
       for k, a in perturbed.items()})

# %% [markdown]
# Eq. (2.17) is exact when the class-$y_0$ region is *star-shaped* around $x_0$ (every ray leaves it
# once). We check it on all 720 neighbouring pairs of angles, and at wider offsets, for the three
# classifiers: the share of pairs where the one query gives the true sign of the change of $g$.

# %%
agreement = objective.agreement_table(toys, shifts=(1, 5, 20))
results.table(
    agreement.round(4), "single_query_agreement",
    caption="Share of angle pairs where the single query (2.17) gives the true sign(g(θ + εu) − g(θ)) "
    "(pairs where g does not change are left out). Computed here; the thesis states (2.17) without a check.",
)
smooth = agreement[[objective.CIRCLE, objective.NETWORK]]
results.glue("smooth_agreement", "always right" if bool((smooth == 1).all().all())
             else f"right in at least {smooth.min().min():.1%} of pairs")
results.glue("tree_agreement", f"{agreement[objective.TREE].min():.1%}")

# %% [markdown]
# The sign is {glue:text}`smooth_agreement` for the circle and the network, whose regions are
# star-shaped around $x_0$. For the GBDT it is right in at least {glue:text}`tree_agreement` of the
# pairs; it fails near the angles where $g$ jumps (a ray that re-enters the class-$y_0$ region behind
# a step): an *imperfect but informative* estimate, as §2.4.3 calls it.

# %% [markdown]
# ## Exercises
#
# Each exercise says what to try; its solution is folded under it. For the *predict, then run*
# ones, write your prediction down before opening the solution. The *implement* one names the test
# of the book's test suite that checks the library's version; yours should pass it too.

# %% [markdown]
# ### Exercise 1 (predict, then run): Algorithm 2's cost
#
# Algorithm 2 first brackets $g(\theta)$ by growing (or shrinking) its guess $v$ by factors
# $1 + \alpha$, then bisects the bracket down to the tolerance $\varepsilon$. The table above
# started from $v = 0.5$. Predict how many queries each angle costs from $v = 0.05$ (more than ten
# times too small) and from $v = 0.6$ (close to $g$ at 30°), and whether the answer changes. Then run
# `objective.algorithm_2_table(toys, shown_degrees, start=...)` for both.

# %% tags=["solution"]
for start in (0.05, 0.6):
    cost = objective.algorithm_2_table(toys, shown_degrees, start=start, tolerance=tolerance)
    print(f"start v = {start}:\n{cost[['θ', 'g, Algorithm 2', 'queries']].round(5).to_string(index=False)}\n")

# %% [markdown] tags=["solution"]
# The bracketing needs about $|\log(g/v)| / \log(1 + \alpha)$ steps: with $\alpha = 0.01$ and $g/v$
# between 12 and 15 that is $\ln 12 / \ln 1.01 \approx 250$ queries, against a few dozen when $v$ is
# within some 25% of $g$. The bisection then needs about $\log_2(\alpha v / \varepsilon) \approx 6$
# more. The distances found agree to the tolerance whatever the start: a good
# initial guess saves queries, not accuracy. This is why Sign-OPT starts each line search from
# the previous $g$.

# %% [markdown]
# ### Exercise 2 (implement): $g(\theta)$ of the circle in closed form
#
# For the continuous classifier of Figure 2.3a ($\|x\|^2 \geq r^2$, with $r^2 = 0.4$) and $x_0$
# inside the circle, solve $\|x_0 + \lambda e_\theta\|^2 = r^2$ for $\lambda > 0$, with $e_\theta =
# (\cos\theta, \sin\theta)$. The library's version is `toy2d.circle_distance(x0, theta)`; yours
# should pass `tests/test_toy2d.py::test_closed_form_solves_the_circle_equation` (the ray's end
# lies on the circle).

# %% tags=["solution"]
import torch

x0 = torch.tensor(circle.x0, dtype=torch.float64)
theta = torch.linspace(0, 2 * math.pi, 17, dtype=torch.float64)[:-1]
along = toy2d.unit_vectors(theta) @ x0  # x0 · e_θ
by_hand = -along + (along**2 + toy2d.CIRCLE_RADIUS_SQ - x0.pow(2).sum()).sqrt()
assert torch.allclose(toy2d.circle_distance(x0, theta), by_hand)
ends = x0 + by_hand[:, None] * toy2d.unit_vectors(theta)
assert torch.allclose(ends.pow(2).sum(dim=1), torch.full((16,), toy2d.CIRCLE_RADIUS_SQ, dtype=torch.float64))
print("g(θ) of the circle by hand:", by_hand.round(decimals=3).tolist())

# %% [markdown]
# ### Exercise 3: the closed form for a line
#
# For the linear classifier $w^\top x + b \geq 0$ and $x_0$ on the other side, show that $g(\theta)
# = -(w^\top x_0 + b) / (w^\top e_\theta)$ where $w^\top e_\theta > 0$ (and $\infty$ elsewhere),
# and that its minimum over $\theta$ is the distance $|w^\top x_0 + b| / \|w\|$. Is this $g$
# continuous where it is finite?

# %% [markdown] tags=["solution"]
# The ray $x_0 + \lambda e_\theta$ meets the line where $w^\top x_0 + b + \lambda\, w^\top e_\theta
# = 0$, that is at $\lambda = -(w^\top x_0 + b) / (w^\top e_\theta)$, which is positive (a real
# crossing) exactly when $w^\top e_\theta > 0$, since $w^\top x_0 + b < 0$. The denominator is
# largest, $\|w\|$, for $e_\theta = w / \|w\|$, which gives the minimum $|w^\top x_0 + b| / \|w\|$:
# the orthogonal distance. Where it is finite, $g$ is a ratio of continuous functions with a
# nonzero denominator, hence continuous; it grows to $\infty$ as the ray turns parallel to the
# line. `tests/test_toy2d.py::test_linear_classifier_g_is_the_distance_to_the_line_along_each_ray`
# checks the library's ray search against this formula.

# %% [markdown]
# ### Exercise 4: not star-shaped
#
# The single-query oracle (2.17) reads the sign of $g(\theta + \epsilon u) - g(\theta)$ from one
# query at the old distance $g(\theta)$. On which classifier of this page does it disagree with the
# true sign most often, and why? Predict what happens to the agreement when $x_0$ sits near a petal
# of the network's region, so that some rays leave the region and re-enter it.

# %% [markdown] tags=["solution"]
# On the GBDT: its region is a union of boxes, not star-shaped around $x_0$, and $g$ jumps where a
# ray first grazes a box corner. A query at the old radius along the new direction may then land in
# class $y_0$ although $g$ fell (the ray left the region earlier, and came back). Near a petal, rays
# that leave and re-enter the network's region appear too: the agreement of (2.17) drops first,
# while the continuity table still looks fine, because $g$ measures the *first* crossing and stays
# continuous until a ray becomes tangent to the boundary.
