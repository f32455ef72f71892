"""Cross-checks against the peer libraries on one small seeded CNN (1x28x28 inputs, 10 classes).

torchattacks 3.5.1 implements FGSM and PGD with the same update, projection and clipping order,
so without random starts the outputs must agree element-wise. Foolbox 3.3.4's C&W L2 solves the
same problem (tanh variables, Adam, binary search over c) with matched settings, so its median
distortion must be within 10 %; its DeepFool uses the same step, so outputs must agree.
"""
from __future__ import annotations

import foolbox
import pytest
import torch
import torchattacks
from _attack_fixtures import tiny_cnn
from advrobust.attacks import FGSM, PGD, PGDL2, CarliniWagnerL2, DeepFool


@pytest.fixture(scope="module")
def setup():
    model = tiny_cnn().eval()
    x = torch.rand(16, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        y = model(x).argmax(dim=1)  # every example starts correctly classified
    assert len(y.unique()) > 1
    return model, x, y


def test_fgsm_matches_torchattacks(setup) -> None:
    model, x, y = setup
    ours = FGSM(model, eps=8 / 255)(x, y)
    theirs = torchattacks.FGSM(model, eps=8 / 255)(x, y)
    assert (ours != x).any()
    torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=0)


def test_pgd_matches_torchattacks(setup) -> None:
    model, x, y = setup
    settings = dict(eps=8 / 255, alpha=2 / 255, steps=10, random_start=False)
    ours = PGD(model, **settings)(x, y)
    theirs = torchattacks.PGD(model, **settings)(x, y)
    torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=0)


def test_pgd_l2_matches_torchattacks(setup) -> None:
    model, x, y = setup
    settings = dict(eps=0.5, alpha=0.1, steps=10, random_start=False)
    ours = PGDL2(model, **settings)(x, y)
    theirs = torchattacks.PGDL2(model, **settings)(x, y)
    torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=0)


def test_cw_l2_median_distortion_matches_foolbox(setup) -> None:
    model, x, y = setup
    settings = dict(binary_search_steps=5, steps=100, initial_const=0.1, abort_early=False)
    ours = CarliniWagnerL2(model, lr=1e-2, kappa=0.0, **settings).run(x, y)
    attack = foolbox.attacks.L2CarliniWagnerAttack(stepsize=1e-2, confidence=0.0, **settings)
    _, theirs, _ = attack(foolbox.PyTorchModel(model, bounds=(0, 1)), x, y, epsilons=None)
    their_success = model(theirs).argmax(dim=1) != y
    assert ours.success.all() and their_success.all()
    their_median = float((theirs - x).flatten(1).norm(dim=1).median())
    assert ours.median_l2 == pytest.approx(their_median, rel=0.10)


def test_deepfool_matches_foolbox(setup) -> None:
    model, x, y = setup
    ours = DeepFool(model, overshoot=0.02, max_iter=50)(x, y)
    attack = foolbox.attacks.L2DeepFoolAttack(steps=50, candidates=None, overshoot=0.02)
    _, theirs, _ = attack(foolbox.PyTorchModel(model, bounds=(0, 1)), x, y, epsilons=None)
    torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=0)
