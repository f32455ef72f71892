"""AdvProp's dual batch normalisation (Xie et al. 2020, "XTG20"), the baseline of thesis §6.3-6.4.

AdvProp gives adversarial examples an *auxiliary* BatchNorm with its own running statistics and
its own affine (γ, β), while clean examples keep the *main* one (thesis §6.3, "Connection with
AdvProp"; Table 6.3's "AdvProp" column). :class:`DualBatchNorm2d` is the ``MixBatchNorm2d`` of the
AdvProp reimplementation the thesis follows (tingxueronghua/pytorch-classification-advprop): it
*is* the main ``nn.BatchNorm2d`` (its ``weight``, ``bias`` and running statistics keep a plain BN
model's state-dict keys) and holds the auxiliary one as ``aux_bn``.

A routing mode (:data:`BRANCHES`) says which BN a forward pass uses; that repository's names are in
brackets:

- ``"main"`` (``clean``): the whole batch through the main BN, the default and the test-time mode;
- ``"aux"`` (``adv``): the whole batch through the auxiliary BN (AdvProp attacks in this mode);
- ``"split"`` (``mix``): the first half of the batch through the main BN, the second half through
  the auxiliary one, each half normalised with its own batch statistics and updating only its own
  BN's running statistics. The batch must have an even size (clean examples, then their
  adversarial twins); the reference code sends ``N // 2`` examples to the main BN for any ``N``.

Set the mode of every layer of a model at once with :func:`advrobust.norms.norm_mode`.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from ..errors import require

BRANCHES = ("main", "aux", "split")


def check_branch(branch: str) -> str:
    """``branch`` if it is one of :data:`BRANCHES`, else a one-line ConfigError."""
    require(branch in BRANCHES, f"unknown dual_bn branch {branch!r}; use one of {', '.join(BRANCHES)}")
    return branch


class DualBatchNorm2d(nn.BatchNorm2d):
    """A main BatchNorm2d (this module) and an auxiliary one (``aux_bn``), routed by ``branch``.

    Both BNs have separate running statistics and separate affine parameters, initialised alike
    (γ = 1, β = 0, mean 0, variance 1). With ``branch == "main"`` the layer is exactly the
    ``nn.BatchNorm2d`` it subclasses.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1) -> None:
        super().__init__(num_features, eps=eps, momentum=momentum)
        self.aux_bn = nn.BatchNorm2d(num_features, eps=eps, momentum=momentum)
        self._branch = "main"

    @property
    def branch(self) -> str:
        """Which BN the next forward uses: ``"main"``, ``"aux"`` or ``"split"``."""
        return self._branch

    @branch.setter
    def branch(self, value: str) -> None:
        self._branch = check_branch(value)

    def forward(self, x: Tensor) -> Tensor:
        if self._branch == "main":
            return super().forward(x)
        if self._branch == "aux":
            return self.aux_bn(x)
        half, odd = divmod(x.shape[0], 2)
        require(not odd,
                f"dual_bn split mode needs an even batch (clean, then adversarial), got {x.shape[0]}")
        return torch.cat([super().forward(x[:half]), self.aux_bn(x[half:])])

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, branch={self._branch}"
