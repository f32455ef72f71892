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
# # 6 BatchNorm as adversarial masking (§6.2: Tables 6.1–6.2, Figures 6.1–6.3)
#
# Adversarial training raises robustness and lowers clean accuracy. A common reading is that
# the robust model learns different *features* {cite}`ilyas2019features`. Chapter 6 asks a
# narrower question: how much of the trade-off sits in the BatchNorm layers {cite}`ioffe2015batchnorm`
# alone? Every BN layer normalises each channel and rescales it (Eq. (6.1)):
#
# $$O_{b,c,x,y} \leftarrow \gamma_c \frac{I_{b,c,x,y} - \mu_c}{\sqrt{\sigma_c^2 + \epsilon}} + \beta_c .$$
#
# The ReLU after it zeroes every negative value. Together, the rescaling $(\gamma, \beta)$ and the ReLU
# can keep, magnify or block each channel of the convolution before them. The thesis calls this
# an **adversarial masking**. Its evidence:
#
# * **Table 6.1.** Fine-tuning *only* the BN parameters moves a model along the trade-off.
#   Adversarial BN fine-tuning of a standard model gives it robustness. Standard BN fine-tuning
#   of an adversarially trained (AT) model gives back clean accuracy.
# * **Figure 6.1.** In the first BN layer, the running statistics and $\beta$ barely move under
#   that fine-tuning, while $\gamma$ changes completely.
# * **Figure 6.2.** After the first BN+ReLU, 16 of 64 feature maps "changed dramatically".
# * **Table 6.2.** Interpolating $\hat\gamma = p\gamma + (1-p)\gamma'$ and $\hat\beta$ alike
#   between the two models traces the trade-off as $p$ goes from 1 to 0.
#
# **Choices the thesis leaves open.**
#
# * *Fine-tuning schedule.* The thesis fine-tunes "with the same optimizer, learning rate,
#   learning rate scheduler and number of epochs". At `paper` that is the whole 100-epoch recipe,
#   with only the norm parameters trainable (`TrainConfig(trainable="norm")`). Running statistics
#   keep updating, as they do in train mode. Below `paper`, the fine-tuning runs the shared
#   subset for a short schedule (the profile's note says how long).
# * *Evaluation attack.* The thesis does not name it. We use §6.4's PGD with step $\varepsilon/5$
#   and a random start at $\varepsilon = 8/255$, with the profile's number of steps.
# * *Table 6.2's running statistics.* The thesis interpolates $\gamma$ and $\beta$ and does not
#   say which running mean and variance the mixed model uses. Its Table 6.2 ends ($p = 1$ and
#   $p = 0$) equal Table 6.1's two models to the last digit. So we interpolate the running
#   statistics with the same $p$, and both ends are exactly the two models. The literal reading,
#   the first model's statistics at every $p$, is `interpolate_norms(..., statistics="first")`.
#   Its $p = 0$ end is not the fine-tuned model, because BN-only fine-tuning in train mode also
#   moves the running statistics. We use the thesis's grid, $p = 1, 0.8, \dots, 0$.
# * *"γ changes most"* (Figure 6.1) needs a common scale for four quantities with different units.
#   We judge it by the change each quantity alone causes in the layer's output, on inputs with
#   the first model's statistics (`ch6.output_effects`): $|\Delta\gamma|$, $|\Delta\beta|$,
#   $|\gamma\,\Delta\mu|/\sigma$ and $|\gamma|\,|\sigma/\sigma' - 1|$, RMS over the channels. The
#   relative change $\lVert v' - v\rVert_2 / \lVert v\rVert_2$ is printed too. It inflates
#   $\beta$, which starts near 0, so a small move of $\beta$ reads as a large one.
# * *"Changed dramatically"* (Figure 6.2) is not defined. We count a channel when the L2 norm of
#   its change exceeds half the larger of its two maps' norms (`profiles.masking.DRAMATIC`).
#
# At `quick`, the standard model and the AT model are **the same runs as Chapters 4 and 5**,
# read from the same checkpoints. The small VGG has BN after every convolution, so it can stand in
# for ResNet-18 here.

