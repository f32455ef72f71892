"""SPROUT, self-progressing robust training (thesis §5.3, Eq. (5.8), Algorithm 9), and the
ablations of Figure 5.5.

SPROUT solves min_θ max_β of the vicinal risk (5.8) with three modules, each a switch of
:class:`SPROUT`, so that every variant of Figure 5.5 is a setting of one class. Per batch:

1. Gaussian augmentation (``gaussian``): x <- x + n, n ~ N(0, Δ² I) with Δ = ``gaussian_std``;
2. mixup (``mixup``): λ ~ Beta(a, a) once per batch, a = ``mixup_a``, and a partner j = π(i) from
   a random permutation π of the batch: x~ = (1 - λ) x_i + λ x_j, y_mix = (1 - λ) y_i + λ y_j
   (one-hot y), the same λ and partner for inputs and labels;
3. label smoothing (``smoothing``):

   * ``"dirichlet"``: y~ ~ Dirichlet(c), a reparameterised sample (the implicit gradients of FMM18,
     as the thesis), so the loss is differentiable in β; the concentration c follows ``label_rule``;
   * ``"uniform"``: y~ = (1 - α_LS) y_mix + α_LS / K (SVI16), α_LS = ``uniform_alpha``;
   * ``"none"``: y~ = y_mix.

The model's step descends and β (a learned parameter, one entry per class) ascends the gradient of
the same batch loss (5.4), from one backward pass (Algorithm 9's g_θ and g_β).

The batch's randomness is drawn from torch's global generator in one fixed order whatever the
switches: the noise, λ, the permutation, then the Dirichlet sample. Switching a module off removes
exactly that module and leaves every other draw of the batch identical.

Label rules. ``"eq_5_6"`` (the default) is c = (1 - α) y_mix + α β: what Eq. (5.6), Table 5.1 and
the vicinity function of §5.3.2 all write. ``"algorithm_9"`` is Algorithm 9's c = α y_mix + (1 - α)
β; with the thesis's α = 0.01 it makes c ≈ β, labels nearly independent of y. ``"official_code"``
is the official code's c = 10 y + β (IBM/SPROUT, ``dirismooth``), whose mean true-class mass at its
start β = 1 with K = 10 is 11/20 = 0.55. Under the default rule, α = 0.01 and β ~ U(0, 1) it is
about 0.95. The other rules are options for comparison.

Table 5.1 writes the Dirichlet (and uniform) smoothing as the label map h(·). Here
:meth:`SPROUT.vicinal` returns the smoothed label as y~ and h = I, which is the same loss (5.4);
the row of :meth:`SPROUT.vicinal_form` is written as the thesis writes it.

Departures, stated:

* the noisy inputs are not clipped to [0, 1] (the thesis's N(x, Δ²) and the official code neither);
* §5.3.2's vicinity function prints λN(x_i, Δ²) + (1 - λ)N(x_j, Δ²) beside (1 - λ)y_i + λy_j; we
  pair them as Table 5.1 does, (1 - λ) on i in both (λ ~ Beta(a, a) is symmetric, so the two agree
  in distribution once the pairing is consistent);
* labels are mixed before the Dirichlet, as the vicinity function of §5.3.2 writes it; the official
  code instead mixes the loss, λ L(y_a) + (1 - λ) L(y_b), each with its own Dirichlet label;
* β steps once per batch from the same backward pass as θ (Algorithm 9); the official code takes
  three θ steps per batch (each with fresh noise and mixup) and then steps β on the clean batch;
* β starts at U(0, 1) from torch's global generator (Algorithm 9: "random initialization"); the
  official code starts at ones;
* the concentration is floored at ``concentration_floor`` > 0; the official code clamps at 0,
  which is not a valid Dirichlet. Below the floor β gets no gradient, as under the official clamp;
* β's optimiser is SGD ascent with the official code's lr 0.01 and momentum 0.9 at a constant
  rate; the official code also applies weight decay 5e-4 to β and divides its rate by 10 with the
  model's at each stage.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor, nn

from ..errors import require
from ..registry import register
from .base import Defense, State, VicinalBatch, class_count, one_hot
from .vicinal_form import IDENTITY, VicinalForm

Smoothing = Literal["dirichlet", "uniform", "none"]
LabelRule = Literal["eq_5_6", "algorithm_9", "official_code"]
SMOOTHINGS: tuple[Smoothing, ...] = ("dirichlet", "uniform", "none")
LABEL_RULES: tuple[LabelRule, ...] = ("eq_5_6", "algorithm_9", "official_code")
OFFICIAL_LABEL_WEIGHT = 10.0  # the official code's weight of y in the concentration 10 y + β
# Table 5.1's label maps h(·), by label rule.
DIRICHLET_FORMS: dict[LabelRule, str] = {
    "eq_5_6": "Dirichlet((1−α)y + αβ)",
    "algorithm_9": "Dirichlet(αy + (1−α)β)",
    "official_code": "Dirichlet(10y + β)",
}
# The module combinations that Table 5.1 names, with their citations.
NAMED_ROWS = {
    "GA": ("GA", "ZNR17"),
    "Mixup": ("Mixup", "ZCD18"),
    "LS": ("LS", "SVI16"),
    "LS+GA": ("LS+GA", "SGH19"),
    "GA+Mixup+Dirichlet": ("SPROUT", "ours"),
}


@register("defense", "sprout")
@dataclass(frozen=True)
class SPROUT(Defense):
    """Algorithm 9 with switchable modules. Defaults are §5.3.4.1's: Δ = 0.1, a = 0.2, α = 0.01."""

    gaussian: bool = True  # Gaussian augmentation
    mixup: bool = True  # mixup of inputs and labels
    smoothing: Smoothing = "dirichlet"  # label smoothing: learned Dirichlet, uniform (SVI16) or none
    gaussian_std: float = 0.1  # Δ, the noise's standard deviation
    mixup_a: float = 0.2  # a, the shape of Beta(a, a) that λ is drawn from
    alpha: float = 0.01  # α, the Dirichlet smoothing parameter of the label rule
    label_rule: LabelRule = "eq_5_6"  # the Dirichlet concentration: see the module docstring
    concentration_floor: float = 1e-3  # the least Dirichlet concentration
    uniform_alpha: float = 0.1  # α_LS of uniform label smoothing (Szegedy et al. 2016)
    beta_lr: float = 0.01  # γ_β, β's gradient-ascent learning rate
    beta_momentum: float = 0.9  # the momentum of β's optimiser

    name = "sprout"

    def __post_init__(self) -> None:
        require(self.gaussian_std >= 0, f"gaussian_std must be >= 0, got {self.gaussian_std}")
        require(self.mixup_a > 0, f"mixup_a must be positive, got {self.mixup_a}")
        require(0 <= self.alpha <= 1, f"alpha must lie in [0, 1], got {self.alpha}")
        require(0 <= self.uniform_alpha <= 1, f"uniform_alpha must lie in [0, 1], got {self.uniform_alpha}")
        require(self.smoothing in SMOOTHINGS,
                f"unknown smoothing {self.smoothing!r}; available: {', '.join(SMOOTHINGS)}")
        require(self.label_rule in LABEL_RULES,
                f"unknown label_rule {self.label_rule!r}; available: {', '.join(LABEL_RULES)}")
        require(self.concentration_floor > 0,
                f"concentration_floor must be positive, got {self.concentration_floor}")
        require(self.beta_lr > 0 and self.beta_momentum >= 0,
                f"need beta_lr > 0 and beta_momentum >= 0, got {self.beta_lr}, {self.beta_momentum}")

    def learned_parameters(
        self, model: nn.Module, device: torch.device, batch_shape: tuple[int, ...]
    ) -> State:
        """β ~ U(0, 1), one entry per class, with Dirichlet smoothing; nothing otherwise."""
        if self.smoothing != "dirichlet":
            return {}
        return {"beta": torch.rand(class_count(model), device=device).requires_grad_()}

    def parameter_optimizer(self, parameters: list[Tensor]) -> torch.optim.Optimizer:
        """Algorithm 9's β <- β + γ_β g_β, with momentum."""
        return torch.optim.SGD(parameters, lr=self.beta_lr, momentum=self.beta_momentum, maximize=True)

    def vicinal(self, model: nn.Module, x: Tensor, y: Tensor, state: State) -> VicinalBatch:
        """x~ and the smoothed label y~; the noise, λ and the permutation are drawn (in this order,
        before the Dirichlet sample) whether or not their module is on."""
        noise = self.gaussian_std * torch.randn_like(x)
        shape = torch.tensor(self.mixup_a, device=x.device)
        lam = torch.distributions.Beta(shape, shape, validate_args=False).sample()
        partner = torch.randperm(len(x), device=x.device)
        x_tilde = x + noise if self.gaussian else x
        labels = one_hot(y, class_count(model))
        if self.mixup:
            x_tilde = (1 - lam) * x_tilde + lam * x_tilde[partner]
            labels = (1 - lam) * labels + lam * labels[partner]
        return VicinalBatch(x=x_tilde, y=self.smoothed(labels, state))

    def smoothed(self, labels: Tensor, state: State) -> Tensor:
        """y~ from the (mixed) labels (N, K): a Dirichlet sample, uniform smoothing, or unchanged."""
        if self.smoothing == "dirichlet":
            # the floor keeps every concentration valid, so the per-batch check is skipped
            concentration = self.concentration(labels, state["beta"])
            return torch.distributions.Dirichlet(concentration, validate_args=False).rsample()
        if self.smoothing == "uniform":
            return (1 - self.uniform_alpha) * labels + self.uniform_alpha / labels.shape[1]
        return labels

    def concentration(self, labels: Tensor, beta: Tensor) -> Tensor:
        """The Dirichlet concentration (N, K) for labels (N, K) under ``label_rule``, floored at
        ``concentration_floor``; Eq. (5.7) gives the labels' mean c / sum(c)."""
        if self.label_rule == "eq_5_6":
            raw = (1 - self.alpha) * labels + self.alpha * beta
        elif self.label_rule == "algorithm_9":
            raw = self.alpha * labels + (1 - self.alpha) * beta
        else:
            raw = OFFICIAL_LABEL_WEIGHT * labels + beta
        return raw.clamp(min=self.concentration_floor)

    def summary(self, state: State) -> dict[str, float]:
        """β's mean, least and largest entries (with Dirichlet smoothing)."""
        if self.smoothing != "dirichlet":
            return {}
        beta = state["beta"].detach()
        return {"beta_mean": float(beta.mean()), "beta_min": float(beta.min()), "beta_max": float(beta.max())}

    def modules(self) -> str:
        """The switched-on modules as Figure 5.5 names the combination, e.g. "GA+Mixup+Dirichlet"
        or "LS+GA" (uniform smoothing first, Dirichlet last); "Natural" when all are off."""
        inputs = [name for name, on in (("GA", self.gaussian), ("Mixup", self.mixup)) if on]
        if self.smoothing == "uniform":
            inputs.insert(0, "LS")
        elif self.smoothing == "dirichlet":
            inputs.append("Dirichlet")
        return "+".join(inputs) or "Natural"

    def vicinal_form(self) -> VicinalForm:
        modules = self.modules()
        method, citation = NAMED_ROWS.get(modules, (modules, ""))
        h = {"dirichlet": DIRICHLET_FORMS[self.label_rule], "uniform": "(1−α)y + αu", "none": IDENTITY}
        if self.mixup:
            x = "(1−λ)N(x_i, Δ²) + λN(x_j, Δ²)" if self.gaussian else "(1−λ)x_i + λx_j"
        else:
            x = "N(x, Δ²)" if self.gaussian else "x"
        y = "(1−λ)y_i + λy_j" if self.mixup else "y"
        return VicinalForm(method, citation, IDENTITY, h[self.smoothing], x, y, attack_specific=False)


