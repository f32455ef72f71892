"""RobMask (thesis §6.3, Eq. (6.2), Algorithm 10): adversarial examples of random strength, each
normalised with the rescaling γ_i = W u_i, β_i = W′ u_i of its own strength.

RobMask needs a model built with ``norm_layer="robmask"`` (k = 2, the thesis's setting) or
``"robmask_k<k>"`` (:class:`~advrobust.norms.RobMaskNorm2d`). Per batch:

1. draw p_i ~ U[0, 1] and set ε_i = p_i ε_max (Algorithm 10: "Sample a random number p from 0 to 1",
   read as the continuous uniform distribution; strength 0 is clean);
2. x_adv = PGD-k of radius ε_i (per example), step ε_i / 5, uniform random start, untargeted CE,
   run in eval mode with every RobMask layer at strength p_i (through the mask u_{p_i});
3. loss per example = ½ [CE(f_{u_0}(x), y) + CE(f_{u_{p_i}}(x_adv), y)], the two passes in train
   mode; W, W′ and θ all take the step.

Attack settings are the thesis's (§6.4: PGD-7, step ε/5, random start, CE; k = 2, ε_max = 8/255).
Choices the thesis leaves open, resolved here:

- **Clean and adversarial passes** (ambiguity 1). Algorithm 10 trains only on x + δ_i with the
  sampled p (p = 0 being the clean case), while the text says "both clean and adversarial examples
  are used for model training", and the claim that AdvProp is RobMask "with k = 2 and p frozen at
  1" holds only if every batch has a clean pass with u_0 and an adversarial pass with u_p. The
  default is therefore the text's two passes, scaled like AdvProp's (:mod:`.advprop`: the mean over
  the 2N outputs); ``literal_algorithm_10=True`` gives Algorithm 10 verbatim, the single pass
  CE(f_{u_{p_i}}(x_adv), y) (with a continuous p a clean example has probability zero).
- **The attack's mask** (ambiguity 2). Algorithm 10's PGD loop writes f_θ(x_i + δ_i) without γ_i;
  as AdvProp attacks through its auxiliary BN, the attack here runs through u_{p_i}.
- **Strength per example or per batch.** Algorithm 10 draws one p per mini-batch ("the
  perturbation strength in this mini-batch"), and so does the default ``strength_draw="batch"``;
  ``"example"`` draws one per example (every batch then covers the range of strengths and trains
  every column of W at each step), and ``"fixed"`` freezes p at ``fixed_strength`` (with p = 1 and
  k = 2, AdvProp's objective; see below). Algorithm 10 verbatim is
  ``RobMask(literal_algorithm_10=True)``.
- **Statistics** (ambiguity 3). The clean and adversarial passes are separate forwards, each
  normalised with its own batch statistics (the adversarial pass with those of all its examples,
  whatever their strengths); the running mean and variance are shared, updated by both passes
  (the layer's design, :mod:`advrobust.norms.robmask`). The attack (eval mode) uses the shared
  running statistics.

**AdvProp as a special case.** With k = 2, ``strength_draw="fixed"`` and ``fixed_strength=1``,
a batch's loss is AdvProp's loss for the dual-BN model whose main and auxiliary affines are W's
columns, provided the running statistics its attack uses agree (AdvProp's auxiliary BN keeps its
own, RobMask shares one set); the two passes in train mode use batch statistics either way.
"""
from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from ..errors import ConfigError, require
from ..norms import Strength, norm_mode, robmask_layers
from ..registry import register
from .advprop import check_attack, draw_strength, pgd_at_strength
from .base import Defense, State, VicinalBatch, class_count, generalized_cross_entropy, one_hot
from .vicinal_form import IDENTITY, VicinalForm


@dataclass(frozen=True)
class MaskedBatch(VicinalBatch):
    """A vicinal batch with the strengths p_i = ε_i / ε_max its x~ was made at (and is trained at)."""

    strength: Strength = 1.0  # a number, a 0-d tensor (one draw per batch) or (N,) (per example)


@register("defense", "robmask")
@dataclass(frozen=True)
class RobMask(Defense):
    """Eq. (6.2)'s strength-conditioned masks trained on PGD examples of random strength (see the
    module docstring for the objective and the choices made)."""

    eps_max: float = 8 / 255  # ε_max: the largest attack radius, the strength p = 1
    steps: int = 7  # PGD iterations
    step_fraction: float = 0.2  # the PGD step as a fraction of each radius ε_i (ε_i/5)
    random_start: bool = True  # uniform start in each ball (else δ = 0)
    strength_draw: str = "batch"  # "example" | "batch" (p ~ U[0, 1]) | "fixed" (fixed_strength)
    fixed_strength: float = 1.0  # p under strength_draw="fixed" (1: AdvProp's objective for k = 2)
    literal_algorithm_10: bool = False  # train on the perturbed pass only (else clean + perturbed)
    bounds: tuple[float, float] = (0.0, 1.0)  # the input domain x_adv stays in

    name = "robmask"

    def __post_init__(self) -> None:
        check_attack(self.eps_max, self.steps, self.step_fraction, self.strength_draw)
        require(0.0 <= self.fixed_strength <= 1.0,
                f"fixed_strength p must lie in [0, 1], got {self.fixed_strength}")

    def vicinal(self, model: nn.Module, x: Tensor, y: Tensor, state: State) -> MaskedBatch:
        """x~ = PGD examples of radius p_i ε_max, generated through the masks u_{p_i}."""
        require(bool(robmask_layers(model)),
                "robmask needs a model built with norm_layer='robmask' or 'robmask_k<k>'")
        p = draw_strength(self.strength_draw, len(x), x.device, self.fixed_strength)
        with norm_mode(model, strength=p):
            x_adv = pgd_at_strength(model, x, y, p, self.eps_max, self.steps, self.step_fraction,
                                    self.random_start, self.bounds)
        return MaskedBatch(x=x_adv, y=one_hot(y, class_count(model)), strength=p)

    def per_example_loss(
        self, model: nn.Module, x: Tensor, y: Tensor, batch: VicinalBatch
    ) -> tuple[Tensor, Tensor]:
        """½ [CE(u_0 pass on x) + CE(u_p pass on x~)] per example (CE(u_p pass on x~) alone under
        ``literal_algorithm_10``), and the logits on x~."""
        if not isinstance(batch, MaskedBatch):
            raise ConfigError("robmask's loss needs the batch its vicinal() made (a MaskedBatch)")
        target = self.h(batch)
        clean_losses = None
        if not self.literal_algorithm_10:
            with norm_mode(model, strength=0.0):
                clean_losses = generalized_cross_entropy(self.log_g(model(x), batch), target)
        with norm_mode(model, strength=batch.strength):
            adversarial = model(batch.x)
        losses = generalized_cross_entropy(self.log_g(adversarial, batch), target)
        if clean_losses is None:
            return losses, adversarial
        return 0.5 * (clean_losses + losses), adversarial

    def vicinal_form(self) -> VicinalForm:
        """The perturbed sample (masked by u_p), beside the clean one (masked by u_0) by default."""
        p = f"p = {self.fixed_strength:g}" if self.strength_draw == "fixed" else "p ~ U[0, 1]"
        perturbed = f"PGD_pε_max(x), {p} (mask u_p)"
        x_tilde = perturbed if self.literal_algorithm_10 else f"x (mask u_0) and {perturbed}"
        return VicinalForm("RobMask", "ours", IDENTITY, IDENTITY, x_tilde, "y", attack_specific=True)
