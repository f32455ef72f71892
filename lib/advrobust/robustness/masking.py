"""Sanity checks for gradient masking (Athalye, Carlini & Wagner 2018, §3.1 "ACW18").

A defense that only hides its gradients looks robust to gradient attacks while it is not. The
thesis runs the transfer test of ACW18 (§4.2.4.2, Table 4.4); the other signs listed there are
as cheap to check, so all of these run for a defended model:

1. robust accuracy does not rise when eps grows (PGD, up to a tolerance);
2. a large budget breaks (nearly) everything: accuracy at ``large_eps`` at most ``zero_accuracy``;
3. iterative beats single-step: PGD accuracy <= FGSM accuracy at ``eps`` (up to the tolerance);
4. white-box beats transfer: PGD accuracy <= accuracy under PGD examples crafted on
   ``source_model`` (up to the tolerance); skipped without a source model.

A failed check does not prove masking, and passing all of them does not prove robustness; a
failure means the white-box numbers of that model should not be trusted without stronger
(e.g. gradient-free or adaptive) attacks.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import pandas as pd
from torch import Tensor, nn

from ..attacks import FGSM, PGD
from ..errors import require
from .accuracy import robust_accuracy, robust_accuracy_curve
from .transfer import transfer_accuracy

PGD_STEP_RATIO = 2.5  # alpha = 2.5 eps / steps (Madry et al. 2018)


@dataclass(frozen=True)
class MaskingReport:
    """``checks``: one row per check (check, measured, passed); ``curve``: PGD robust accuracy
    against eps (columns of :func:`~advrobust.robustness.accuracy.robust_accuracy_curve`)."""

    checks: pd.DataFrame
    curve: pd.DataFrame

    @property
    def passed(self) -> bool:
        """True when every check passed."""
        return bool(self.checks["passed"].all())


def gradient_masking_checks(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    eps: float = 8 / 255,
    eps_values: Sequence[float] = (2 / 255, 4 / 255, 8 / 255, 16 / 255, 32 / 255),
    large_eps: float = 0.5,
    source_model: nn.Module | None = None,
    steps: int = 20,
    tolerance: float = 0.02,
    zero_accuracy: float = 0.02,
    seed: int = 0,
    batch_size: int = 256,
    pgd_curve: pd.DataFrame | None = None,
) -> MaskingReport:
    """Run the checks of the module docstring on ``model`` with L∞ PGD of ``steps`` steps.

    Args:
        eps: budget of the single-step and transfer comparisons.
        eps_values: budgets of the eps curve; ``eps`` and ``large_eps`` are added.
        large_eps: a budget that should break every example (0.5 in [0, 1] reaches mid-grey).
        source_model: model to craft transfer examples on (the thesis: a naturally trained one).
        tolerance: slack in accuracy for checks 1, 3 and 4 (sampling noise on few examples).
        zero_accuracy: largest accuracy at ``large_eps`` that still passes check 2.
        pgd_curve: this PGD's robust accuracy curve (columns of
            :func:`~advrobust.robustness.accuracy.robust_accuracy_curve`) when the caller has already
            computed it on the same examples with the same settings; it must hold every budget.
    """
    require(all(e > 0 for e in eps_values) and eps > 0, "budgets must be > 0")
    require(large_eps >= max([eps, *eps_values]), "large_eps must be the largest budget")

    def pgd(on: nn.Module, budget: float) -> PGD:
        return PGD(on, eps=budget, alpha=PGD_STEP_RATIO * budget / steps, steps=steps, seed=seed)

    budgets = sorted({*map(float, eps_values), float(eps), float(large_eps)})
    if pgd_curve is None:
        curve = robust_accuracy_curve(model, x, y, lambda e: pgd(model, e), budgets, batch_size=batch_size)
    else:
        curve = pgd_curve.sort_values("eps").reset_index(drop=True)
        missing = sorted(set(budgets) - set(curve["eps"].astype(float)))
        require(not missing, f"the PGD curve given lacks the budgets {missing}")
    accuracy = dict(zip(curve["eps"], curve["robust_accuracy"]))
    path = [float(curve["clean_accuracy"].iloc[0]), *curve["robust_accuracy"]]
    rise = max(later - earlier for earlier, later in pairwise(path))
    fgsm = robust_accuracy(model, x, y, [FGSM(model, eps=eps)], batch_size=batch_size).robust_accuracy
    pgd_name = f"PGD-{steps}"
    rows = [
        _row(
            "accuracy falls as eps grows",
            f"largest rise of {pgd_name} accuracy over eps {budgets[0]:.4g}..{large_eps:.4g}: "
            f"{rise:+.3f} (tolerance {tolerance})",
            rise <= tolerance,
        ),
        _row(
            "large eps breaks everything",
            f"{pgd_name} accuracy at eps {large_eps:.4g}: {accuracy[large_eps]:.3f} "
            f"(threshold {zero_accuracy})",
            accuracy[large_eps] <= zero_accuracy,
        ),
        _row(
            "iterative beats single-step",
            f"{pgd_name} {accuracy[eps]:.3f} vs FGSM {fgsm:.3f} at eps {eps:.4g}",
            accuracy[eps] <= fgsm + tolerance,
        ),
    ]
    if source_model is not None:
        transfer = transfer_accuracy(pgd(source_model, eps), model, x, y, batch_size=batch_size)
        rows.append(
            _row(
                "white-box beats transfer",
                f"{pgd_name} {accuracy[eps]:.3f} vs transfer {transfer:.3f} at eps {eps:.4g}",
                accuracy[eps] <= transfer + tolerance,
            )
        )
    return MaskingReport(pd.DataFrame(rows, columns=["check", "measured", "passed"]), curve)


def _row(check: str, measured: str, passed: bool) -> dict[str, object]:
    return {"check": check, "measured": measured, "passed": bool(passed)}
