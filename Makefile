# One command sets up and runs the demo; one sets up and runs every test. Nothing else is needed.
SHELL := /bin/bash
PYTHON ?= python3
TOOLS := .tools
UV := $(TOOLS)/bin/uv
UV_VERSION := 0.13.9
CHECKOV_VERSION := 3.3.30

.PHONY: help runtime setup demo test test-fast lint dashboard bench system screenshots clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install -q --disable-pip-version-check uv==$(UV_VERSION)

# Two installs from one lock: what the demo and the dashboard need, and that plus the test
# toolchain. No --compile-bytecode: Python compiles each module the first time it is imported,
# instead of set-up compiling all ~11,000 files up front (most of them never imported).
# --inexact: the runtime install never removes the test toolchain a `make test` put there.
.venv/.runtime: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --no-dev --inexact
	@touch $@

.venv/.dev: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen
	@touch $@ .venv/.runtime

runtime: .venv/.runtime ## Create .venv with what the demo and the dashboard need
setup: .venv/.dev ## Create .venv with everything, the test toolchain included

# checkov pins an old boto3, so it lives in its own environment.
$(TOOLS)/checkov/bin/checkov: $(UV)
	$(UV) venv -q --python $(PYTHON) $(TOOLS)/checkov
	$(UV) pip install -q --python $(TOOLS)/checkov/bin/python checkov==$(CHECKOV_VERSION)

system: ## Debian packages the browser tests need (Chromium)
	@bash scripts/install-system-packages.sh

demo: runtime ## Set up (runtime only) and play a small production month on the embedded default
	.venv/bin/seqledger demo

test: setup system $(TOOLS)/checkov/bin/checkov ## Set up and run the whole test suite
	$(UV) run ruff check .
	$(UV) run lint-imports
	$(UV) run pytest -n 2 --dist loadgroup

test-fast: setup ## Unit tests only (no servers, no browser)
	$(UV) run pytest -n 2 -m "not integration and not browser and not fault"

lint: setup ## ruff and the import contracts
	$(UV) run ruff check .
	$(UV) run lint-imports

dashboard: runtime ## Open the dashboard over the lake
	.venv/bin/seqledger dashboard

# The README's pictures: the demo played afresh (it replaces only a lake it made), then every page.
screenshots: setup system ## Play the demo and photograph every dashboard page into docs/screenshots
	.venv/bin/seqledger demo
	.venv/bin/python scripts/screenshots.py

bench: setup ## Run the benchmarks (they print figures)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(UV) run python $$b || exit 1; done

clean: ## Remove the environments, and the demo's lake if the demo made it
	rm -rf .venv $(TOOLS)
	@if [ -f .seqledger/lake/.seqledger-demo ]; then rm -rf .seqledger/lake; \
	  echo "removed .seqledger/lake (the demo's lake)"; \
	elif [ -e .seqledger/lake ]; then \
	  echo "kept .seqledger/lake: the demo did not make it (delete it yourself if you mean to)"; fi
