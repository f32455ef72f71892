"""The separable toy of Figure 4.1 (advrobust.toys.margin; thesis §4.1.1): its margin, and the claim
that a uniform eps beyond the margin distorts the boundary while eps below it, and CAT, do not."""
from __future__ import annotations

import pytest
import torch
from advrobust.plotting.toys import plot_toy_boundaries
from advrobust.toys import margin as toy_margin
from matplotlib import pyplot as plt


@pytest.fixture(scope="module", params=[0, 1])
def figure(request):
    seed = request.param
    return seed, toy_margin.figure_4_1_data(seed), toy_margin.figure_4_1_models(seed)


@pytest.mark.parametrize("margin", [toy_margin.MARGIN, 0.5])
def test_both_classes_keep_the_stated_linf_margin_and_reach_it(margin):
    x, y = toy_margin.separable_data(2000, margin=margin, seed=3)
    signed = toy_margin.signed_linf_margin(x)
    assert torch.equal(y, (signed > 0).long())
    assert signed.abs().min() >= margin - 1e-5
    for label in (0, 1):
        assert signed[y == label].abs().min() < margin + 0.02  # the margin is attained, not loose
    assert 0.45 < y.float().mean() < 0.55


def test_signed_linf_margin_is_the_smallest_linf_step_onto_the_boundary():
    x, _ = toy_margin.separable_data(50, seed=4)
    s = toy_margin.signed_linf_margin(x)

    def side(points):
        return torch.sign(points.sum(dim=1))

    # every step of L∞ norm just below |s| keeps the side (checked on the corners and edge midpoints,
    # where a linear function takes its extremes over the square) ...
    steps = torch.tensor([[1, 1], [1, -1], [-1, 1], [-1, -1], [1, 0], [0, 1], [-1, 0], [0, -1]]).float()
    inside = x[:, None, :] + 0.999 * s.abs()[:, None, None] * steps[None]
    assert (side(inside.reshape(-1, 2)).reshape(50, 8) == side(x)[:, None]).all()
    # ... and the step -s·(1, 1), just longer, crosses it
    assert (side(x - 1.001 * s[:, None]) == -side(x)).all()


def test_data_and_training_are_deterministic(figure):
    seed, (x, y, x_test, y_test), models = figure
    again = toy_margin.figure_4_1_data(seed)
    for first, second in zip((x, y, x_test, y_test), again):
        assert torch.equal(first, second)
    assert not torch.equal(x, toy_margin.figure_4_1_data(seed + 1)[0])
    assert len(x) == toy_margin.TRAIN_SIZE and len(x_test) == toy_margin.TEST_SIZE
    cat = toy_margin.train_toy(toy_margin.figure_4_1_defenses()[toy_margin.CAT_BEYOND_MARGIN], x, y, seed=seed)
    for a, b in zip(cat.state_dict().values(), models[toy_margin.CAT_BEYOND_MARGIN].state_dict().values()):
        assert torch.equal(a, b)


def test_eps_beyond_the_margin_distorts_the_boundary_and_cat_keeps_it(figure):
    _, (_, _, x_test, y_test), models = figure
    accuracy = {name: toy_margin.toy_accuracy(model, x_test, y_test) for name, model in models.items()}
    assert list(accuracy) == [toy_margin.NATURAL, toy_margin.AT_BELOW_MARGIN, toy_margin.AT_BEYOND_MARGIN,
                              toy_margin.CAT_BEYOND_MARGIN]
    for name in (toy_margin.NATURAL, toy_margin.AT_BELOW_MARGIN, toy_margin.CAT_BEYOND_MARGIN):
        assert accuracy[name] >= 0.97, accuracy
    assert accuracy[toy_margin.AT_BEYOND_MARGIN] <= 0.90, accuracy
    # what eps = 4 gives up is the close half of class 1, not class 0
    close = (toy_margin.signed_linf_margin(x_test) < toy_margin.MARGIN + toy_margin.CLOSE_WIDTH + 1e-4) & (y_test == 1)
    predicted = models[toy_margin.AT_BEYOND_MARGIN](x_test).argmax(dim=1)
    assert (predicted[y_test == 0] == 0).float().mean() >= 0.97
    assert (predicted[close] == 1).float().mean() <= 0.6


def test_the_figure_has_four_panels_with_the_test_accuracy(figure):
    _, (x, y, x_test, y_test), models = figure
    fig = plot_toy_boundaries(models, x, y, x_test, y_test, grid_size=101)
    titles = [ax.get_title() for ax in fig.axes]
    assert [title.split("\n")[0] for title in titles] == [
        f"({letter}) {name}" for letter, name in zip("abcd", models)]
    accuracy = toy_margin.toy_accuracy(models[toy_margin.AT_BEYOND_MARGIN], x_test, y_test)
    assert titles[2].endswith(f"test accuracy {accuracy:.3f}")
    assert all(any(line.get_linestyle() == "--" for line in ax.get_lines()) for ax in fig.axes)
    plt.close(fig)
