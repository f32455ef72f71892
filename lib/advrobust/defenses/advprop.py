"""AdvProp (Xie et al. 2020, "XTG20"): the baseline of thesis §6.3-6.4 (Tables 6.3-6.6).

AdvProp trains on clean examples through the *main* BatchNorm and on adversarial examples through
an *auxiliary* one, and tests with the main BN. It needs a model built with
``norm_layer="dual_bn"`` (:class:`~advrobust.norms.DualBatchNorm2d`). Per batch:

1. x_adv = PGD-k of radius ε from a uniform random start, untargeted cross-entropy, run with every
   dual BN on its auxiliary branch and the model in eval mode (running statistics), as the
   reference code (tingxueronghua/pytorch-classification-advprop) attacks;
2. loss per example = ½ [CE(f_main(x), y) + CE(f_aux(x_adv), y)], the two passes in train mode.

Settings are the thesis's CIFAR ones (§6.4, "Implementation Details"): PGD-7, ε = 8/255, step ε/5,
random start, non-targeted CE. Departures from the reference code and choices it leaves open:

- **Attack.** The code's default is a *targeted* PGD towards a random label
  ``(y + randint(0, 1000)) % 1000`` (hard-coded for ImageNet) on inputs in [−1, 1]; the thesis
  uses the untargeted attack above on inputs in [0, 1], which is what runs here.
- **Scaling.** The code takes the mean cross-entropy over its 2N outputs (clean, then adversarial);
  the per-example loss here is that mean's share, ½ (clean CE + adversarial CE), so the batch mean
  equals the code's loss and the learning rate means the same.
- **Passes.** The code runs one forward of the 2N batch in its ``mix`` mode; here the clean and the
  adversarial halves are two forwards (``branch="main"``, then ``"aux"``). Each BN sees exactly the
  same half as in ``mix`` mode (its batch statistics and running-statistic updates are the same);
  only the convolutions' batch size differs, a floating-point matter.
- **Random strength** (Table 6.6, "with random perturbation strength"): ``strength_draw`` ``"batch"``
  or ``"example"`` attacks at ε_i = p ε with p ~ U[0, 1] drawn per batch or per example (the step
  is then ε_i / 5), and trains the auxiliary BN on the result; ``"fixed"`` (the default) is p = 1.
- **Two auxiliary BNs** (Table 6.6, "with 2 auxiliary BNs", ε = 8/255 and 4/255): ``extra_eps =
  (4/255,)`` on a model built with ``norm_layer="dual_bn_aux2"``. Each further radius has its own
  PGD example, made through and trained through its own auxiliary BN (``"aux2"``, ...), and the loss
  per example is the mean over all passes, (CE_main + CE_aux + CE_aux2) / 3: the thesis gives no
  weights, and the mean keeps AdvProp's scaling.

:func:`draw_strength` is shared with RobMask (:mod:`.robmask`), which generalises AdvProp.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import require
from ..norms import Strength, auxiliary_branch, dual_bn_layers, norm_mode
from ..registry import register
from .base import Defense, State, VicinalBatch, class_count, generalized_cross_entropy, one_hot
from .inner import linf_ascent
from .vicinal_form import IDENTITY, VicinalForm

# How the strength p = ε_i / ε of a batch's attack is chosen: p = ``fixed_strength`` for every
# example, one p ~ U[0, 1] for the batch, or one p ~ U[0, 1] per example.
STRENGTH_DRAWS = ("fixed", "batch", "example")


def check_attack(eps: float, steps: int, step_fraction: float, strength_draw: str) -> None:
    """One-line ConfigErrors for the attack settings AdvProp and RobMask share."""
    require(eps > 0 and isinstance(steps, int) and steps >= 1 and step_fraction > 0,
            f"need eps > 0, steps >= 1 and step_fraction > 0; got {eps}, {steps}, {step_fraction}")
    require(strength_draw in STRENGTH_DRAWS,
            f"unknown strength_draw {strength_draw!r}; use one of {', '.join(STRENGTH_DRAWS)}")


def draw_strength(strength_draw: str, n: int, device: torch.device, fixed: float = 1.0) -> Strength:
    """The strengths p ∈ [0, 1] of a batch of ``n``: the number ``fixed`` (nothing drawn), a 0-d
    tensor (``"batch"``) or an (n,) tensor (``"example"``), drawn uniformly from torch's global
    generator (which the trainer seeds per epoch)."""
    if strength_draw == "fixed":
        return fixed
    return torch.rand((n,) if strength_draw == "example" else (), device=device)


def pgd_at_strength(
    model: nn.Module, x: Tensor, y: Tensor, p: Strength, eps: float, steps: int, step_fraction: float,
    random_start: bool, bounds: tuple[float, float],
) -> Tensor:
    """Untargeted CE PGD-``steps`` of radius ε_i = p ε and step ``step_fraction`` × ε_i (per
    example for an (N,) ``p``), in the model's current norm mode and eval mode."""
    radius = p * eps
    return linf_ascent(
        model, x, lambda logits: F.cross_entropy(logits.float(), y, reduction="none"),
        eps=radius, alpha=radius * step_fraction, steps=steps, bounds=bounds,
        start="uniform" if random_start else "zero",
    )


