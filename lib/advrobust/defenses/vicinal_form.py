"""Table 5.1 as data: every defense declares its row of the vicinal-risk frame (5.4).

Table 5.1 writes each robust-training method as the four ingredients of Eq. (5.4): the map g of
the predicted probabilities, the map h of the labels, the virtual sample x~ and the virtual label
y~, and says whether x~ comes from an attack run during training. Each
:class:`~advrobust.defenses.Defense` returns its row from
:meth:`~advrobust.defenses.Defense.vicinal_form` (the row follows its settings: SPROUT's switches
and label rule, CAT's ablations), and :func:`vicinal_risk_table` collects the rows of every
registered defense, so the table is generated from the code that trains.

The strings use the thesis's notation: ``I`` the identity, ``PGD_ε(x)`` a multi-step PGD attack of
radius ε, ``N(x, Δ²)`` Gaussian augmentation, ``u`` the uniform vector 1/K, ``λ`` the mixup
weight, ``β`` a Dirichlet parameter. A row describes the family, not every term of the objective:
TRADES' row is the thesis's reading of its KL term, and CAT's margin term (4.6) has no column.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..registry import available, create

if TYPE_CHECKING:
    import pandas as pd

IDENTITY = "I"  # g or h = I: the identity map
# The columns of :func:`vicinal_risk_table`, as Table 5.1 heads them.
TABLE_COLUMNS = ("method", "g", "h", "x̃", "ỹ", "attack-specific")


@dataclass(frozen=True)
class VicinalForm:
    """One row of Table 5.1: a defense written as g, h, x~, y~ of Eq. (5.4)."""

    method: str  # the row's name, as Table 5.1 (or Table 4.6, Figure 5.5) writes it
    citation: str  # the thesis's citation key, e.g. "ZCD18"; "ours" for the thesis's methods; "" for none
    g: str  # g(·), the map of the predicted probabilities
    h: str  # h(·), the map of the label distribution
    x: str  # x~, the virtual sample
    y: str  # y~, the virtual label
    attack_specific: bool  # whether x~ comes from an attack run during training

    def row(self) -> dict[str, str | bool]:
        """The row under :data:`TABLE_COLUMNS`, the citation in brackets after the method as
        Table 5.1 prints it ("GA (ZNR17)")."""
        method = f"{self.method} ({self.citation})" if self.citation else self.method
        values = (method, self.g, self.h, self.x, self.y, self.attack_specific)
        return dict(zip(TABLE_COLUMNS, values, strict=True))


def vicinal_risk_table() -> pd.DataFrame:
    """Table 5.1 for every registered defense, each created with its default settings: one row
    per registry name (the index, named ``defense``), columns :data:`TABLE_COLUMNS`."""
    import pandas as pd  # only here: importing the defenses stays free of pandas

    names = available("defense")
    rows = [create("defense", name).vicinal_form().row() for name in names]
    return pd.DataFrame(rows, index=pd.Index(names, name="defense"), columns=list(TABLE_COLUMNS))
