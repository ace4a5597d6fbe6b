# partlab: the two commands a newcomer needs are `make repro` and `make test`.
# Everything runs inside .venv (Python 3.11), created on first use.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.partlab-setup
# Extra arguments for `partlab repro`, e.g. make repro ARGS="--only geometry --profile quick"
ARGS   ?=

.PHONY: setup repro test test-notebooks test-pytest test-export docs lab clean-venv help

help:
	@echo "make repro   set up .venv if needed, then run every paper notebook (partlab repro) on the embedded default"
	@echo "make test    set up .venv if needed, then nbdev_test + pytest + export check + docs build"
	@echo "make docs    build the documentation site into docs/ (open docs/index.html)"
	@echo "make lab     open JupyterLab on nbs/ with the partlab kernel"

setup: $(STAMP)

$(STAMP): settings.ini setup.py
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; partlab needs Python 3.11 (set PYTHON=/path/to/python3.11)" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' || { echo "error: $(PYTHON) is not Python 3.11" >&2; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=23" wheel
	$(BIN)/python -m pip install --quiet --progress-bar off -e ".[dev]"
	$(BIN)/python -m ipykernel install --sys-prefix --name partlab --display-name "Python 3.11 (partlab)"
	$(BIN)/partlab doctor
	@touch $(STAMP)

repro: $(STAMP)
	$(BIN)/partlab repro $(ARGS)

test: $(STAMP)
	$(MAKE) --no-print-directory test-export
	$(MAKE) --no-print-directory test-notebooks
	$(MAKE) --no-print-directory docs
	$(MAKE) --no-print-directory test-pytest

test-export: $(STAMP)
	$(BIN)/partlab check-export

test-notebooks: $(STAMP)
	cd nbs && ../$(BIN)/nbdev_test --n_workers 2 --timing

test-pytest: $(STAMP)
	$(BIN)/python -m pytest tests -ra

docs: $(STAMP)
	$(BIN)/partlab docs --out docs

lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir nbs

clean-venv:
	rm -rf $(VENV)