@register("defense", "gaussian_augmentation")
def gaussian_augmentation(**settings: Any) -> SPROUT:
    """Table 5.1 "GA" (ZNR17): x~ = N(x, Δ²), one-hot labels."""
    return SPROUT(gaussian=True, mixup=False, smoothing="none", **settings)


@register("defense", "mixup")
def mixup_training(**settings: Any) -> SPROUT:
    """Table 5.1 "Mixup" (ZCD18): mixed inputs and labels, no noise, no smoothing."""
    return SPROUT(gaussian=False, mixup=True, smoothing="none", **settings)


@register("defense", "dirichlet_ls")
def dirichlet_ls(**settings: Any) -> SPROUT:
    """Figure 5.5 "Dirichlet": SPROUT's learned Dirichlet label smoothing alone."""
    return SPROUT(gaussian=False, mixup=False, smoothing="dirichlet", **settings)


@register("defense", "uniform_ls")
def uniform_ls(**settings: Any) -> SPROUT:
    """Table 5.1 "LS" (SVI16): uniform label smoothing alone."""
    return SPROUT(gaussian=False, mixup=False, smoothing="uniform", **settings)


@register("defense", "ls_ga")
def ls_ga(**settings: Any) -> SPROUT:
    """Table 5.1 "LS+GA" (SGH19): uniform label smoothing with Gaussian augmentation."""
    return SPROUT(gaussian=True, mixup=False, smoothing="uniform", **settings)


