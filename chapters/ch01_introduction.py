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
# # 1. Introduction: what an adversarial example is
#
# Neural networks reach state-of-the-art accuracy on almost every vision and language task, and
# they are now deployed where errors are costly: self-driving cars, malware detection, drones.
# Yet a correctly classified input can be changed by a perturbation too small for a person to
# notice, and the network then predicts a wrong class with high confidence
# {cite}`szegedy2014intriguing,goodfellow2015fgsm,carlini2017cw`. The thesis
# {cite}`cheng2021thesis` studies both sides of this problem: how to *find* such examples
# (Part I, attacks) and how to *train* networks that resist them (Part II, defenses).
#
# This page reproduces the thesis's opening examples (Figure 1.1, a bagel turned into a piano, and
# Table 1.1, a news text whose topic flips with one character) with models we train ourselves, and
# states the two definitions every later chapter builds on.
#
# ## Definitions
#
# Consider a $K$-way classifier $f: \mathbb{R}^d \to \{1, \dots, K\}$ and an example $x_0$ that it
# classifies correctly. An **untargeted** attack looks for
#
# $$ x \text{ close to } x_0 \quad\text{and}\quad \arg\max_i f(x)_i \neq \arg\max_i f(x_0)_i, \tag{2.1}$$
#
# while a **targeted** attack asks for a specified class $t \neq \arg\max_i f(x_0)_i$:
#
# $$ x \text{ close to } x_0 \quad\text{and}\quad \arg\max_i f(x)_i = t. \tag{2.2}$$
#
# "Close" is measured by a distance, usually an $L_p$ norm of $x - x_0$: $L_2$ (the Euclidean
# length of the whole change) or $L_\infty$ (the largest change of any single pixel). Chapter 2
# discusses these metrics and the attacks that minimise them.
#
# The thesis organises attacks by what the attacker may see: the **white-box** setting (weights
# and gradients), the **soft-label black-box** setting (output probabilities only) and the
# **hard-label black-box** setting (the top-1 label only), the thesis's main subject. Defenses are
# split into **attack-dependent** ones (adversarial training, Chapter 4) and **attack-independent**
# ones (Chapters 5 and 6).
#
# ```{admonition} How to read this page
# :class: tip
# Every figure and table below was produced by executing this notebook; the badge at the top says
# with which *profile* (scale) and on which device. Re-run it with `make book` (reduced scale, CPU)
# or `make reproduce PROFILE=paper DEVICE=cuda` (the thesis's scale).
# ```

# %% tags=["parameters"]
profile = "quick"  # smoke | quick | paper
device = "auto"
seed = 0
results_dir = "results"

# %%
from advrobust.experiments import ch1_introduction as ch1
from advrobust.experiments import ch1_text
from advrobust.experiments.ch2_white_box import load_victim
from advrobust.experiments.setup import setup_chapter
from advrobust.plotting.images import adversarial_examples_figure
from advrobust.profiles.text_classification import text_classification
from advrobust.profiles.whitebox import whitebox

chapter = setup_chapter(profile, device, seed, results_dir)
results = chapter.results
settings = whitebox(profile)
text_settings = text_classification(profile)

# %% [markdown]
# ## The victim: the C&W MNIST network
#
# The thesis's image experiments use the convolutional networks of Carlini and Wagner
# {cite}`carlini2017cw` (four 3×3 convolutions, two max-pools, two fully connected layers of 200
# units). We train it on MNIST {cite}`lecun1998mnist`; a second run reuses the cached checkpoint,
# keyed by the full training configuration (`settings.train`).

# %%
victim = load_victim(settings, chapter.device, chapter.seed)
results.glue("ch1_clean_accuracy", victim.accuracy)
print(f"clean test accuracy on {len(victim.test)} MNIST test images: {victim.accuracy:.2%} (thesis: 99.5%)")

# %% [markdown]
# ## Figure 1.1, with our model
#
# We take one correctly classified test image of each of a few digits, and ask the C&W $L_2$
# attack (Chapter 2; its settings are `settings.cw`) for the smallest change that flips the
# prediction (2.1), and for the smallest change that makes the network answer a chosen target
# class (2.2), here the next digit. The middle row shows the perturbation on its own colour scale;
# its norms are in the title. Above and below it, the network's prediction and its softmax
# confidence.

