"""§2.4.1-2.4.3 (Figures 2.1-2.4): the hard-label objective g(θ) on three classifiers of the plane.

The three classifiers of the figures (a 3-layer ReLU network, the circle ‖x‖² ≥ 0.4 and a GBDT),
their g(θ) by dense ray search (:mod:`advrobust.toys.hard_label_2d`), and the page's checks:
how continuous g is, Algorithm 2 against the dense search, and how often the single query
(2.17) gives the true sign of the change of g.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import torch

from ..blackbox.oracle import HardLabelOracle
from ..blackbox.search import local_search
from ..jobs import Unit
from ..models import ToyMLP
from ..profiles.base import check_profile
from ..toys import hard_label_2d as toy2d

NETWORK, CIRCLE, TREE = "3-layer network", "circle ‖x‖² ≥ 0.4", "GBDT"  # the classifiers' names on the page


@dataclass(frozen=True)
class Case:
    """One classifier of the page, its point x0 and g(θ) for x0 at 720 angles."""

    classify: toy2d.Classifier  # (N, 2) points -> (N,) labels
    x0: tuple[float, float]  # the attacked point (the star of the figures)
    y0: int  # its label
    g: toy2d.Objective1D  # g(θ) of (2.13) at 720 angles, by dense search and bisection


@dataclass(frozen=True)
class Classifiers:
    """The three classifiers of Figures 2.1-2.4."""

    network: ToyMLP  # Figure 2.1's network (its logits give the C&W loss of panel b)
    train_accuracy: float  # the network's accuracy on its training points
    regions: toy2d.Grid2D  # the network's decision regions
    circle_error: float  # largest gap between the ray search and the closed form of the circle's g
    cases: dict[str, Case]  # NETWORK, CIRCLE, TREE -> the classifier with its x0 and g


def classifiers(seed: int, network_x0: tuple[float, float] = (0.1, 0.05),
                circle_x0: tuple[float, float] = (0.2, 0.1)) -> Classifiers:
    """Train the flower network (Figure 2.1) and the GBDT on circle-labelled points (Figure 2.3b),
    both seeded, and compute g for each classifier (the circle and the GBDT share ``circle_x0``)."""
    x_train, y_train = toy2d.flower_dataset(seed=seed)
    network = toy2d.train_mlp(x_train, y_train, seed=seed)
    labels = toy2d.labels_of(network)
    x_tree, y_tree = toy2d.circle_dataset(seed=seed)
    tree = toy2d.gbdt_classifier(toy2d.train_gbdt_2d(x_tree, y_tree, seed=seed))
    cases = {CIRCLE: _case(toy2d.circle_classifier, circle_x0), NETWORK: _case(labels, network_x0),
             TREE: _case(tree, circle_x0)}
    circle = cases[CIRCLE].g
    exact = toy2d.circle_distance(torch.tensor(circle.x0), torch.from_numpy(circle.theta))
    return Classifiers(
        network=network,
        train_accuracy=float((labels(x_train) == y_train).double().mean()),
        regions=toy2d.evaluate_on_grid(labels),
        circle_error=float((exact - torch.from_numpy(circle.g)).abs().max()),
        cases=cases,
    )


def _case(classify: toy2d.Classifier, x0: tuple[float, float]) -> Case:
    y0 = int(classify(torch.tensor([x0]))[0])
    return Case(classify, x0, y0, toy2d.objective_over_angles(classify, x0))


def loss_surfaces(toys: Classifiers) -> tuple[toy2d.Grid2D, toy2d.Grid2D]:
    """Figure 2.1 (b), (c): the C&W loss (2.6) with κ = ∞ for the network's x0, on its logits L(Z(x))
    and on its one-hot decision L(f(x))."""
    case = toys.cases[NETWORK]
    return (toy2d.evaluate_on_grid(lambda p: toy2d.cw_loss(toys.network(p), case.y0, kappa=math.inf)),
            toy2d.evaluate_on_grid(lambda p: toy2d.hard_label_loss(case.classify(p), case.y0, kappa=math.inf)))


@dataclass(frozen=True)
class Continuity:
    """g on refined grids of angles, and the GBDT's largest jump resolved."""

    jumps: pd.DataFrame  # rows: the number of angles; columns: classifiers; the largest jump of g
    shrink: pd.Series  # per classifier, the first row's jump over the last row's
    tree_jump: toy2d.Jump  # the GBDT's largest jump on the finest grid, zoomed on


