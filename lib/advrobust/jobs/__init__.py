"""Reproduction at scale: every expensive step of the book as a job on an existing engine.

A :class:`~.unit.Unit` is one cached product (a trained model, a finished attack run) with the
units it needs; each chapter's experiments module lists the units its profile needs; a
:class:`~.plan.Plan` orders them; :mod:`.execute` runs a plan in this process or as submitit jobs
(on this machine, or on a Slurm cluster). The chapters then execute against the filled cache.
"""
from .plan import Plan
from .unit import Resources, Unit

__all__ = ["Plan", "Resources", "Unit"]
