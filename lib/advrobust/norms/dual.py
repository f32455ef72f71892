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

Table 6.6's "AdvProp with 2 auxiliary BNs" (one per perturbation strength, 8/255 and 4/255) is the
same layer with ``auxiliaries=2`` (norm layer ``"dual_bn_aux2"``): the second auxiliary BN is
``aux_bn2`` and its branch ``"aux2"`` (:func:`auxiliary_branch`).

Set the mode of every layer of a model at once with :func:`advrobust.norms.norm_mode`.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from ..errors import require

BRANCHES = ("main", "aux", "split")  # the branches of every dual BN; "aux2", ... with more auxiliaries


def auxiliary_branch(j: int) -> str:
    """The branch of auxiliary BN ``j`` (1-based): ``"aux"``, ``"aux2"``, ``"aux3"``, ..."""
    return "aux" if j == 1 else f"aux{j}"


def check_branch(branch: str, auxiliaries: int = 1) -> str:
    """``branch`` if a dual BN with ``auxiliaries`` auxiliary BNs has it, else a one-line ConfigError."""
    known = ("main", "split", *(auxiliary_branch(j) for j in range(1, auxiliaries + 1)))
    require(branch in known, f"unknown dual_bn branch {branch!r}; use one of {', '.join(known)}")
    return branch


class DualBatchNorm2d(nn.BatchNorm2d):
    """A main BatchNorm2d (this module) and ``auxiliaries`` auxiliary ones (``aux_bn``, then
    ``aux_bn2``, ...), routed by ``branch``.

    Every BN has its own running statistics and affine parameters, initialised alike (γ = 1,
    β = 0, mean 0, variance 1). With ``branch == "main"`` the layer is exactly the
    ``nn.BatchNorm2d`` it subclasses.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, auxiliaries: int = 1) -> None:
        require(isinstance(auxiliaries, int) and auxiliaries >= 1, f"need auxiliaries >= 1, got {auxiliaries!r}")
        super().__init__(num_features, eps=eps, momentum=momentum)
        self.aux_bn = nn.BatchNorm2d(num_features, eps=eps, momentum=momentum)
        for j in range(2, auxiliaries + 1):
            self.add_module(f"aux_bn{j}", nn.BatchNorm2d(num_features, eps=eps, momentum=momentum))
        self.auxiliaries = auxiliaries
        self._branch = "main"

    def auxiliary(self, j: int = 1) -> nn.BatchNorm2d:
        """Auxiliary BN ``j`` (1-based)."""
        module = getattr(self, "aux_bn" if j == 1 else f"aux_bn{j}")
        assert isinstance(module, nn.BatchNorm2d)
        return module

    @property
    def branch(self) -> str:
        """Which BN the next forward uses: ``"main"``, ``"aux"`` (``"aux2"``, ...) or ``"split"``."""
        return self._branch

    @branch.setter
    def branch(self, value: str) -> None:
        self._branch = check_branch(value, self.auxiliaries)

    def forward(self, x: Tensor) -> Tensor:
        if self._branch == "main":
            return super().forward(x)
        if self._branch.startswith("aux"):
            out: Tensor = self.auxiliary(int(self._branch[3:] or 1))(x)
            return out
        half, odd = divmod(x.shape[0], 2)
        require(not odd,
                f"dual_bn split mode needs an even batch (clean, then adversarial), got {x.shape[0]}")
        return torch.cat([super().forward(x[:half]), self.aux_bn(x[half:])])

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, branch={self._branch}"
