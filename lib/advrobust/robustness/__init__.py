"""Robustness evaluation: the one home of accuracy, robust accuracy and the checks of thesis
§4.2.4.2 (Tables 4.2 and 4.4, Figure 4.2) and §5.3.4 (Tables 5.4 and 5.9, Figure 5.3).

* :mod:`.accuracy`: clean accuracy, predictions, the AutoAttack-style worst case over an attack
  list (:func:`robust_accuracy`), distortion statistics and accuracy-versus-eps curves;
* :class:`AutoAttack` (registered as attack ``"autoattack"``): a column added to Table 4.2;
* :func:`defense_report` and :class:`WithinBudget`: Table 4.2's independent columns, DeepFool
  read at the eps budget (:func:`defense_columns`: also which examples each column kept);
* :func:`craft_transfer_examples`, :func:`accuracy_on`, :func:`transfer_accuracy`: Table 4.4;
* :func:`loss_landscape`: Figure 4.2;
* :func:`gradient_masking_checks`: the sanity checks of Athalye et al. (2018);
* :class:`InvarianceTransforms`, :func:`invariance_accuracy`: Table 5.4;
* :func:`gradient_similarity_table`, :func:`gradient_cosine`: Table 5.9;
* :func:`budget_curve`: Figure 5.3, robust accuracy against an L2 budget from one C&W-L2 run.
"""
from .accuracy import (
    RobustReport,
    choose_correct,
    clean_accuracy,
    correctly_classified,
    distortion_stats,
    model_device,
    one_per_class,
    predict,
    robust_accuracy,
    robust_accuracy_curve,
    top1,
)
from .autoattack import AutoAttack
from .budget_curve import BudgetCurve, accuracy_at_budgets, budget_curve, minimal_distances
from .columns import WithinBudget, defense_columns, defense_report
from .gradient_similarity import (
    gradient_cosine,
    gradient_similarity_table,
    input_gradient,
    pair_name,
    pairwise_gradient_cosines,
)
from .invariance import InvarianceTransforms, channel_mean_gray, invariance_accuracy
from .landscape import LossLandscape, loss_landscape
from .masking import MaskingReport, gradient_masking_checks
from .transfer import accuracy_on, craft_transfer_examples, transfer_accuracy

__all__ = [
    "RobustReport",
    "choose_correct",
    "clean_accuracy",
    "correctly_classified",
    "distortion_stats",
    "model_device",
    "one_per_class",
    "predict",
    "robust_accuracy",
    "robust_accuracy_curve",
    "top1",
    "AutoAttack",
    "LossLandscape",
    "MaskingReport",
    "WithinBudget",
    "accuracy_on",
    "craft_transfer_examples",
    "defense_columns",
    "defense_report",
    "gradient_masking_checks",
    "loss_landscape",
    "transfer_accuracy",
    "BudgetCurve",
    "accuracy_at_budgets",
    "budget_curve",
    "minimal_distances",
    "gradient_cosine",
    "gradient_similarity_table",
    "input_gradient",
    "pair_name",
    "pairwise_gradient_cosines",
    "InvarianceTransforms",
    "channel_mean_gray",
    "invariance_accuracy",
]
