"""Normalisation layers as a family: Chapter 6's frame (thesis §6.1-6.3, Eqs. (6.1)-(6.2)).

Every CIFAR model takes ``norm_layer`` (:func:`norm_factory`): ``"bn"`` (Eq. (6.1)'s BatchNorm),
``"dual_bn"`` (AdvProp's main and auxiliary BNs, :class:`DualBatchNorm2d`) or ``"robmask"`` /
``"robmask_k<k>"`` (Eq. (6.2)'s strength-conditioned rescaling, :class:`RobMaskNorm2d`).

- :func:`norm_mode` / :func:`set_norm_mode` route every dual BN (``branch``) and set every RobMask
  layer's strength p = ε / ε_max (``strength``, a number or one per example) at once;
- :func:`interpolate_norms` / :func:`interpolate_branches` build Table 6.2's γ̂ = pγ + (1 − p)γ′;
- :func:`norm_parameters` / :func:`freeze_all_but_norm` select Table 6.1's BN-only fine-tuning.

The package sits below ``models`` (the models build their layers from it) and imports only
``errors``. The choices the thesis leaves open are stated in each module: shared running statistics
and piecewise-linear encoding for k > 2 (:mod:`.robmask`), running statistics interpolated with the
affine (:mod:`.interpolate`), an even batch split main-then-auxiliary (:mod:`.dual`).
"""
from .dual import BRANCHES, DualBatchNorm2d, auxiliary_branch
from .finetune import NORM_TYPES, freeze_all_but_norm, norm_parameters
from .interpolate import interpolate_branches, interpolate_norms
from .layers import NORM_LAYERS, NormFactory, NormSpec, norm_factory
from .mode import dual_bn_layers, norm_mode, robmask_layers, set_norm_mode
from .robmask import RobMaskNorm2d, Strength, encode_strength, strength_of

__all__ = [
    "BRANCHES",
    "auxiliary_branch",
    "NORM_LAYERS",
    "NORM_TYPES",
    "DualBatchNorm2d",
    "NormFactory",
    "NormSpec",
    "RobMaskNorm2d",
    "Strength",
    "dual_bn_layers",
    "encode_strength",
    "freeze_all_but_norm",
    "interpolate_branches",
    "interpolate_norms",
    "norm_factory",
    "norm_mode",
    "norm_parameters",
    "robmask_layers",
    "set_norm_mode",
    "strength_of",
]
