"""The 3-layer ReLU network of the 2-D illustrations (Figure 2.1 and Figure 4.1)."""
from __future__ import annotations

from torch import nn

from ..registry import register


class ToyMLP(nn.Sequential):
    """2 -> hidden -> hidden -> ``num_classes`` logits with ReLUs: points (N, 2) -> logits (N, K).

    The thesis's Figure 2.1a calls it "a 3-layer neural network"; its width is not given, so
    ``hidden`` defaults to 32, enough to fit the flower of Figure 2.1 and the strips of Figure 4.1.
    """

    input_shape = (2,)

    def __init__(self, hidden: int = 32, num_classes: int = 2) -> None:
        super().__init__(
            nn.Linear(2, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, num_classes)
        )
        self.num_classes = num_classes


@register("model", "mlp_2d", family="toy")
def mlp_2d(hidden: int = 32, num_classes: int = 2) -> ToyMLP:
    """The 2-D toy network, registered so that the one trainer can train it by name."""
    return ToyMLP(hidden, num_classes)
