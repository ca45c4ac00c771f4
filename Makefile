# One command serves the site, one runs every test. Both create .venv when it is missing.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements-installed
WORKERS ?= 2
# One BLAS/OpenMP thread per test worker: the workers already use every core.
# pytest and ruff read pyproject.toml: no flags needed.
PYTEST := OMP_NUM_THREADS=1 $(PY) -m pytest

.PHONY: help serve build test test-page mutation new-page test-seeds test-cpus lint format figures outputs browser audit clean test-latest

help:
	@echo "make serve       serve the site (English at /, Chinese at /zh/) on http://127.0.0.1:8000"
	@echo "                 (PORT=8001 for another port)"
	@echo "make test        run every test: claims, page code, outputs, figures, parity, strict build"
	@echo "make test-page PAGE=architectures/cnn   one page's claims, page code (both languages), outputs,"
	@echo "                 figures, parity and provenance (about a minute), then mutation testing of its code"
	@echo "                 (a few minutes; MUTATION=0 skips it)"
	@echo "make mutation PAGE=architectures/cnn   do the page's claim tests fail when its code changes?"
	@echo "                 (tools/mutation.py; CHANGED=origin/main: the pages a branch changed)"
	@echo "make new-page PAGE=section/name   a page pair, snippet, test, output and roadmap.yml entry from"
	@echo "                 tools/templates/ that passes make test"
	@echo "make test-seeds  run the claim tests again with SNIPPETS_SEED=1 and 2"
	@echo "make test-cpus   run the suite once per CPU kernel level this machine has (ATEN_CPU_CAPABILITY:"
	@echo "                 $(CPU_LEVELS)); pick levels with LEVELS=\"default avx2\""
	@echo "make test-latest the whole suite on the newest release of every requirement, in .venv-latest;"
	@echo "                 report in .venv-latest/report.md. torch stays at its pin (LATEST_KEEP=torch):"
	@echo "                 a newer torch from PyPI is a multi-GB CUDA build. CI runs it with LATEST_KEEP="
	@echo "                 LATEST_TORCH_INDEX=https://download.pytorch.org/whl/cpu (newest CPU torch)"
	@echo "make build       build the site into site/"
	@echo "make lint        ruff check and format check; actionlint (with shellcheck) on the workflows"
	@echo "make audit       Lighthouse on every page, both languages (25-30 min on 2 cores; PAGES=/a/,/zh/b/"
	@echo "                 for some); fails below performance 90 on a page, 95 median, 100 for the rest."
	@echo "                 Scores scale with the host: the table gives the home pages' scores as reference"
	@echo "make figures     regenerate docs/assets/figures/*.svg (NAMES=\"a b\": only those)"
	@echo "make outputs     regenerate the recorded snippet outputs (snippets/**/*.out.txt; MODULES=...: only those)"