# %% tags=["parameters"]
profile = "quick"  # smoke | quick | paper
device = "auto"  # auto | cpu | cuda
seed = 0
results_dir = "results"

# %%
from advrobust.experiments import ch6_masking as ch6
from advrobust.experiments.ch5_sprout import WhiteBox
from advrobust.experiments.setup import setup_chapter
from advrobust.plotting import masking as plots
from advrobust.profiles.masking import DRAMATIC, masking

chapter = setup_chapter(profile, device, seed, results_dir)
results = chapter.results
settings = masking(profile)
print(f"{chapter.describe()}: {settings.describe()}")

# %% [markdown]
# ## Table 6.1: BN-only fine-tuning moves the trade-off
#
# There are four models. The standard model is fine-tuned with the AT defense's objective, and
# the AT model with plain cross-entropy. Each fine-tuning starts from the other model's final
# weights (`StartFrom`), trains only the norm parameters, and is cached like any other run.
# The thesis (ResNet-18): standard 91.97 / 0.00 becomes 53.96 / 26.51 (clean / robust);
# AT 78.47 / 48.67 becomes 86.96 / 5.83.

# %%
models = ch6.masking_models(settings, chapter.device)
test = ch6.test_images(settings, settings.n_eval, chapter.device, chapter.seed)
box = WhiteBox(models, test)
ours_6_1 = ch6.table_6_1(box, settings, profile)
results.table(ours_6_1, "table_6_1", caption=(
    f"Table 6.1: clean and PGD-{settings.pgd_steps} accuracy (ε = 8/255, step ε/5, random start) on {len(test)} "
    f"test images, thesis (ResNet-18, 10,000 images) beside ours ({settings.network})."))

# %% [markdown]
# ## Figure 6.1: what moved in the first BN layer
#
# The four quantities of the first BN layer per channel, for the AT model and for its standard
# BN fine-tuning. The thesis finds that $\mu$, $\sigma^2$ and $\beta$ overlap and $\gamma$
# differs. The table under the figure gives two measures of each quantity's change: the RMS
# change it causes in the layer's output (the measure the claim is judged by), and the relative
# change $\lVert v' - v\rVert_2 / \lVert v\rVert_2$ over the channels.

# %%
statistics = ch6.first_norm_statistics({ch6.ADV: models[ch6.ADV], ch6.ADV_FT: models[ch6.ADV_FT]})
effects = ch6.output_effects(ch6.first_norm(models[ch6.ADV]), ch6.first_norm(models[ch6.ADV_FT]))
relative = ch6.relative_changes(statistics, ch6.ADV, ch6.ADV_FT)
results.figure(plots.norm_statistics_figure(statistics), "figure_6_1", caption=(
    "Figure 6.1: running mean μ, running variance σ², γ and β of the first BN layer per channel, AT model and "
    "AT model + standard BN-only fine-tuning."))
results.table(effects.to_frame().join(relative).round(ch6.DECIMALS), "figure_6_1_changes", caption=(
    "Figure 6.1's change per quantity: the RMS change it alone causes in the first BN's output (the claim's "
    "measure), and its relative change ‖after − before‖₂ / ‖before‖₂ over the channels."))

# %% [markdown]
# ## Figure 6.2: the masking, seen on one test image
#
# These are the feature maps after the first BN and its ReLU for one test image, from the AT model and
# from its standard BN-only fine-tuning. Each channel shares one grey scale across both panels,
# so a blocked map shows black on one side only. A red frame marks a channel that changed
# dramatically: the L2 norm of its change is more than `DRAMATIC` (0.5) of the larger of its two
# maps' norms. The table lists those channels and how each changed:
#
# * *blocked*: the map falls below 10% of its norm;
# * *magnified*: the map grows above 2×;
# * *reshaped*: otherwise.
#
# The thesis counts 16 of 64 channels.

