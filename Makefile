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

.PHONY: setup browser repro test test-notebooks test-pytest test-export docs lab clean-venv clean-cache help

help:
	@echo "make repro   set up .venv if needed, then run every paper notebook (partlab repro) on the embedded default"
	@echo "make test    set up .venv if needed, then export check + every notebook run once (the docs build) + pytest"
	@echo "make docs    build the documentation site into docs/ (open docs/index.html)"
	@echo "make test-notebooks  run every notebook once (cached in .cache/notebooks/), render nothing"
	@echo "make lab     open JupyterLab on nbs/ with the partlab kernel"

setup: $(STAMP) browser
	@:

# make test checks the docs site, report.html and JupyterLab in headless Chromium (tests/test_browser.py): install
# Debian's package when it is missing and we are root (as in CI); otherwise those tests are skipped, saying why.
CHROMIUM_PACKAGES := chromium fonts-dejavu-core
browser:
	@if [ -n "$$PARTLAB_CHROMIUM" ] || command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing $(CHROMIUM_PACKAGES) (apt-get) for the browser checks"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -qq --no-install-recommends $(CHROMIUM_PACKAGES) >/dev/null 2>&1 || \
	  { apt-get update -qq && apt-get install -y -qq --no-install-recommends $(CHROMIUM_PACKAGES) >/dev/null; } || \
	  echo "warning: could not install $(CHROMIUM_PACKAGES); the browser checks will be skipped (a failure under CI=true)" >&2; \
	else echo "note: no Chromium; the browser checks will be skipped: install the Debian packages $(CHROMIUM_PACKAGES)"; fi

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

# Two pytest workers (pytest-xdist), a test file each at a time (module fixtures built once), one CPU thread a test
# unless OMP_NUM_THREADS says otherwise: 689 s against 997-1104 s for one process on the 2-core CI machine.
# make test-pytest PYTEST_WORKERS=0 runs them in one process.
PYTEST_WORKERS ?= 2
test-pytest: $(STAMP)
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(BIN)/python -m pytest tests -ra --durations=25 $(if $(filter 0,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS) --dist loadfile)

docs: $(STAMP)
	$(BIN)/partlab docs --out docs

lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir nbs $(if $(filter 0,$(shell id -u)),--allow-root)

clean-venv:
	rm -rf $(VENV)

clean-cache:
	rm -rf .cache/notebooks
