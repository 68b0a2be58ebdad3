# One command sets up and runs the demo; one sets up and runs every test. Nothing else is needed.
SHELL := /bin/bash
PYTHON ?= python3
TOOLS := .tools
UV := $(TOOLS)/bin/uv
UV_VERSION := 0.13.9
CHECKOV_VERSION := 3.3.30

.PHONY: help setup demo test test-fast lint dashboard bench system clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install -q --disable-pip-version-check uv==$(UV_VERSION)

.venv/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --compile-bytecode
	@touch $@

setup: .venv/.synced ## Create .venv with the locked dependencies

# checkov pins an old boto3, so it lives in its own environment.
$(TOOLS)/checkov/bin/checkov: $(UV)
	$(UV) venv -q --python $(PYTHON) $(TOOLS)/checkov
	$(UV) pip install -q --python $(TOOLS)/checkov/bin/python checkov==$(CHECKOV_VERSION)

system: ## Debian packages the browser tests need (Chromium)
	@bash scripts/install-system-packages.sh

demo: setup ## Set up and play a small production month on the embedded default
	$(UV) run seqledger demo

test: setup system $(TOOLS)/checkov/bin/checkov ## Set up and run the whole test suite
	$(UV) run ruff check .
	$(UV) run lint-imports
	$(UV) run pytest -n 2 --dist loadgroup

test-fast: setup ## Unit tests only (no servers, no browser)
	$(UV) run pytest -n 2 -m "not integration and not browser and not fault"

lint: setup ## ruff and the import contracts
	$(UV) run ruff check .
	$(UV) run lint-imports

dashboard: setup ## Open the dashboard over the lake
	$(UV) run seqledger dashboard

bench: setup ## Run the benchmarks (they print figures)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(UV) run python $$b || exit 1; done

clean: ## Remove the environments and the demo lake
	rm -rf .venv $(TOOLS) .seqledger