# %%
image = test.x[:1]
maps = {name: ch6.first_feature_maps(models[name], image)[0] for name in (ch6.ADV, ch6.ADV_FT)}
changed = ch6.channel_changes(maps[ch6.ADV], maps[ch6.ADV_FT], DRAMATIC)
results.figure(plots.feature_maps_figure(maps, changed["dramatic"].to_numpy()), "figure_6_2", caption=(
    f"Figure 6.2: feature maps after the first BN+ReLU on one test image. {int(changed['dramatic'].sum())} of "
    f"{len(changed)} channels changed dramatically (relative L2 change > {DRAMATIC}); thesis: 16 of 64."))
results.table(changed[changed["dramatic"]].round(ch6.DECIMALS).set_index("channel"), "figure_6_2_channels",
              caption="Figure 6.2's dramatically changed channels: norms before/after and the kind of change.")

# %% [markdown]
# ## Table 6.2: interpolating two maskings
#
# $\hat\gamma = p\gamma + (1-p)\gamma'$ and $\hat\beta = p\beta + (1-p)\beta'$ in every BN layer, for
# $p = 1, 0.8, \dots, 0$. There are two blocks. The first goes from the AT model ($p = 1$) to its standard BN
# fine-tuning ($p = 0$). The second goes from the standard model to its adversarial BN fine-tuning.
# The thesis finds both accuracies monotone in $p$ in both blocks.

# %%
interpolated = ch6.interpolation(models, test, settings)
results.table(ch6.table_6_2(interpolated.table, profile), "table_6_2", caption=(
    f"Table 6.2: clean and PGD-{settings.pgd_steps} accuracy (ε = 8/255) of the interpolated maskings, thesis "
    f"(ResNet-18) beside ours; {len(test)} test images; running statistics interpolated with the same p."))

# %% [markdown]
# ## Figure 6.3: adversarial masking and RobMask
#
# The thesis's illustration, redrawn by our own code. Panel (a) shows the rescaling plus ReLU as a mask.
# Panel (b) shows RobMask (§6.3, Eq. (6.2)), which the next page trains and evaluates. RobMask draws
# a strength $p_i$ and attacks at $\varepsilon_i = p_i\varepsilon_{\max}$. It normalises the perturbed batch
# with $\gamma_i = W u_i$ and $\beta_i = W' u_i$, where $u_i = (1-p_i)u_0 + p_i u_{\varepsilon_{\max}}$.

# %%
results.figure(plots.robmask_diagram(), "figure_6_3", caption=(
    "Figure 6.3, redrawn: (a) BN rescaling + ReLU as a mask on the convolution's channels; (b) RobMask's "
    "strength-conditioned rescaling γ_i = W u_i, β_i = W′ u_i."))

# %% [markdown]
# ## The claims, measured
#
# Each line gives a claim of §6.2 and how it came out on this profile's models:
#
# * BN-only fine-tuning moves the trade-off in the direction of Table 6.1;
# * both accuracies are monotone in $p$ in each block of Table 6.2. "Monotone" tolerates a
#   move of one test image against the trend;
# * $\gamma$ changes most of the first BN's four quantities (Figure 6.1), judged by the change in
#   the output and also reported by the relative change.

# %%
results.claims(ch6.masking_claims(box, interpolated, settings))

# %% [markdown]
# Short fine-tuning below `paper` moves the BN parameters less far than 100 epochs would. So at `quick`
# the size of each move is smaller than the thesis's, and the claims table above judges only its
# direction. `paper` runs the thesis's ResNet-18 recipe.

# %% [markdown]
# ## Exercises
#
# Each exercise says what to try; its solution is folded under it. For the *predict, then run*
# ones, write your prediction down before opening the solution. The *implement* one names the test
# of the book's test suite that checks the library's version; yours should pass it too.

# %% [markdown]
# ### Exercise 1 (predict, then run): whose running statistics?
#
# Table 6.2 interpolates every BN's $\gamma$, $\beta$ *and* running statistics between the AT model
# ($p = 1$) and its BN-only fine-tuned copy ($p = 0$). Predict the clean and PGD accuracy at
# $p = 0.5$ when the running statistics stay the AT model's (`interpolate_norms(...,
# statistics="first")` from `advrobust.norms`) instead of being interpolated, on the first few test
# images. Does the rescaling alone carry the change, or the statistics?