# %%
figure = ch1.figure_1_1(victim, settings)
clean_titles = ch1.prediction_titles(victim.model, figure.examples.x)
for name, result, what in (
    ("fig_1_1_untargeted", figure.untargeted, "untargeted (2.1)"),
    ("fig_1_1_targeted", figure.targeted, "targeted at (label + 1) mod 10 (2.2)"),
):
    results.figure(
        adversarial_examples_figure(
            figure.examples.x, result.x_adv, clean_titles, ch1.prediction_titles(victim.model, result.x_adv)
        ),
        name,
        caption=f"Figure 1.1 analogue, {what}: original, perturbation, adversarial example, with the "
        "predicted class and its softmax confidence. Thesis: a bagel classified as a piano by an "
        "ImageNet ResNet-50.",
    )

# %% [markdown]
# Every adversarial image above is still, to a person, the digit it was; the network now reports
# another class. The $L_2$ norms of these perturbations are around one, while the image itself has
# an $L_2$ norm near nine: the change is a small fraction of the signal, spread over many pixels.
#
# The adversarial confidences sit near 50%: C&W looks for the *smallest* change that flips the
# decision, so the wrong class wins by a hair. Asking for a margin $\kappa > 0$ in its loss
# (2.6) buys a confident mistake, like the thesis's "piano", at the price of a larger change
# (exercise 2).

# %%
results.glue("ch1_untargeted_mean_l2", figure.untargeted.mean_l2)
results.glue("ch1_targeted_mean_l2", figure.targeted.mean_l2)
results.claims([figure.claim()])
figure.summary()

# %% [markdown]
# A targeted attack must reach one specific class rather than the nearest wrong one, so it should
# need a larger change. In this run its average $L_2$ is {glue:text}`ch1_targeted_mean_l2:.2f`,
# against {glue:text}`ch1_untargeted_mean_l2:.2f` for the untargeted attack. The thesis's
# hard-label experiments (Chapter 2) show the same ordering.
#
# ## Figure 1.1 with the thesis's network
#
# The thesis's bagel is an ImageNet validation image classified by the
# pretrained ResNet-50 that torchvision provides {cite}`he2016resnet` (76.15% top-1), the network
# Chapter 2 attacks too. At `paper`, with the reader's ImageNet validation folder and these
# weights in the torch hub cache (ImageNet cannot be downloaded automatically, and the weights are
# never downloaded here), the same C&W $L_2$ attack (`settings.imagenet_cw`: 1,000 Adam steps per
# round instead of 10,000) runs on a few correctly classified validation images drawn by the seed,
# untargeted and targeted at a random other class, like the thesis's piano. Below `paper`, or
# without the data, the line under this cell says why.

# %%
imagenet = ch1.figure_1_1_imagenet(settings, chapter.device, chapter.seed)
if imagenet.figure is None or imagenet.model is None:
    print(f"Figure 1.1 on ResNet-50: {imagenet.status}.")
else:
    print(f"ResNet-50 top-1 accuracy {imagenet.accuracy:.2%} on {settings.n_imagenet} validation images "
          "(thesis: 76.15%).")
    examples, classes = imagenet.figure.examples, imagenet.figure.examples.classes
    for name, result, what in (
        ("fig_1_1_imagenet_untargeted", imagenet.figure.untargeted, "untargeted (2.1)"),
        ("fig_1_1_imagenet_targeted", imagenet.figure.targeted, "targeted at a random class (2.2)"),
    ):
        results.figure(adversarial_examples_figure(
            examples.x, result.x_adv, ch1.prediction_titles(imagenet.model, examples.x, classes),
            ch1.prediction_titles(imagenet.model, result.x_adv, classes)), name, caption=(
            f"Figure 1.1 on torchvision's ResNet-50, {what}: ImageNet validation images, the C&W perturbation and "
            "the adversarial examples, with the predicted class and its confidence (thesis: bagel → piano)."))
    print(imagenet.figure.summary())

