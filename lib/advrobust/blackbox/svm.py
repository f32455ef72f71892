"""The SVM-OPT gradient estimate: the hard-margin SVM (2.19) on the single-query signs (Algorithm 5).

Given directions u_q and signs y_q = sign(<∇g, u_q>) from the single-query oracle (2.17), the
gradient estimate is the smallest vector consistent with every sign:

    min_z  zᵀz   s.t.  y_q zᵀu_q ≥ 1,  q = 1..Q.

(2.19) as printed reads zᵀu_q ≥ y_q; the text calls it a hard-constraint SVM whose training
points are the u_q with labels y_q, which is the form above.) Its dual is a non-negative
quadratic programme, max_a Σ a_q - ½‖Σ a_q y_q u_q‖², a ≥ 0, with z = Σ a_q y_q u_q; we solve it
for all rows at once by accelerated projected gradient (FISTA) on the Q×Q Gram matrices, where
the official code uses a coordinate-descent solver one example at a time.
"""
from __future__ import annotations

import torch
from torch import Tensor


def hard_margin_direction(u: Tensor, signs: Tensor, iterations: int = 300) -> Tensor:
    """(R, ...) the minimum-norm z with signs (R, Q) · zᵀu (R, Q, ...) ≥ 1, by FISTA on the dual."""
    points = (signs[..., None] * u.flatten(2)).double()  # (R, Q, D): y_q u_q
    gram = points @ points.transpose(1, 2)  # (R, Q, Q)
    lipschitz = torch.linalg.eigvalsh(gram)[:, -1].clamp_min(1e-12)[:, None]
    a = torch.zeros(gram.shape[:2], dtype=gram.dtype, device=gram.device)
    momentum_point, t = a.clone(), 1.0
    for _ in range(iterations):
        gradient = (gram @ momentum_point[..., None]).squeeze(-1) - 1.0
        a_next = (momentum_point - gradient / lipschitz).clamp_min(0.0)
        t_next = (1 + (1 + 4 * t * t) ** 0.5) / 2
        momentum_point = a_next + (t - 1) / t_next * (a_next - a)
        a, t = a_next, t_next
    z = (a[..., None] * points).sum(dim=1)
    return z.to(u.dtype).view(u.shape[0], *u.shape[2:])