# %% tags=["solution"]
import dataclasses

from advrobust.norms import interpolate_norms

few = min(32, len(test.y))
mixed = {statistics: interpolate_norms(models[ch6.ADV], models[ch6.ADV_FT], 0.5, statistics=statistics).eval()
         for statistics in ("interpolate", "first")}
small_box = WhiteBox(mixed, dataclasses.replace(test, x=test.x[:few], y=test.y[:few]))
for statistics in mixed:
    pair = ch6.accuracy_pair(small_box, statistics, settings)
    print(f"p = 0.5, running statistics '{statistics}': clean {pair['clean']:.1%}, PGD {pair['robust']:.1%} on {few} images")

# %% [markdown] tags=["solution"]
# Fine-tuning the BN layers on clean data moves the running mean and variance as well as $\gamma$ and
# $\beta$ (Figure 6.1): the statistics of clean images' features differ from those of adversarial
# ones. Keeping the AT model's statistics while moving halfway in $\gamma, \beta$ gives a network whose
# normalisation matches neither training. At `quick`, on 32 images, it loses a little of both: 25%
# clean and 9% under PGD, against 28% and 12.5% with the statistics interpolated too. The rescaling
# carries most of the change, the statistics the rest; the page's Figure 6.1 table ("RMS change it
# alone causes") measures the same split on the first BN layer.

# %% [markdown]
# ### Exercise 2 (implement): interpolating two BN layers
#
# Write the interpolation of Table 6.2 for one BN layer: from two layers with affine $(\gamma,
# \beta)$ and $(\gamma', \beta')$ and running statistics $(\mu, \sigma^2)$ and $(\mu', \sigma'^2)$,
# the layer with $p\gamma + (1 - p)\gamma'$, $p\beta + (1-p)\beta'$ and the statistics mixed the same
# way. The library's version, applied to every BN of a model, is
# `advrobust.norms.interpolate_norms(first, second, p)`; yours should pass
# `tests/test_norms.py::test_interpolation_mixes_the_affine_and_the_chosen_statistics`.

# %% tags=["solution"]
import torch

quarter = interpolate_norms(models[ch6.ADV], models[ch6.ADV_FT], 0.25)
at_bn, tuned_bn, mixed_bn = (ch6.first_norm(m) for m in (models[ch6.ADV], models[ch6.ADV_FT], quarter))
for name in ("weight", "bias", "running_mean", "running_var"):
    by_hand = 0.25 * getattr(at_bn, name) + 0.75 * getattr(tuned_bn, name)
    assert torch.allclose(getattr(mixed_bn, name), by_hand), name
print(f"the first BN's gamma, beta, mean and variance are 0.25 x AT + 0.75 x fine-tuned, over {len(at_bn.weight)} channels")

# %% [markdown]
# ### Exercise 3: why can a BN layer carry robustness?
#
# BN-only fine-tuning changes about 1% of the network's parameters, yet Table 6.1 shows it moves
# the model from robust to not robust (and back). Explain with Figure 6.3's reading of BN + ReLU as a
# mask, and say why this makes a strength-conditioned BN (RobMask) plausible.

# %% [markdown] tags=["solution"]
# After a convolution, BN rescales each channel by $\gamma/\sigma$ and shifts it by $\beta - \gamma\mu/\sigma$;
# the ReLU then zeroes the negative part. Per channel, this decides how much of a feature passes and
# from which level on: a soft mask on the convolution's features. The convolutions of the AT and of
# the fine-tuned model are the same; only which features pass, and how strongly, differs. If
# robustness is largely a matter of *which* features the network relies on (robust, low-frequency
# ones against brittle, high-frequency ones), a change of masks suffices to switch it, which is the
# thesis's reading of Figures 6.1 and 6.2. RobMask makes the mask a function of the perturbation
# strength, so one set of convolutions serves clean and perturbed inputs.
