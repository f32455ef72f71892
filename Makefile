# Two commands on a fresh machine: `make book` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PROFILE ?= quick
DEVICE ?= auto
# make reproduce: where the plan's units run (local: submitit jobs on this machine, one GPU each;
# slurm: jobs on a Slurm cluster; here: in this process) and how many at once.
EXECUTOR ?= local
JOBS ?= 1
CLUSTER_OPTIONS ?=  # the cluster's own submitit parameters, e.g. "partition=gpu account=lab"
# Where datasets live (or are downloaded to). CI points it at ../shared/data.
export ADVROBUST_DATA ?= $(CURDIR)/data/raw

.PHONY: help env lock book plan reproduce html test test-fast clean

help:
	@echo "make book                 execute every chapter at PROFILE=$(PROFILE) and build the HTML book"
	@echo "make plan PROFILE=paper [ESTIMATE=1]       print the job graph [and the projected device-hours]"
	@echo "make reproduce PROFILE=paper EXECUTOR=slurm|local JOBS=N   run the graph as jobs, then the book"
	@echo "make test                 type check, unit tests, peer cross-checks, smoke-profile chapters, book build"
	@echo "make lock                 re-resolve requirements.lock from pyproject.toml (network)"
	@echo "make clean                remove the built book and executed notebooks"

# The environment: created once from the lock, refreshed when the lock changes. Every package is
# installed at the lock's exact version and hash, without resolving (--no-deps): torchattacks's own
# pin of an old `requests` is overridden in the lock (requirements/overrides.txt).
env: $(VENV)/.installed
$(VENV)/.installed: requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --require-hashes --no-deps -r requirements.lock
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	touch $@

# Re-resolve the lock from pyproject.toml's ranges and requirements/lock.in (needs the network).
# `make lock` keeps every pin that still fits (add a dependency, then run it); `make lock
# UPGRADE=--upgrade` moves every package to its newest allowed release.
LOCK_FLAGS := --extra test --override requirements/overrides.txt --python-version 3.11 \
	--python-platform x86_64-manylinux_2_28 --generate-hashes --custom-compile-command "make lock"
lock: env
	$(VENV)/bin/uv pip compile pyproject.toml requirements/lock.in $(LOCK_FLAGS) $(UPGRADE) -o requirements.lock
	$(PY) requirements/write_environment.py

book: env
	$(PY) -m advrobust.pipeline run --profile $(PROFILE) --device $(DEVICE)
	$(PY) -m advrobust.pipeline build

plan: env
	$(PY) -m advrobust.pipeline plan --profile $(PROFILE) --device $(DEVICE) $(if $(ESTIMATE),--estimate)

# Every cached unit (trainings, black-box attack runs) as submitit jobs, then the chapters against
# the filled cache and the book. A rerun skips every finished unit.
reproduce: env
	$(PY) -m advrobust.pipeline plan --profile $(PROFILE) --device $(DEVICE) --run --executor $(EXECUTOR) --jobs $(JOBS) \
		$(if $(CLUSTER_OPTIONS),--cluster-option $(CLUSTER_OPTIONS))
	$(PY) -m advrobust.pipeline run --profile $(PROFILE) --device $(DEVICE)
	$(PY) -m advrobust.pipeline build

test: env
	$(PY) -m mypy
	$(PY) -m pytest -q

test-fast: env
	$(PY) -m pytest -q -m 'not slow and not book'

clean:
	rm -rf _build book/chapters book/results book/status.md book/scorecard.md
