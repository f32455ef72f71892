"""The experiment of Chapter 1: Figure 1.1 (an adversarial example) with our MNIST model and, at
paper, with the thesis's network, torchvision's pretrained ImageNet ResNet-50.

One correctly classified test image of each of a few digits is attacked by C&W L2 (§2.2) twice:
untargeted, Eq. (2.1), and targeted at the next digit, Eq. (2.2). The victim and the attack are
Chapter 2's (:mod:`.ch2_white_box`, ``settings.cw``). The ResNet-50 version attacks a few
correctly classified ImageNet validation images the same two ways, targeted at random classes
(:func:`figure_1_1_imagenet`; the victim is Table 2.2's, :func:`.ch2_hard_label.pretrained_victim`).
"""
from __future__ import annotations

import dataclasses
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from ..attacks import CarliniWagnerL2
from ..attacks.result import AttackResult
from ..attacks.spec import AttackSpec
from ..data import TensorData
from ..data.imagenet import imagenet_class_names
from ..errors import DataError
from ..jobs import Unit
from ..profiles.whitebox import WhiteBoxSettings, whitebox
from ..robustness.accuracy import correctly_classified, one_per_class, top1
from .attack_runs import random_targets
from .ch2_hard_label import pretrained_victim
from .ch2_white_box import WhiteBoxVictim, victim_training
from .claims import Claim, judged, paired_effect
from .paper_only import DATA_ABSENT

IMAGENET_NETWORK = "resnet50"  # Figure 1.1's network: torchvision's pretrained ImageNet ResNet-50
NOT_RUN_HERE = "not run at this profile: the ResNet-50 version runs at paper only"
TITLE_WIDTH = 20  # characters per line of a title: ImageNet's class names are long


@dataclass(frozen=True)
class Figure11:
    """Figure 1.1's examples and the two C&W runs on them."""

    examples: TensorData  # correctly classified test images (MNIST: one per digit, the first digits met)
    target: Tensor  # the targeted attack's class per example (MNIST: (label + shift) mod 10)
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
    return _attacked(model, examples, (examples.y + target_shift) % len(test.classes), settings.cw)


def _attacked(model: nn.Module, examples: TensorData, target: Tensor, cw: AttackSpec[CarliniWagnerL2]) -> Figure11:
    """``cw`` on ``examples``: untargeted, and targeted at ``target``."""
    attack = cw.build(model)
    return Figure11(examples, target, attack.run(examples.x, examples.y),
                    attack.run(examples.x, examples.y, target=target))


@dataclass(frozen=True)
class ImageNetFigure11:
    """Figure 1.1 on the thesis's network, or why it was not run."""

    status: str  # "ran", NOT_RUN_HERE, or "paper only: data absent: <the loader's message>"
    figure: Figure11 | None = None  # the C&W runs on ImageNet validation images ("ran" only)
    model: nn.Module | None = None  # the pretrained ResNet-50 ("ran" only)
    accuracy: float = float("nan")  # its top-1 accuracy on the validation images drawn ("ran" only)


def figure_1_1_imagenet(settings: WhiteBoxSettings, device: torch.device | str, seed: int = 0,
                        data_root: str | Path | None = None) -> ImageNetFigure11:
    """Figure 1.1 on torchvision's pretrained ResNet-50 (the thesis's bagel → piano): C&W L2
    (``settings.imagenet_cw``) on ``settings.n_examples_shown`` correctly classified images among
    ``settings.n_imagenet`` validation images drawn by ``seed``, untargeted and targeted at a random
    other class (seeded, as Table 2.2's targets). Below paper (``n_imagenet`` = 0), or without
    ImageNet or the weights, no run and the reason."""
    if settings.n_imagenet == 0:
        return ImageNetFigure11(NOT_RUN_HERE)
    try:
        attacked = pretrained_victim(IMAGENET_NETWORK, settings.n_imagenet, settings.n_examples_shown, device, seed,
                                     data_root)
    except DataError as error:
        return ImageNetFigure11(f"{DATA_ABSENT}: {error}")
    examples = TensorData(attacked.x, attacked.y, imagenet_class_names(), "imagenet-val")
    figure = _attacked(attacked.model, examples, random_targets(attacked.y, len(examples.classes), seed),
                       settings.imagenet_cw)
    return ImageNetFigure11("ran", figure, attacked.model, attacked.clean_accuracy)


def prediction_titles(model: nn.Module, images: Tensor, classes: Sequence[str] | None = None) -> list[str]:
    """"predicted k" (or the name ``classes[k]``, wrapped to fit a column) and the softmax confidence
    of the top-1 class, per image (Figure 1.1's titles)."""
    labels, confidence = top1(model, images)
    return [f"{textwrap.fill(f'predicted {int(k) if classes is None else classes[int(k)]}', TITLE_WIDTH)}"
            f"\n({float(p):.0%})" for k, p in zip(labels, confidence)]


# ------------------------------------------------------------------------------ jobs


def units(profile: str, seed: int = 0) -> list[Unit]:
    """The units Figure 1.1 of the page ``ch01_introduction`` needs at ``profile``: the training
    of Chapter 2's white-box victim (the same unit as :func:`.ch2_white_box.units`'s). Its C&W
    runs, on that victim and at paper on the pretrained ResNet-50 (no unit: its weights are
    torchvision's), are white-box attacks of the page itself (nothing cached); Table 1.1's
    classifier is :func:`.ch1_text.units`'s. ``seed`` does not enter."""
    return [victim_training(whitebox(profile).train, profile, "ch01_introduction")]