@register("defense", "advprop")
@dataclass(frozen=True)
class AdvProp(Defense):
    """Clean examples through the main BN, PGD examples (made through the auxiliary BN) through the
    auxiliary BN; the thesis's CIFAR settings (see the module docstring)."""

    eps: float = 8 / 255  # ε: the attack's L∞ radius (the largest one under a random strength)
    steps: int = 7  # PGD iterations
    step_fraction: float = 0.2  # the PGD step as a fraction of the radius (ε/5)
    random_start: bool = True  # uniform start in the ball (else δ = 0)
    strength_draw: str = "fixed"  # "fixed" (ε) | "batch" | "example" (ε_i = p ε, p ~ U[0, 1])
    bounds: tuple[float, float] = (0.0, 1.0)  # the input domain x_adv stays in
    extra_eps: tuple[float, ...] = ()  # radii of further auxiliary BNs ("aux2", ...); Table 6.6: (4/255,)

    name = "advprop"

    def __post_init__(self) -> None:
        check_attack(self.eps, self.steps, self.step_fraction, self.strength_draw)
        require(all(e > 0 for e in self.extra_eps), f"extra_eps must be positive, got {self.extra_eps}")

    def vicinal(self, model: nn.Module, x: Tensor, y: Tensor, state: State) -> VicinalBatch:
        """x~ = the PGD examples, generated through the auxiliary BN (and each extra radius's
        example through its own auxiliary BN)."""
        duals = dual_bn_layers(model)
        auxiliaries = 1 + len(self.extra_eps)
        require(bool(duals) and all(d.auxiliaries >= auxiliaries for d in duals),
                "advprop needs a model built with norm_layer='dual_bn'" if auxiliaries == 1 else
                f"advprop with extra_eps needs norm_layer='dual_bn_aux{auxiliaries}'")
        p = draw_strength(self.strength_draw, len(x), x.device)
        examples = []
        for j, eps in enumerate((self.eps, *self.extra_eps), start=1):
            with norm_mode(model, branch=auxiliary_branch(j)):
                examples.append(pgd_at_strength(model, x, y, p, eps, self.steps, self.step_fraction,
                                                self.random_start, self.bounds))
        return VicinalBatch(x=examples[0], y=one_hot(y, class_count(model)), extra=tuple(examples[1:]))

    def per_example_loss(
        self, model: nn.Module, x: Tensor, y: Tensor, batch: VicinalBatch
    ) -> tuple[Tensor, Tensor]:
        """The mean of CE(main-BN pass on x) and CE(auxiliary-BN pass on x~) per example (and of
        each extra example's CE through its own auxiliary BN), and the logits on x~."""
        with norm_mode(model, branch="main"):
            clean = model(x)
        passes = [clean]
        for j, example in enumerate((batch.x, *batch.extra), start=1):
            with norm_mode(model, branch=auxiliary_branch(j)):
                passes.append(model(example))
        target = self.h(batch)
        losses = torch.stack([generalized_cross_entropy(self.log_g(logits, batch), target) for logits in passes])
        return losses.mean(dim=0), passes[1]

    def vicinal_form(self) -> VicinalForm:
        """Virtual samples per example: x (main BN) and its PGD example (auxiliary BN)."""
        attack = "PGD_ε(x)" if self.strength_draw == "fixed" else "PGD_pε(x), p ~ U[0, 1]"
        extra = "".join(f", PGD_{round(e * 255)}/255(x) ({auxiliary_branch(j)} BN)"
                        for j, e in enumerate(self.extra_eps, start=2))
        return VicinalForm("AdvProp", "XTG20", IDENTITY, IDENTITY,
                           f"x (main BN) and {attack} (auxiliary BN){extra}", "y", attack_specific=True)