# %% [markdown]
# An ImageNet image has $3 \times 224 \times 224$ values instead of 784, and its own $L_2$ norm is
# near 200. The thesis's C&W perturbations on this ResNet-50 average an $L_2$ norm of 1.51
# (Table 2.2): less than one percent of the image, spread over 150,528 values, invisible to a person.
#
# ## Table 1.1: one character fools a text classifier
#
# The thesis's second example is a news-topic classifier on AG News (four classes: World, Sports,
# Business, Sci/Tech): "South Africa's historic Soweto township marks its 100th birthday on
# Tuesday in a mood of optimism." is World news at 57%; with "mood" changed to "mooP" it is
# Sci/Tech at 95%. The thesis does not name its model. We take the standard character-level one,
# the small ConvNet of Zhang, Zhao and LeCun {cite}`zhang2015charcnn`: each of a text's first
# 1,014 characters becomes a one-hot vector over 69 characters (lower-case letters, digits,
# punctuation and the new line; any other character, the space included, a zero vector), read by
# six temporal convolutions and two fully connected layers. The quick profile trains a narrower
# version on part of the training set (`text_settings.train` says which).
#
# The attack is HotFlip {cite}`ebrahimi2018hotflip`. The one-hot vectors are the model's input, so
# one backward pass gives, for every position $p$ and character $b$, the first-order estimate
# $\partial J / \partial x_{b,p} - \partial J / \partial x_{a,p}$ of how much replacing the
# current character $a$ by $b$ raises the loss $J$. The `text_settings.candidates` best flips
# are then tried exactly, and a flip that changes the predicted class is kept. One character
# changes, always inside the text. Our model lower-cases its input as Zhang et al.'s does, so the
# new character is printed in lower case: to the model, "mooP" and "moop" are the same text.
#
# AG News is not shipped with this book. Without `ag_news_csv/train.csv` and `test.csv` in the data
# directory, the table shows only the thesis's rows, and the line under it says where to put the
# files.

# %%
table_1_1 = ch1_text.table_1_1(text_settings, chapter.device, profile, seed=chapter.seed)
results.table(table_1_1.table, "table_1_1", caption="Table 1.1: a news text whose topic flips with one "
              "changed character, with the predicted class and its softmax confidence. Thesis: its (unnamed) "
              "classifier. Ours: Zhang et al.'s character-level ConvNet attacked by one-character HotFlip.")
print(table_1_1.describe())

# %% [markdown]
# With AG News at hand, the success rate says how often the thesis's example is the rule and not
# the exception. The rate of the single best estimated flip beside it shows how far the
# first-order estimate alone gets. A ReLU that is switched off has no gradient, so the estimate is
# blind to the units a new character would switch on. It finds *where* to flip better than *what*
# to flip it to.

# %% [markdown]
# ## Exercises
#
# Each exercise says what to try; its solution is folded under it. Exercises marked *predict,
# then run* ask for a prediction first: write it down before you open the solution and run it.
# Exercises marked *implement* name a test of the book's test suite that checks the library's
# version of the piece you write; your own version should pass the same test.

# %% [markdown]
# ### Exercise 1 (predict, then run): which targets are hard?
#
# Re-run the figure with the target five classes away: `ch1.figure_1_1(victim, settings,
# target_shift=5)`. Before running, predict for each digit whether its new target needs a larger
# or a smaller $L_2$ change than the next digit did. Which pairs should be easy, and which hard?

# %% tags=["solution"]
shifted = ch1.figure_1_1(victim, settings, target_shift=5)
far_l2 = shifted.targeted.l2.masked_fill(~shifted.targeted.success, float("nan")).tolist()  # nan: not reached
near_l2 = figure.targeted.l2.masked_fill(~figure.targeted.success, float("nan")).tolist()
for label, target, far, near in zip(shifted.examples.y.tolist(), shifted.target.tolist(), far_l2, near_l2):
    print(f"{label} -> {target}: L2 {far:.2f} (to {(label + 1) % 10}: {near:.2f})")

# %% [markdown] tags=["solution"]
# Targets whose digit shares most strokes with the original need small changes, and targets that
# must add or remove a whole stroke need large ones. At `quick`, 4 → 9 needs an $L_2$ of 0.8 and
# 9 → 4 of 1.1, against 2.3 for 4 → 5 and 9 → 0; 2 → 7 needs 5.5, against 1.8 for 2 → 3. The average
# targeted $L_2$ depends on the target: a single number for "targeted C&W" hides this spread. (At
# `smoke` the barely trained network and the short attack reach few targets; `nan` marks them.)

