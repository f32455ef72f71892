"""The experiments of Chapter 4 as functions of the profile's settings (Tables 4.1-4.6).

Chapters call these; each returns a DataFrame of our numbers with the thesis's column names so
that :func:`advrobust.tables.beside_thesis` can put the thesis's numbers next to them.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import torch
from torch import nn

from ..attacks import PGD, CWLinf, DeepFool
from ..attacks.base import BudgetedAttack
from ..data import TensorData, load_dataset
from ..defenses import Defense
from ..profiles.defenses import AttackColumns, DefenseSettings
from ..robustness import (
    AutoAttack,
    WithinBudget,
    accuracy_on,
    craft_transfer_examples,
    defense_report,
)
from ..robustness.accuracy import clean_accuracy, robust_accuracy
from ..training import TrainConfig, trained_model

TABLE_4_2_COLUMNS = ("clean", "deepfool", "pgd", "cw", "pgd_restarts", "cw_restarts", "autoattack")


def train_defended(
    settings: DefenseSettings,
    defenses: Mapping[str, Defense],
    device: torch.device | str,
    *,
    config: TrainConfig | None = None,
    data_root: str | Path | None = None,
    progress: bool | None = None,
) -> dict[str, nn.Module]:
    """label -> the model trained with that defense under ``config`` (default ``settings.train``),
    from the checkpoint cache when it is there."""
    config = config or settings.train
    return {
        label: trained_model(config, device, data_root=data_root, progress=progress, defense=defense)
        for label, defense in defenses.items()
    }


def evaluation_data(
    settings: DefenseSettings, split: str, n: int, device: torch.device | str,
    data_root: str | Path | None = None, seed: int = 0,
) -> TensorData:
    """``n`` images of ``split`` (a seeded choice), on ``device``."""
    data = load_dataset(settings.dataset, split, root=data_root, device=device)
    return data.subset(n, seed) if n < len(data.y) else data


def column_attacks(model: nn.Module, columns: AttackColumns) -> dict[str, BudgetedAttack]:
    """Table 4.2's attack columns on ``model``: DeepFool (L∞, read at eps), PGD-k and C&W-k
    (step eps/5), their restarted versions, and AutoAttack."""
    eps = columns.eps
    once, restarted = columns.pgd(columns.pgd_steps), columns.pgd(columns.restart_steps, columns.restarts)
    return {
        "deepfool": WithinBudget(DeepFool(model, norm="linf", max_iter=columns.deepfool_steps), eps=eps),
        "pgd": PGD(model, **once),
        "cw": CWLinf(model, **once),
        "pgd_restarts": PGD(model, **restarted),
        "cw_restarts": CWLinf(model, **restarted),
        "autoattack": AutoAttack(model, eps=eps, **columns.autoattack),
    }


def column_names(columns: AttackColumns) -> dict[str, str]:
    """Display names of Table 4.2's columns at these settings, e.g. ``"PGD-20"``."""
    k, r, kr = columns.pgd_steps, columns.restarts, columns.restart_steps
    aa = columns.autoattack
    autoattack = "AutoAttack" + (
        "" if not {"n_target_classes", "n_queries", "steps"} & aa.keys()
        else " (" + ", ".join(f"{key}={value}" for key, value in aa.items() if key != "version") + ")"
    )
    return {"clean": "No attack", "deepfool": "DeepFool", "pgd": f"PGD{k}", "cw": f"C&W{k}",
            "pgd_restarts": f"{r} PGD{kr}", "cw_restarts": f"{r} C&W{kr}", "autoattack": autoattack}


def robustness_table(models: Mapping[str, nn.Module], data: TensorData, columns: AttackColumns) -> pd.DataFrame:
    """Table 4.2: one row per model (``method``), clean and robust accuracy under each column."""
    rows = [
        {"method": label, **defense_report(model, data.x, data.y, column_attacks(model, columns))}
        for label, model in models.items()
    ]
    return pd.DataFrame(rows, columns=["method", *TABLE_4_2_COLUMNS])


def fixed_eps_table(
    models: Mapping[float, nn.Module], train: TensorData, test: TensorData, eps: float, steps: int,
    autoattack: Mapping[str, object],
) -> pd.DataFrame:
    """Table 4.1: robust accuracy at ``eps`` on training and test images of models adversarially
    trained at each fixed eps (PGD-``steps`` with step eps/5, and AutoAttack beside it)."""
    rows = []
    for train_eps, model in models.items():
        for split, data in (("train", train), ("test", test)):
            pgd = PGD(model, eps=eps, alpha=eps / 5, steps=steps, seed=0)
            rows.append({
                "test_eps": eps, "split": split, "train_eps": train_eps,
                "clean_accuracy": clean_accuracy(model, data.x, data.y),
                "robust_accuracy": robust_accuracy(model, data.x, data.y, {"pgd": pgd}).robust_accuracy,
                "autoattack": robust_accuracy(
                    model, data.x, data.y, {"autoattack": AutoAttack(model, eps=eps, **autoattack)}
                ).robust_accuracy,
            })
    return pd.DataFrame(rows)


def transfer_table(
    source: nn.Module, targets: Mapping[str, nn.Module], data: TensorData, columns: AttackColumns
) -> pd.DataFrame:
    """Table 4.4: accuracy of each target on PGD-k examples crafted on ``source`` (the natural
    model), beside the target's white-box PGD-k accuracy on the same examples."""
    settings = columns.pgd(columns.pgd_steps)
    x_adv = craft_transfer_examples(PGD(source, **settings), data.x, data.y)
    rows = []
    for label, model in targets.items():
        white_box = robust_accuracy(model, data.x, data.y, {"pgd": PGD(model, **settings)}).robust_accuracy
        rows.append({"method": label, "transfer": accuracy_on(model, data.x, x_adv, data.y),
                     "white_box_pgd": white_box})
    return pd.DataFrame(rows)



def claims_table(table: pd.DataFrame) -> pd.DataFrame:
    """The claims of §4.2.4 checked on a Table 4.2 of ours (rows "Natural train", "Adv train",
    "TRADES", "CAT"), each under PGD-k and under AutoAttack: claim, attack, measured, holds."""
    row = table.set_index("method")
    rows = []
    for column, attack in (("pgd", "PGD"), ("autoattack", "AutoAttack")):
        natural, adv, trades, cat = (row.loc[m, column] for m in ("Natural train", "Adv train", "TRADES", "CAT"))
        rows += [
            {"claim": "adversarial training is far more robust than natural training", "attack": attack,
             "measured": f"Adv train {adv:.3f} vs Natural {natural:.3f}", "holds": adv >= natural + 0.10},
            {"claim": "CAT is more robust than adversarial training", "attack": attack,
             "measured": f"CAT {cat:.3f} vs Adv train {adv:.3f}", "holds": cat > adv},
            {"claim": "CAT is more robust than TRADES", "attack": attack,
             "measured": f"CAT {cat:.3f} vs TRADES {trades:.3f}", "holds": cat > trades},
        ]
    clean_cat, clean_adv = row.loc["CAT", "clean"], row.loc["Adv train", "clean"]
    rows.append({"claim": "CAT's clean accuracy is at least adversarial training's", "attack": "none",
                 "measured": f"CAT {clean_cat:.3f} vs Adv train {clean_adv:.3f}",
                 "holds": clean_cat >= clean_adv})
    return pd.DataFrame(rows)