$(STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	@touch $(STAMP)

PORT ?= 8000

serve: $(STAMP)
	@$(PY) -m tools.local_server check-port $(PORT)
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs serve -a 127.0.0.1:$(PORT)

build: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict

test: $(STAMP) browser
	$(PYTEST) -n $(WORKERS) -p tools.budgets

# One page: tools/page_selection.py keeps the tests of PAGE (a path in docs/roadmap.yml).
# Then mutation testing of the page's modules (tools/mutation.py): do its claim tests notice when
# the code changes? MUTATION=0 skips it.
MUTATION ?= 1

test-page: $(STAMP)
	@test -n "$(PAGE)" || { echo "usage: make test-page PAGE=section/name"; exit 2; }
	$(PYTEST) -n $(WORKERS) --page $(PAGE)
	@if [ "$(MUTATION)" != 0 ]; then $(PY) -m tools.mutation --workers $(WORKERS) $(PAGE); fi

mutation: $(STAMP)
	@test -n "$(PAGE)$(CHANGED)" || { echo "usage: make mutation PAGE=section/name (or CHANGED=origin/main)"; exit 2; }
	$(PY) -m tools.mutation --workers $(WORKERS) $(PAGE) $(if $(CHANGED),--changed $(CHANGED))

new-page: $(STAMP)
	@test -n "$(PAGE)" || { echo "usage: make new-page PAGE=section/name"; exit 2; }
	$(PY) -m tools.page new $(PAGE)

# The browser tests need Chromium: install it where we can (Debian-like, as root), else they skip.
browser:
	@if command -v chromium >/dev/null 2>&1 || [ -n "$$CHROME_PATH" ]; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		echo "Installing Chromium for the browser tests (apt-get)..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "Chromium not found and cannot be installed here: the browser tests will be skipped."; fi

# PyTorch picks CPU kernels by instruction set; forcing a lower level simulates another CPU.
# x86 levels this CPU supports (AVX-512 kernels need the F, BW, VL and DQ extensions).
CPU_FLAGS := $(shell grep -m1 '^flags' /proc/cpuinfo 2>/dev/null)
CPU_LEVELS := default $(if $(filter avx2,$(CPU_FLAGS)),avx2) $(if $(filter-out 4,$(words $(filter avx512f avx512bw avx512vl avx512dq,$(CPU_FLAGS)))),,avx512)
LEVELS ?= $(CPU_LEVELS)

test-cpus: $(STAMP) browser
	@for level in $(LEVELS); do \
		used=$$(ATEN_CPU_CAPABILITY=$$level $(PY) -c "import torch; print(torch.backends.cpu.get_cpu_capability().lower())"); \
		if [ "$$used" != "$$level" ]; then echo "ATEN_CPU_CAPABILITY=$$level: PyTorch uses $$used on this CPU"; exit 2; fi; \
		echo "== ATEN_CPU_CAPABILITY=$$level"; \
		ATEN_CPU_CAPABILITY=$$level $(PYTEST) -n $(WORKERS) -q || exit 1; \
	done

test-seeds: $(STAMP)
	SNIPPETS_SEED=1 $(PYTEST) -n $(WORKERS) tests --ignore=tests/test_site.py -q
	SNIPPETS_SEED=2 $(PYTEST) -n $(WORKERS) tests --ignore=tests/test_site.py -q

# make test against the newest releases: every name in requirements.txt without its pin (except
# LATEST_KEEP), resolved by pip in a separate venv; tools/latest_report.py writes the report
# (versions, failing tests by page; also to $GITHUB_STEP_SUMMARY in CI) and exits non-zero when a
# test failed, except the tests that compare installed versions with the pins (expected to fail).
LATEST_VENV := .venv-latest
LATEST_PY := $(LATEST_VENV)/bin/python
LATEST_KEEP ?= torch
LATEST_TORCH_INDEX ?=

test-latest: browser
	@test -x $(LATEST_PY) || $(PYTHON) -m venv $(LATEST_VENV)
	$(if $(LATEST_TORCH_INDEX),$(LATEST_PY) -m pip install -q --upgrade torch --index-url $(LATEST_TORCH_INDEX))
	$(LATEST_PY) -m tools.latest_report requirements --keep "$(LATEST_KEEP)" \
		$(if $(LATEST_TORCH_INDEX),--installed torch) > $(LATEST_VENV)/requirements-latest.txt
	$(LATEST_PY) -m pip install -q --upgrade -r $(LATEST_VENV)/requirements-latest.txt
	$(LATEST_PY) -m pip freeze > $(LATEST_VENV)/freeze.txt
	set -o pipefail; $(subst $(PY),$(LATEST_PY),$(PYTEST)) -n $(WORKERS) -p tools.budgets 2>&1 \
		| tee $(LATEST_VENV)/pytest.log; status=$$?; \
	$(LATEST_PY) -m tools.latest_report report --log $(LATEST_VENV)/pytest.log --keep "$(LATEST_KEEP)" \
		--out $(LATEST_VENV)/report.md --pytest-status $$status

lint: $(STAMP)
	$(VENV)/bin/ruff check
	$(VENV)/bin/ruff format --check
	$(VENV)/bin/actionlint -shellcheck $(VENV)/bin/shellcheck -pyflakes= .github/workflows/*.yml

format: $(STAMP)
	$(VENV)/bin/ruff format
	$(VENV)/bin/ruff check --fix

figures: $(STAMP)
	$(PY) -m tools.figures $(NAMES)

outputs: $(STAMP)
	$(PY) -m tools.outputs $(MODULES)

LIGHTHOUSE := $(VENV)/node/node_modules/.bin/lighthouse

$(LIGHTHOUSE):
	npm install --prefix $(VENV)/node --no-audit --no-fund --save-exact lighthouse@12.2.3

audit: $(STAMP) browser $(LIGHTHOUSE)
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --site-dir site
	$(PY) -m tools.lighthouse site $(LIGHTHOUSE) $(if $(PAGES),--pages $(PAGES)) --out site-audit.md

clean:
	rm -rf site site-audit.md .pytest_cache .ruff_cache .build-seconds