# Figure 5.5's combinations of SPROUT's modules (and of uniform LS), by the name the figure gives
# them (the method of their row, :meth:`SPROUT.vicinal_form`), at the default settings (change them
# with dataclasses.replace).
ABLATIONS: Mapping[str, SPROUT] = {
    "GA": SPROUT(gaussian=True, mixup=False, smoothing="none"),
    "Mixup": SPROUT(gaussian=False, mixup=True, smoothing="none"),
    "Dirichlet": SPROUT(gaussian=False, mixup=False, smoothing="dirichlet"),
    "LS": SPROUT(gaussian=False, mixup=False, smoothing="uniform"),
    "GA+Mixup": SPROUT(gaussian=True, mixup=True, smoothing="none"),
    "GA+Dirichlet": SPROUT(gaussian=True, mixup=False, smoothing="dirichlet"),
    "Mixup+Dirichlet": SPROUT(gaussian=False, mixup=True, smoothing="dirichlet"),
    "SPROUT": SPROUT(gaussian=True, mixup=True, smoothing="dirichlet"),  # GA+Mixup+Dirichlet
    "LS+GA": SPROUT(gaussian=True, mixup=False, smoothing="uniform"),
    "LS+Mixup": SPROUT(gaussian=False, mixup=True, smoothing="uniform"),
    "LS+GA+Mixup": SPROUT(gaussian=True, mixup=True, smoothing="uniform"),
}
