"""RobMask's normalisation layer (thesis §6.3, Eq. (6.2), Algorithm 10).

§6.2 finds that BN's rescaling (γ, β of Eq. (6.1)), followed by ReLU, acts as a mask on features
("Adversarial Masking") and that different perturbation strengths want different masks. RobMask
learns them jointly: each BN layer keeps one normalisation and generates its rescaling from the
perturbation strength ε_i = p_i ε_max (Eq. (6.2)),

    γ_i = Σ_j u_ij w_j = W_γ u_i,    β_i = W_β u_i,    u_i = Encode(p_i) ∈ R^k,

with learnable C×k matrices W_γ (the thesis's W) and W_β (its W′). Choices the thesis leaves open,
resolved here:

- **Statistics.** Only γ and β depend on the strength: the layer is a BatchNorm without its own
  affine, its running mean and variance shared by every strength (§6.3 argues from Figure 6.1 that
  the statistics barely differ). A forward pass normalises with the batch statistics of the whole
  call (train mode) or the running ones (eval mode), whatever mix of strengths the batch holds;
  the trainer decides whether clean and adversarial examples go through separate calls.
- **Encoding.** The thesis gives k = 2: u_0 = (1, 0), u_εmax = (0, 1) and u_p = (1 − p, p).
  For k > 2 its formula u_p = (1 − p) u_0 + p u_εmax would leave the middle columns unused, so
  :func:`encode_strength` interpolates piecewise-linearly between adjacent columns at the knots
  0, 1/(k−1), ..., 1 (column j is the mask of p = j/(k−1)); for k = 2 this is the thesis's u_p.
- **Initialisation.** Every column of W_γ is 1 and every column of W_β is 0, so a new layer is a
  freshly initialised BatchNorm at every strength.
- **Per-example strength.** ``strength`` is a number p ∈ [0, 1] for the whole batch or an (N,)
  tensor, one p per example, so one batch can mix clean (p = 0) and adversarial examples.

With k = 2 the layer has as many parameters as AdvProp's dual BN (2 × 2C), and with W's columns
copied from a dual BN's main and auxiliary affine it reproduces that layer's affine at p = 0 and 1
(the thesis: "AdvProp can be considered as one special case of RobMask"). The strength is a mode,
not a parameter: it is not saved in the state dict; the default is p = 0 (clean). Set every
layer's strength at once with :func:`advrobust.norms.norm_mode`.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import require

Strength = float | Tensor  # p = ε / ε_max in [0, 1]: one number, or one per example (N,)


def check_k(k: int) -> int:
    """``k`` if RobMask can use it (k >= 2 basis columns), else a one-line ConfigError."""
    require(isinstance(k, int) and k >= 2, f"RobMask needs k >= 2 basis columns, got {k!r}")
    return k


def check_strength(p: Strength) -> Strength:
    """``p`` if it is a valid strength (a number or a 0-d/(N,) float tensor in [0, 1])."""
    if isinstance(p, Tensor):
        require(p.dim() <= 1 and p.is_floating_point(),
                f"a RobMask strength tensor must be a float scalar or (N,), got {p.dtype} {tuple(p.shape)}")
        require(p.numel() > 0 and bool((p >= 0).all() and (p <= 1).all()),
                "RobMask strengths p = eps / eps_max must lie in [0, 1]")
        return p
    require(isinstance(p, (int, float)) and 0.0 <= p <= 1.0,
            f"RobMask strength p = eps / eps_max must lie in [0, 1], got {p!r}")
    return float(p)


def strength_of(epsilon: float, epsilon_max: float) -> float:
    """p = ε / ε_max, the strength that Eq. (6.2) encodes (ε in [0, ε_max], ε_max > 0)."""
    require(epsilon_max > 0 and 0 <= epsilon <= epsilon_max,
            f"need 0 <= eps <= eps_max and eps_max > 0, got eps={epsilon}, eps_max={epsilon_max}")
    return epsilon / epsilon_max


def encode_strength(p: Strength, k: int = 2) -> Tensor:
    """u_p ∈ R^k of Eq. (6.2): (k,) for a number or 0-d tensor, (N, k) for an (N,) tensor.

    Piecewise-linear between adjacent basis columns at knots j/(k−1): for k = 2, u_p = (1 − p, p).
    Exact at the knots (p = 0 gives (1, 0, ..., 0), p = 1 gives (0, ..., 0, 1)).
    """
    check_k(k)
    check_strength(p)
    p_t = p if isinstance(p, Tensor) else torch.tensor(p, dtype=torch.get_default_dtype())
    position = p_t * (k - 1)
    lower = position.floor().clamp(max=k - 2)
    frac = (position - lower).unsqueeze(-1)
    index = lower.long()
    one_hot = F.one_hot(index, k).to(p_t.dtype)
    after = F.one_hot(index + 1, k).to(p_t.dtype)
    return (1 - frac) * one_hot + frac * after


class RobMaskNorm2d(nn.BatchNorm2d):
    """BatchNorm2d (shared running statistics, no affine of its own) with γ = W_γ u_p, β = W_β u_p.

    ``w_gamma`` and ``w_beta`` are the (C, k) matrices W and W′ of Eq. (6.2); ``strength`` is p.
    A scalar p runs the same kernel as ``nn.BatchNorm2d`` with affine (γ, β), so at a knot the
    output is bit-identical to a BN whose affine is that column; an (N,) p normalises once and
    applies each example's own (γ, β).
    """

    def __init__(self, num_features: int, k: int = 2, eps: float = 1e-5, momentum: float = 0.1) -> None:
        super().__init__(num_features, eps=eps, momentum=momentum, affine=False)
        self.k = check_k(k)
        self.w_gamma = nn.Parameter(torch.ones(num_features, k))
        self.w_beta = nn.Parameter(torch.zeros(num_features, k))
        self._strength: Strength = 0.0

    @property
    def strength(self) -> Strength:
        """p = ε / ε_max of the next forward: a number, or an (N,) tensor (one per example)."""
        return self._strength

    @strength.setter
    def strength(self, value: Strength) -> None:
        self._strength = check_strength(value)

    def rescaling(self, p: Strength | None = None) -> tuple[Tensor, Tensor]:
        """(γ, β) at strength ``p`` (default: the layer's): (C,) each, or (N, C) for an (N,) p."""
        p = self._strength if p is None else check_strength(p)
        if isinstance(p, Tensor):
            p = p.to(device=self.w_gamma.device, dtype=self.w_gamma.dtype)
        u = encode_strength(p, self.k)
        if not isinstance(p, Tensor):
            u = u.to(device=self.w_gamma.device, dtype=self.w_gamma.dtype)
        return u @ self.w_gamma.T, u @ self.w_beta.T

    def forward(self, x: Tensor) -> Tensor:
        self._check_input_dim(x)
        gamma, beta = self.rescaling()
        if gamma.dim() == 1:
            return self._normalise(x, gamma, beta)
        require(gamma.shape[0] == x.shape[0],
                f"per-example RobMask strengths: {gamma.shape[0]} for a batch of {x.shape[0]}")
        out = self._normalise(x, None, None)
        return out * gamma[:, :, None, None] + beta[:, :, None, None]

    def _normalise(self, x: Tensor, weight: Tensor | None, bias: Tensor | None) -> Tensor:
        """``nn.BatchNorm2d.forward`` with the given affine (running-statistics logic unchanged)."""
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked)
        batch_stats = self.training or (self.running_mean is None and self.running_var is None)
        use_running = not self.training or self.track_running_stats
        return F.batch_norm(
            x,
            self.running_mean if use_running else None,
            self.running_var if use_running else None,
            weight, bias, batch_stats, factor, self.eps,
        )

    def extra_repr(self) -> str:
        p = self._strength
        shown = f"tensor{tuple(p.shape)}" if isinstance(p, Tensor) else f"{p:g}"
        return f"{super().extra_repr()}, k={self.k}, strength={shown}"
