# Two commands on a fresh machine: `make book` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PROFILE ?= quick
DEVICE ?= auto
# Where datasets live (or are downloaded to). CI points it at ../shared/data.
export ADVROBUST_DATA ?= $(CURDIR)/data/raw

.PHONY: help env book reproduce html test test-fast clean

help:
	@echo "make book                 execute every chapter at PROFILE=$(PROFILE) and build the HTML book"
	@echo "make reproduce PROFILE=paper DEVICE=cuda   the thesis-scale run (GPU)"
	@echo "make test                 unit tests, peer cross-checks, smoke-profile chapters, book build"
	@echo "make clean                remove the built book and executed notebooks"

# The environment: created once, refreshed when pyproject.toml changes.
env: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	# torchattacks pins requests~=2.25 (conflicts with Sphinx); its real needs are already installed.
	$(PY) -m pip install -q --no-deps torchattacks==3.5.1
	touch $@

book: env
	$(PY) -m advrobust.pipeline run --profile $(PROFILE) --device $(DEVICE)
	$(PY) -m advrobust.pipeline build

reproduce: book

test: env
	$(PY) -m pytest -q

test-fast: env
	$(PY) -m pytest -q -m 'not slow and not book'

clean:
	rm -rf _build book/chapters book/results book/status.md
