"""What each kind of job asks of a cluster, per profile (:mod:`advrobust.jobs`).

``paper``'s limits are per attempt, sized for one H200-class GPU; a job that runs out of time is
requeued by submitit and resumes from its checkpoint, so a limit below a unit's whole cost only
costs requeues. The longest units are the 200-epoch adversarial trainings of WRN-34-10 (Chapters
4-6) and the 160k-query ImageNet attacks (Chapter 2). ``quick`` and ``smoke`` are CPU jobs.
"""
from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from ..jobs.unit import KINDS, Resources
from .base import check_profile

_PAPER = {
    "train": Resources(gpus=1, cpus=8, minutes=12 * 60),  # image models; PGD-AT on WRN-34-10 dominates
    "text-train": Resources(gpus=1, cpus=4, minutes=4 * 60),  # the 2x500 LSTM translator and summariser
    "dialogue-train": Resources(gpus=1, cpus=4, minutes=60),  # the supervised negotiator
    "self-play": Resources(gpus=1, cpus=4, minutes=4 * 60),  # REINFORCE and adversarial training
    "attack": Resources(gpus=1, cpus=8, minutes=4 * 60),  # black-box runs up to 160k queries
    "cpu": Resources(gpus=0, cpus=16, minutes=2 * 60),  # LightGBM's GBDTs and their OPT-attack runs
}
_QUICK = {kind: Resources(gpus=0, cpus=2, minutes=60) for kind in KINDS}
_SMOKE = {kind: Resources(gpus=0, cpus=1, minutes=10) for kind in KINDS}


def job_resources(profile: str) -> Mapping[str, Resources]:
    """Resources per job kind at ``profile``."""
    return MappingProxyType({"paper": _PAPER, "quick": _QUICK, "smoke": _SMOKE}[check_profile(profile)])
