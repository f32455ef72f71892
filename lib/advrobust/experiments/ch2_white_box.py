"""The experiments of Chapter 1 and §2.1–2.2: the white-box attacks of thesis §2.2 on the C&W MNIST CNN.

The budgeted attacks (FGSM, PGD, C&W L∞, PGD-L2) give robust accuracy against ε; the
minimal-distortion attacks (C&W L2 of Eq. (2.5)-(2.6), DeepFool) give a distortion per example,
read as the same curve (robust while the distortion exceeds ε) and as Table 2.2's C&W row. Every
attack comes from the page's :class:`~advrobust.profiles.whitebox.WhiteBoxSettings` as an
:class:`~advrobust.attacks.AttackSpec` and runs on correctly classified test images only (§2.5),
chosen by :func:`~advrobust.robustness.accuracy.choose_correct`.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from ..attacks.base import BudgetedAttack
from ..attacks.result import AttackResult
from ..attacks.spec import AttackSpec
from ..data import TensorData, load_dataset
from ..jobs import Unit
from ..jobs.units import image_training
from ..profiles.whitebox import EXAMPLE_EPS, WhiteBoxSettings, whitebox
from ..robustness.accuracy import (
    choose_correct,
    clean_accuracy,
    correctly_classified,
    distortion_stats,
    predict,
    robust_accuracy_curve,
)
from ..robustness.masking import gradient_masking_checks
from ..tables import beside_thesis, thesis_table
from ..training import TrainConfig, trained_model

THESIS_CW_MEAN_L2 = 0.88  # Table 2.2: C&W's average L2 distortion on MNIST
VICTIM_PAGE = "ch01_introduction"  # the first page in book order that trains the victim (Figure 1.1)


@dataclass(frozen=True)
class WhiteBoxVictim:
    """The C&W MNIST CNN, its test images and what it gets right on them."""

    model: nn.Module  # trained by the profile's TrainConfig (from the checkpoint cache)
    test: TensorData  # the profile's seeded subset of the MNIST test set
    accuracy: float  # clean accuracy on ``test``
    n_correct: int  # test images classified correctly: the only ones attacked (§2.5)

    def correct_examples(self, n: int) -> TensorData:
        """The first ``n`` correctly classified test images, in dataset order; every attack of the
        page runs on such a prefix, so the examples of a smaller set are those of a larger one."""
        index = choose_correct(self.model, self.test.x, self.test.y, n)
        return dataclasses.replace(self.test, x=self.test.x[index], y=self.test.y[index])


def load_victim(settings: WhiteBoxSettings, device: torch.device | str, seed: int) -> WhiteBoxVictim:
    """The trained victim and ``settings.n_test`` test images drawn by ``seed``."""
    model = trained_model(settings.train, device=device)
    test = load_dataset(settings.train.dataset, "test", device=device).subset(settings.n_test, seed=seed)
    accuracy = clean_accuracy(model, test.x, test.y)
    return WhiteBoxVictim(model, test, accuracy, len(correctly_classified(model, test.x, test.y)))


def model_accuracy_table(victim: WhiteBoxVictim, profile: str) -> pd.DataFrame:
    """The victim's clean accuracy beside §2.5's 99.5% ("model_accuracy" of the thesis's numbers)."""
    ours = pd.DataFrame({"dataset": ["MNIST"], "model": ["cw_mnist"], "metric": ["test accuracy"],
                         "value": [victim.accuracy]})
    return beside_thesis(ours, thesis_table("model_accuracy"), on=["dataset", "model", "metric"],
                         profile=profile, values=["value"]).dropna()


def budgeted_curves(
    model: nn.Module, data: TensorData, settings: WhiteBoxSettings, norm: str
) -> pd.DataFrame:
    """Robust accuracy against ε for each budgeted attack of ``norm`` ("Linf": FGSM, PGD, C&W L∞
    at ``settings.eps_linf``; "L2": PGD-L2 at ``settings.eps_l2``): columns attack, eps,
    clean_accuracy, robust_accuracy."""
    eps_values = settings.eps_linf if norm == "Linf" else settings.eps_l2
    frames = [
        robust_accuracy_curve(model, data.x, data.y, _on(model, spec_at), eps_values).assign(attack=label)
        for label, spec_at in settings.curve_attacks(norm).items()
    ]
    return pd.concat(frames)


def _on(model: nn.Module, spec_at: Callable[[float], AttackSpec[BudgetedAttack]]) -> Callable[[float], BudgetedAttack]:
    """The attack of ``spec_at(eps)`` built on ``model``, as a function of eps."""
    return lambda eps: spec_at(eps).build(model)


def minimal_attacks(model: nn.Module, data: TensorData, settings: WhiteBoxSettings) -> dict[str, AttackResult]:
    """The minimal-distortion attacks of §2.2 on ``data``: C&W L2 (Eq. (2.5)-(2.6)) and DeepFool."""
    return {"C&W L2": settings.cw.build(model).run(data.x, data.y),
            "DeepFool": settings.deepfool.build(model).run(data.x, data.y)}


def minimal_curves(results: Mapping[str, AttackResult], eps_values: tuple[float, ...]) -> pd.DataFrame:
    """A minimal-distortion attack read as robust accuracy at an L2 budget ε: the share of examples
    it failed on or needed an L2 distortion above ε for (columns attack, eps, robust_accuracy)."""
    return pd.concat([
        pd.DataFrame({"attack": label, "eps": eps_values,
                      "robust_accuracy": [float(((~r.success) | (r.l2 > eps)).float().mean()) for eps in eps_values]})
        for label, r in results.items()
    ])


def l2_curves(
    model: nn.Module, data: TensorData, minimal: Mapping[str, AttackResult], settings: WhiteBoxSettings
) -> pd.DataFrame:
    """Robust accuracy against the L2 budget: PGD-L2 on ``data``, then C&W L2 and DeepFool's
    distortions read at each ε (:func:`minimal_curves`)."""
    return pd.concat([budgeted_curves(model, data, settings, "L2"), minimal_curves(minimal, settings.eps_l2)])


def curve_table(curves: pd.DataFrame) -> pd.DataFrame:
    """The curves as a table: one row per attack, one column per ε."""
    return curves.pivot_table(index="attack", columns="eps", values="robust_accuracy")


def accuracy_at(curves: pd.DataFrame, attack: str, eps: float) -> float:
    """``attack``'s robust accuracy at budget ``eps`` in ``curves`` (NaN when it was not run there)."""
    value = curves.query("attack == @attack and abs(eps - @eps) < 1e-9")["robust_accuracy"]
    return float(value.iloc[0]) if len(value) else float("nan")


def sanity_checks(
    model: nn.Module, data: TensorData, settings: WhiteBoxSettings, linf_curves: pd.DataFrame, seed: int
) -> pd.DataFrame:
    """The gradient-masking checks of Athalye et al. (2018) on ``data``
    (:func:`~advrobust.robustness.masking.gradient_masking_checks`, reading the page's PGD curve
    from ``linf_curves``, which :func:`budgeted_curves` computed with the same PGD): PGD accuracy
    does not rise with ε over ``settings.eps_linf``; at the largest ε it is below
    ``settings.zero_accuracy``; and PGD beats FGSM at ε = 0.3."""
    report = gradient_masking_checks(
        model, data.x, data.y, eps=EXAMPLE_EPS, eps_values=settings.eps_linf, large_eps=max(settings.eps_linf),
        steps=settings.pgd_steps, zero_accuracy=settings.zero_accuracy, seed=seed,
        pgd_curve=linf_curves[linf_curves["attack"] == "PGD"],
    )
    return report.checks


def distortion_table(results: Mapping[str, AttackResult]) -> pd.DataFrame:
    """Success rate and L2 / L∞ distortion statistics of each attack, one row per attack."""
    return pd.DataFrame({label: distortion_stats(r) for label, r in results.items()}).T


def broken_distortions(results: Mapping[str, AttackResult]) -> dict[str, np.ndarray]:
    """The L2 distortion of every successful adversarial example of each attack (the histogram)."""
    return {label: r.l2[r.success].cpu().numpy() for label, r in results.items()}


def table_2_2_cw(cw: AttackResult, settings: WhiteBoxSettings, profile: str) -> pd.DataFrame:
    """Table 2.2's C&W row (MNIST, untargeted L2): average and median L2 distortion and the
    success rate at ε = ``settings.sr_threshold`` (a success with L2 ≤ 1.5), beside the thesis's."""
    ours = pd.DataFrame({
        "dataset": ["MNIST"], "attack": ["C&W (white-box)"], "avg_l2": [cw.mean_l2], "median_l2": [cw.median_l2],
        "success_rate": [float((cw.success & (cw.l2 <= settings.sr_threshold)).float().mean())],
    })
    thesis = (thesis_table("table_2_2").query("dataset == 'MNIST' and attack == 'C&W (white-box)'")
              .assign(median_l2=float("nan")))
    return beside_thesis(ours, thesis, on=["dataset", "attack"], profile=profile,
                         values=["avg_l2", "median_l2", "success_rate"])


@dataclass(frozen=True)
class ExampleGrid:
    """The example figure's content: one row of images per attack, with the model's prediction."""

    images: Tensor  # (rows * columns, C, H, W): the originals, then each attack's examples
    predictions: list[int]  # the model's prediction on each image
    rows: list[str]  # "original", then each attack's label
    columns: int  # images per row

    @property
    def titles(self) -> list[str]:
        """The caption under each image: "pred k"."""
        return [f"pred {p}" for p in self.predictions]


def example_grid(
    model: nn.Module, data: TensorData, minimal: Mapping[str, AttackResult], settings: WhiteBoxSettings
) -> ExampleGrid:
    """The first ``settings.n_examples_shown`` images of ``data`` under FGSM and PGD at ε = 0.3 and
    under the minimal-distortion attacks already run on ``data``."""
    shown = settings.n_examples_shown
    x, y = data.x[:shown], data.y[:shown]
    rows = {"original": x}
    rows.update({label: spec.build(model)(x, y) for label, spec in settings.example_attacks().items()})
    rows.update({label: result.x_adv[:shown] for label, result in minimal.items()})
    images = torch.cat(list(rows.values()))
    return ExampleGrid(images, predict(model, images).tolist(), list(rows), shown)


# ------------------------------------------------------------------------------ jobs


def victim_training(config: TrainConfig, profile: str, page: str) -> Unit:
    """The unit that trains ``config`` for ``page``: when it is the white-box victim of ``profile``
    (the C&W MNIST network the soft- and hard-label pages share through the cache), the one unit
    of that run, listed under the first page that uses it (:data:`VICTIM_PAGE`)."""
    return image_training(config, chapter=VICTIM_PAGE if config == whitebox(profile).train else page)


def units(profile: str, seed: int = 0) -> list[Unit]:
    """The units the page ``ch02_white_box`` needs at ``profile``: its victim's training (the unit
    of Figure 1.1's page, :func:`victim_training`). Its attacks are white-box runs of the page
    itself (nothing cached), so none is a unit; ``seed`` does not enter."""
    return [victim_training(whitebox(profile).train, profile, "ch02_white_box")]
