# The two commands README promises on a fresh machine:
#   make demo   set up, then serve the demo ledger in Fava with the extension
#   make test   set up (Chromium and nginx included), then lint, type-check, bean-check and pytest
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000

.PHONY: setup chromium nginx demo demo-reset test lint ledgers pytest bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[test]"
	touch $@

setup: $(BIN)/.installed

# Debian's Chromium for the end-to-end tests; Playwright drives it, never a downloaded browser.
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium missing and not root: end-to-end tests will be skipped"; fi; \
	fi

# Debian's nginx (and openssl for htpasswd hashes) for tests/test_deploy_nginx.py: README's
# reverse-proxy set-up in front of a real Fava. Under CI (CI set) a missing nginx fails that
# test instead of skipping it.
nginx:
	@if [ ! -x /usr/sbin/nginx ] || ! command -v openssl >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx openssl >/dev/null; \
	  else echo "nginx missing and not root: the deploy test will be skipped (and fail under CI)"; fi; \
	fi

# Fava serves a scratch ledger (.demo/), generated dated to the day it is made
# (open items of realistic ages), so decisions made in the demo leave the bundled
# ledgers/demo.beancount (which tests compare) untouched; `make demo-reset` starts over.
demo: setup
	@mkdir -p .demo && [ -e .demo/demo.beancount ] || $(BIN)/bean-adjust demo -o .demo/demo.beancount --dated-to today
	@echo "Fava with the Adjustments extension: http://127.0.0.1:$(PORT)/ (Ctrl-C to stop)"
	$(BIN)/fava --host 127.0.0.1 --port $(PORT) .demo/demo.beancount

demo-reset:
	rm -rf .demo

lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy beancount_adjustments

# Every ledger meant to be clean: ledgers/*.beancount and ledgers/scenarios/clean-*.beancount.
ledgers: setup
	@for f in ledgers/*.beancount ledgers/scenarios/clean-*.beancount; do \
	  [ -e "$$f" ] || continue; echo "bean-check $$f"; $(BIN)/bean-check "$$f" || exit 1; \
	done

pytest: setup chromium nginx
	$(BIN)/pytest -q

test: lint ledgers pytest

bench: setup
	$(BIN)/python benchmarks/plugin_load.py
	$(BIN)/python benchmarks/csv_import.py
	$(BIN)/python benchmarks/fava_pages.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache artifacts
