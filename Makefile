# Tributary: `make run` serves the app with demo data; `make test` runs the tests.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
export FLASK_APP := wsgi
# Each module's bytecode is written once, when it is first imported, and reused by the next command (pip is
# told not to compile every installed file up front; most of them are never imported).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: run test install install-test system-packages translations db lint format bench bench-smoke clean

# The venv's own pip installs the project (upgrading pip first cost a fresh clone's `make run` 6-18 s).
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --no-compile -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet --no-compile -e '.[test]'
	touch $@

install: $(VENV)/.installed system-packages translations
install-test: $(VENV)/.installed-test system-packages translations

# Debian packages: HarfBuzz subsetting makes WeasyPrint ~4x faster; Chromium drives the browser tests.
system-packages:
	@bash scripts/system-packages.sh

# Document languages (fr, es): compiled .mo files are build products, not kept in git.
translations: $(VENV)/.installed
	@if ls translations/*/LC_MESSAGES/*.po >/dev/null 2>&1; then $(BIN)/pybabel compile -d translations -f >/dev/null; fi

db: install
	$(BIN)/flask db upgrade

# The earlier years' invoice PDFs (about 130) are rendered in the background once the app serves, at a lower
# priority than the server; until one is stored, downloading that invoice makes it.
run: install db
	@echo "Adding the demo data (the first time, this issues a few hundred invoices and this year's PDFs)..."
	$(BIN)/flask seed-demo --pdfs-later
	@nice -n 10 $(BIN)/flask contributions render-invoice-pdfs >$(VENV)/render-invoice-pdfs.log 2>&1 &
	@echo ""
	@echo "Tributary is at http://127.0.0.1:$(PORT)/"
	@echo "Demo logins (password: $${DEMO_PASSWORD:-demo-password}):"
	@echo "  admin@example.org  fundraising@example.org  operations@example.org  board@example.org"
	@echo ""
	$(BIN)/flask run --host 127.0.0.1 --port $(PORT)

test: install-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Every benchmark, then bench/RESULTS.md (under 20 minutes). SQLite by default; on PostgreSQL:
#   make bench BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench_pages
bench: install-test
	$(BIN)/python -m bench $(if $(BENCH_DATABASE_URL),--database-url $(BENCH_DATABASE_URL))

# Each benchmark once at a tiny size (CI), figures left in a temporary folder.
bench-smoke: install-test
	$(BIN)/python -m bench --smoke $(if $(BENCH_DATABASE_URL),--database-url $(BENCH_DATABASE_URL))

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
