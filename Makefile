# partlab: the two commands a newcomer needs are `make repro` and `make test`.
# Everything runs inside .venv (Python 3.11), created on first use.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.partlab-setup
# Extra arguments for `partlab repro`, e.g. make repro ARGS="--only geometry --profile quick"
ARGS   ?=
# Notebook globs for `make test-notebooks`, e.g. make test-notebooks ONLY="00_* 91_docs" (default: all)
ONLY   ?=
comma  := ,

.PHONY: setup repro test test-notebooks test-pytest test-export docs lab clean-venv clean-cache help

help:
	@echo "make repro   set up .venv if needed, then run every paper notebook (partlab repro) on the embedded default"
	@echo "make test    set up .venv if needed, then export check + every notebook run once (the docs build) + pytest"
	@echo "make docs    build the documentation site into docs/ (open docs/index.html)"
	@echo "make test-notebooks  run every notebook once (cached in .cache/notebooks/), render nothing"
	@echo "make lab     open JupyterLab on nbs/ with the partlab kernel"

setup: $(STAMP)
	@:

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

# $(call timed,TARGET): make TARGET and print how long it took; TARGET's exit status is kept.
timed = @start=$$(date +%s); $(MAKE) --no-print-directory $(1); status=$$?; \
	echo "make test: $(1) took $$(( $$(date +%s) - start )) s (exit status $$status)"; exit $$status

# Each notebook is executed once: the docs build runs every notebook the way nbdev_test does (that is the notebook
# test), then renders the site. Runs of unchanged notebooks are reused from .cache/notebooks/.
test:
	$(call timed,setup)
	$(call timed,test-export)
	$(call timed,docs)
	$(call timed,test-pytest)

test-export: $(STAMP)
	$(BIN)/partlab check-export

# The notebook test alone: the same executor and cache as the docs build, without rendering.
# make test-notebooks ONLY="00_* 91_docs" runs the notebooks whose name or stem matches one of the globs.
test-notebooks: $(STAMP)
	$(BIN)/partlab test-notebooks $(if $(ONLY),--only "$(subst $(eval) ,$(comma),$(strip $(ONLY)))")

test-pytest: $(STAMP)
	$(BIN)/python -m pytest tests -ra

docs: $(STAMP)
	$(BIN)/partlab docs --out docs

lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir nbs

clean-venv:
	rm -rf $(VENV)

clean-cache:
	rm -rf .cache/notebooks
