"""The experiment of Chapter 1: Figure 1.1 (an adversarial example) with our MNIST model.

One correctly classified test image of each of a few digits is attacked by C&W L2 (§2.2) twice:
untargeted, Eq. (2.1), and targeted at the next digit, Eq. (2.2). The victim and the attack are
Chapter 2's (:mod:`.ch2_white_box`, ``settings.cw``).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from torch import Tensor, nn

from ..attacks.result import AttackResult
from ..data import TensorData
from ..jobs import Unit
from ..profiles.whitebox import WhiteBoxSettings, whitebox
from ..robustness.accuracy import correctly_classified, one_per_class, top1
from .ch2_white_box import WhiteBoxVictim, victim_training
from .claims import Claim, judged, paired_effect


@dataclass(frozen=True)
class Figure11:
    """Figure 1.1's examples and the two C&W runs on them."""

    examples: TensorData  # one correctly classified test image per digit, for the first digits met
    target: Tensor  # the targeted attack's class per example, (label + shift) mod 10
    untargeted: AttackResult  # C&W L2 toward any other class, Eq. (2.1)
    targeted: AttackResult  # C&W L2 toward ``target``, Eq. (2.2)

    def summary(self) -> dict[str, float]:
        """Success rate and mean L2 distortion of the two runs."""
        return {
            "untargeted success rate": self.untargeted.success_rate,
            "untargeted mean L2": self.untargeted.mean_l2,
            "targeted success rate": self.targeted.success_rate,
            "targeted mean L2": self.targeted.mean_l2,
        }

    def claim(self) -> Claim:
        """A targeted attack needs a larger change than an untargeted one (the ordering Chapter 2's
        hard-label experiments show too): the L2 distortion of the two runs, paired over the
        examples both broke, with a bootstrap interval."""
        both = (self.targeted.broken & self.untargeted.broken).cpu()
        targeted, untargeted = self.targeted.l2.cpu()[both].numpy(), self.untargeted.l2.cpu()[both].numpy()
        return judged("a targeted attack needs a larger L2 change than an untargeted one",
                      paired_effect(targeted, untargeted),
                      f"mean L2 targeted {self.targeted.mean_l2:.2f} vs untargeted {self.untargeted.mean_l2:.2f} "
                      f"(over the examples each broke)", item="Figure 1.1")


def figure_1_1(victim: WhiteBoxVictim, settings: WhiteBoxSettings, target_shift: int = 1) -> Figure11:
    """C&W L2 (``settings.cw``) on the first correctly classified test image of each of the first
    ``settings.n_examples_shown`` digits met: untargeted, and targeted at (label + ``target_shift``)
    mod 10."""
    test, model = victim.test, victim.model
    index = one_per_class(test.y, correctly_classified(model, test.x, test.y), settings.n_examples_shown)
    examples = dataclasses.replace(test, x=test.x[index], y=test.y[index])
    target = (examples.y + target_shift) % len(test.classes)
    cw = settings.cw.build(model)
    return Figure11(examples, target, cw.run(examples.x, examples.y),
                    cw.run(examples.x, examples.y, target=target))


def prediction_titles(model: nn.Module, images: Tensor) -> list[str]:
    """"predicted k" and the softmax confidence of the top-1 class, per image (Figure 1.1's titles)."""
    labels, confidence = top1(model, images)
    return [f"predicted {int(k)}\n({float(p):.0%})" for k, p in zip(labels, confidence)]


# ------------------------------------------------------------------------------ jobs


def units(profile: str, seed: int = 0) -> list[Unit]:
    """The units Figure 1.1 of the page ``ch01_introduction`` needs at ``profile``: the training
    of Chapter 2's white-box victim (the same unit as :func:`.ch2_white_box.units`'s). Its C&W
    runs are white-box attacks of the page itself (nothing cached); Table 1.1's classifier is
    :func:`.ch1_text.units`'s. ``seed`` does not enter."""
    return [victim_training(whitebox(profile).train, profile, "ch01_introduction")]
