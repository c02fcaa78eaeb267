# Every target sets up what it needs on a fresh machine: a .venv with trueup and its dev tools, and (for
# tests) PostgreSQL's server binaries from Debian when they are missing.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_BIN := /usr/lib/postgresql/15/bin

.PHONY: demo test check lint typecheck audit bench setup postgres chromium clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

postgres:
	@if [ ! -x $(PG_BIN)/initdb ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	  else echo "PostgreSQL 15 server binaries missing: apt-get install postgresql (as root)"; fi; \
	fi

# The dashboard's browser tests drive Debian's chromium through Playwright (no browser download).
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium missing: apt-get install chromium (as root)"; fi; \
	fi

DEMO_PASSWORD := demo-password

demo: $(STAMP)
	$(BIN)/trueup demo --orders 500 --seed 1 --no-serve
	@for who in demo:admin warehouse:warehouse finance:finance cx:cx; do \
	  TRUEUP_PASSWORD=$(DEMO_PASSWORD) $(BIN)/trueup -c .trueup-demo/trueup.toml users add $${who%%:*} --role $${who##*:} 2>/dev/null; \
	done
	@echo "The dashboard on the demo's data: $(BIN)/trueup -c .trueup-demo/trueup.toml serve"
	@echo "  then open http://127.0.0.1:8080/ and log in as demo (admin), warehouse, finance or cx, password $(DEMO_PASSWORD)"

test: $(STAMP) postgres chromium
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

# Known vulnerabilities in the pinned dependencies (PyPI's advisory data). Found ones fail the target; a
# machine that cannot reach the advisory service gets a warning naming how many packages went unaudited.
audit: $(STAMP)
	@out=$$($(BIN)/pip-audit --vulnerability-service pypi --skip-editable --progress-spinner off 2>&1); rc=$$?; \
	skipped=$$(printf '%s\n' "$$out" | grep -c 'could not be audited'); \
	if printf '%s\n' "$$out" | grep -q 'known vulnerabilit' && [ $$rc -ne 0 ]; then \
	  printf '%s\n' "$$out"; echo "pip-audit: known vulnerabilities in the dependencies (above)"; exit 1; \
	elif [ $$rc -ne 0 ]; then \
	  printf '%s\n' "$$out" | tail -5; echo "pip-audit: WARNING: could not run (no access to its advisory service?): NOT AUDITED"; \
	elif [ $$skipped -gt 0 ]; then \
	  echo "pip-audit: WARNING: $$skipped packages NOT AUDITED: PyPI's advisory service does not know them from here (this machine reaches only a package mirror); run make audit where pypi.org is reachable"; \
	else echo "pip-audit: no known vulnerabilities"; fi

check: lint typecheck audit test

# Byte-compiled first, as an installed package is: an editable install on a machine that sets
# PYTHONDONTWRITEBYTECODE would otherwise compile trueup's sources at every engine start (~70 ms).
bench: $(STAMP)
	$(BIN)/pip install --quiet --no-deps -c constraints.txt datacompy
	$(BIN)/python -m compileall -q src >/dev/null
	@for script in bench/[!_]*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .trueup-demo .pytest_cache .mypy_cache .ruff_cache