def continuity(toys: Classifiers, counts: Sequence[int] = (180, 720, 2880), steps: int = 400) -> Continuity:
    """The largest change of g between neighbouring angles for ``counts`` angles in [0, 2π): it
    shrinks with the spacing where g is continuous and keeps its size at a discontinuity."""
    refined = {name: [toy2d.objective_over_angles(case.classify, case.x0, count=n, steps=steps) for n in counts]
               for name, case in toys.cases.items()}
    jumps = pd.DataFrame({name: [g.largest_jump() for g in series] for name, series in refined.items()},
                         index=pd.Index(list(counts), name="angles"))
    tree_jump = toy2d.zoom_on_largest_jump(toys.cases[TREE].classify, refined[TREE][-1], steps=steps)
    return Continuity(jumps, jumps.iloc[0] / jumps.iloc[-1], tree_jump)


def algorithm_2_table(
    toys: Classifiers, degrees: Sequence[float], start: float = 0.5, tolerance: float = 1e-4
) -> pd.DataFrame:
    """g(θ) of the network at ``degrees`` by Algorithm 2 (the library's
    :func:`~advrobust.blackbox.search.local_search`, from v = ``start``) through a counting
    hard-label oracle, beside the dense search, with the queries spent."""
    case = toys.cases[NETWORK]
    rows = len(degrees)
    angles = torch.tensor([math.radians(d) for d in degrees], dtype=torch.float64)
    oracle = HardLabelOracle(toys.network, torch.tensor([case.x0]).repeat(rows, 1), torch.full((rows,), case.y0),
                             budget=10_000, bounds=(-10.0, 10.0))
    directions = toy2d.unit_vectors(angles).float()
    g = local_search(oracle, torch.arange(rows), directions, torch.full((rows,), start), tolerance)
    table = pd.DataFrame({
        "θ": [f"{d}°" for d in degrees],
        "g, dense search": [case.g.at(float(a)) for a in angles],
        "g, Algorithm 2": g.tolist(),
        "queries": oracle.queries.tolist(),
    })
    table["difference"] = (table["g, Algorithm 2"] - table["g, dense search"]).abs()
    return table


def single_query_signs(toys: Classifiers, theta: float, perturbed: dict[str, float]) -> dict[str, int]:
    """Eq. (2.17) on the network: for each perturbed direction (label -> angle), the sign read from
    one query at the old distance g(``theta``): +1 still class y0 (g grows), -1 adversarial."""
    case = toys.cases[NETWORK]
    signs = toy2d.single_query_sign(case.classify, case.x0, case.y0, case.g.at(theta),
                                    torch.tensor(list(perturbed.values())))
    return {label: int(sign) for label, sign in zip(perturbed, signs)}


def agreement_table(toys: Classifiers, shifts: Sequence[int] = (1, 5, 20)) -> pd.DataFrame:
    """Share of angle pairs θ, θ + εu (``shift`` grid steps apart) where the single query (2.17)
    gives the true sign of g(θ + εu) - g(θ), per classifier."""
    step = 360 / len(toys.cases[NETWORK].g.theta)
    return pd.DataFrame(
        {name: [toy2d.single_query_agreement(case.classify, case.g, shift) for shift in shifts]
         for name, case in toys.cases.items()},
        index=pd.Index([f"{shift * step:g}°" for shift in shifts], name="angle between θ and θ + εu"),
    )


# ------------------------------------------------------------------------------ jobs


def units(profile: str, seed: int = 0) -> list[Unit]:
    """The units the page ``ch02_hard_label_objective`` needs at ``profile``: none. Its network and
    GBDT of the plane train in seconds on every run of the page (:func:`classifiers`, nothing
    cached), and its searches are the page's own."""
    check_profile(profile)
    return []
