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
# This page reproduces the thesis's opening example (Figure 1.1, a bagel turned into a piano) with
# a model we train ourselves, and states the two definitions every later chapter builds on.
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
from advrobust.profiles.whitebox import whitebox
from advrobust.attacks import create_attack
from advrobust.data import load_dataset
from advrobust.robustness.accuracy import clean_accuracy, correctly_classified, one_per_class, top1
from advrobust.plotting.common import adversarial_examples_figure, use_book_style
from advrobust.report import Results
from advrobust.runtime import resolve_device, seed_everything
from advrobust.training import trained_model

settings = whitebox(profile)
dev = resolve_device(device)
seed_everything(seed)
use_book_style()
results = Results(results_dir, profile)

# %% [markdown]
# ## The victim: the C&W MNIST network
#
# The thesis's image experiments use the convolutional networks of Carlini and Wagner
# {cite}`carlini2017cw` (four 3×3 convolutions, two max-pools, two fully connected layers of 200
# units). We train it on MNIST {cite}`lecun1998mnist`; a second run reuses the cached checkpoint,
# keyed by the full training configuration.

# %%
model = trained_model(settings.train, device=dev)
test = load_dataset("mnist", "test", device=dev).subset(settings.n_test, seed=seed)
accuracy = clean_accuracy(model, test.x, test.y)
results.glue("ch1_clean_accuracy", accuracy)
print(f"clean test accuracy on {len(test)} MNIST test images: {accuracy:.2%} (thesis: 99.5%)")

# %% [markdown]
# ## Figure 1.1, with our model
#
# We take one correctly classified test image of each of a few digits, and ask the C&W $L_2$
# attack (Chapter 2) for the smallest change that flips the prediction (2.1), and for the
# smallest change that makes the network answer a chosen target class (2.2). The middle column
# shows the perturbation on its own colour scale; its norms are in the title.

# %%
examples = one_per_class(
    test.y, correctly_classified(model, test.x, test.y), settings.n_examples_shown
)
x, y = test.x[examples], test.y[examples]
cw = create_attack("cw_l2", model, **settings.cw_kwargs())
untargeted = cw.run(x, y)
target = (y + 1) % 10
targeted = cw.run(x, y, target=target)


def labelled(images):
    """'predicted k' and the softmax confidence of each image's top-1 class."""
    labels, confidence = top1(model, images)
    return [f"predicted {int(c)}" for c in labels], confidence.tolist()


for name, result, what in (
    ("fig_1_1_untargeted", untargeted, "untargeted (2.1)"),
    ("fig_1_1_targeted", targeted, "targeted at (label + 1) mod 10 (2.2)"),
):
    clean_names, clean_conf = labelled(x)
    adv_names, adv_conf = labelled(result.x_adv)
    figure = adversarial_examples_figure(
        x, result.x_adv, clean_names, clean_conf, adv_names, adv_conf, profile
    )
    results.figure(
        figure,
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
summary = {
    "untargeted success rate": untargeted.success_rate,
    "untargeted mean L2": untargeted.mean_l2,
    "targeted success rate": targeted.success_rate,
    "targeted mean L2": targeted.mean_l2,
}
results.glue("ch1_untargeted_mean_l2", untargeted.mean_l2)
results.glue("ch1_targeted_mean_l2", targeted.mean_l2)
summary

# %% [markdown]
# A targeted attack must reach one specific class rather than the nearest wrong one, so it should
# need a larger change. In this run its average $L_2$ is {glue:text}`ch1_targeted_mean_l2:.2f`,
# against {glue:text}`ch1_untargeted_mean_l2:.2f` for the untargeted attack. The thesis's
# hard-label experiments (Chapter 2) show the same ordering.
#
# ## Exercises
#
# 1. Re-run the cell above with `target = (y + 5) % 10`. Which targets are hardest (largest $L_2$)
#    for each digit? Why might "4 → 9" be easy and "1 → 0" hard?
# 2. Pass `kappa=5` (and then 20) to the C&W attack. How do the confidences and the $L_2$ norms
#    of the adversarial examples change?
# 3. Replace `"cw_l2"` by `"pgd"` with `eps=0.3, steps=40` (an $L_\infty$ attack). How do the
#    perturbations look different? Compute both perturbations' $L_2$ and $L_\infty$ norms.
# 4. Table 1.1 of the thesis fools a text classifier by changing one character. What makes the
#    text domain harder to attack than images? (Hint: Chapter 3 and the discrete input space.)