# %% [markdown]
# ### Exercise 2 (predict, then run): a confident mistake
#
# C&W's loss (2.6) stops pulling once the wrong class wins by a margin $\kappa$. The figure above
# used $\kappa = 0$. Predict, for $\kappa = 5$ and $\kappa = 20$, whether the adversarial
# confidences rise above the 50% they sit at now, and whether the average $L_2$ of the
# perturbations grows or shrinks. Then run C&W with `settings.cw.replace(kappa=5)`, built on the
# model with `.build(victim.model)`, on the figure's digits (`figure.examples`).

# %% tags=["solution"]
examples = figure.examples
for kappa in (5.0, 20.0):
    confident = settings.cw.replace(kappa=kappa).build(victim.model).run(examples.x, examples.y)
    print(f"kappa = {kappa:g}: {confident.success_rate:.0%} broken, mean L2 {confident.mean_l2:.2f} "
          f"(kappa = 0: {figure.untargeted.mean_l2:.2f}); predictions:",
          ", ".join(title.replace("\n", " ") for title in ch1.prediction_titles(victim.model, confident.x_adv)))

# %% [markdown] tags=["solution"]
# The confidences rise with $\kappa$ and so does the $L_2$ norm: the attack must now cross the
# boundary and go on until the wrong logit leads by $\kappa$. At `quick` the wrong class wins with
# 87–99% at $\kappa = 5$ and 100% at $\kappa = 20$, for an average $L_2$ of 2.1 and 5.4 against 1.5 at
# $\kappa = 0$: a confident mistake costs several times the minimal change. Such high-confidence
# examples are the ones that transfer to other models (Chapter 2).

# %% [markdown]
# ### Exercise 3 (implement): projection onto the $\varepsilon$-balls
#
# Every budgeted attack of Chapter 2 keeps its iterate in a ball around $x_0$ by projecting onto
# it. Write the two projections: onto the $L_\infty$ ball, $x_0 + \mathrm{clip}(x - x_0,
# -\varepsilon, \varepsilon)$, and onto the $L_2$ ball, $x_0 + (x - x_0)\min(1, \varepsilon /
# \|x - x_0\|_2)$ for each example. The library's versions are `LinfBall(eps).project(x, x0)` and
# `L2Ball(eps).project(x, x0)` in `advrobust.attacks`; your functions should pass the test
# `tests/test_attacks.py::test_balls_project_onto_themselves` with them swapped in (a projected
# point far away lands on the sphere, and projecting it again leaves it where it is).

# %% tags=["solution"]
import torch
from advrobust.attacks import L2Ball, LinfBall

x0 = figure.examples.x
far = x0 + torch.randn(x0.shape, generator=torch.Generator().manual_seed(0)).to(x0.device)
delta = far - x0
linf_by_hand = x0 + delta.clamp(-0.1, 0.1)
l2_by_hand = x0 + delta * (0.5 / delta.flatten(1).norm(dim=1)).clamp(max=1.0).view(-1, 1, 1, 1)
assert torch.allclose(LinfBall(0.1).project(far, x0), linf_by_hand)
assert torch.allclose(L2Ball(0.5).project(far, x0), l2_by_hand, atol=1e-6)
assert torch.allclose(L2Ball(0.5).distance(l2_by_hand, x0), torch.full((len(x0),), 0.5))
assert torch.allclose(L2Ball(0.5).project(l2_by_hand, x0), l2_by_hand, atol=1e-6)
print("both projections agree with the library's, and the projected points lie on the spheres")

# %% [markdown]
# ### Exercise 4: why is text harder?
#
# Table 1.1 fools a text classifier by changing one character. What makes the text domain harder
# to attack than images, and what does HotFlip do about it?

# %% [markdown] tags=["solution"]
# Text is discrete: a character or a word is either replaced or not, so there is no small step
# along the gradient, and $L_p$ norms do not measure how visible a change is (one changed letter
# can flip a word's meaning). HotFlip uses the gradient with respect to the one-hot input only to
# *rank* the discrete flips to first order, then tries the best ones exactly. Chapter 3 meets the
# same problem for sequence-to-sequence models (Seq2Sick) and for dialogue agents.
