# Conveniences for developers; the README's two commands work without make.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYBABEL_KEYWORDS := --no-default-keywords -k t -k tn:1,2 -k tp:1c,2

.PHONY: demo test install bench bench-quick extract update-catalogs check-catalogs

$(BIN)/wijkbrug: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[test]'
	touch $@

install: $(BIN)/wijkbrug

demo: install
	$(BIN)/wijkbrug demo

test: install
	$(BIN)/python -m pytest

# Every benchmark once (docs/performance.md); the load benchmark's run (about 20 minutes) also
# regenerates the figures block of docs/performance.md. The baselines' own venvs (PTB alone, aiogram)
# are made on first use under BENCH_VENVS and kept; BENCH_NOTE goes into the block (say if the
# machine was busy). bench-quick checks the load benchmark's harness in about two minutes and
# prints its block without touching the docs.
BENCH_VENVS ?= .bench-venvs
BENCH_NOTE ?=
LOAD := BENCH_VENVS=$(BENCH_VENVS) $(BIN)/python benchmarks/load.py

bench: install
	$(BIN)/python benchmarks/directory_bench.py
	$(BIN)/python benchmarks/summary_bench.py
	$(BIN)/python benchmarks/rotate_bench.py
	$(BIN)/python benchmarks/flood_bench.py
	$(BIN)/python benchmarks/outbox_check_bench.py
	$(BIN)/python benchmarks/instances_bench.py
	$(LOAD) --backlog 2000 --doc docs/performance.md --note "$(BENCH_NOTE)"

bench-quick: install
	$(LOAD) --quick --backlog 200

# Translators' workflow (docs/translating.md).
extract: install
	$(BIN)/pybabel extract -F babel.cfg $(PYBABEL_KEYWORDS) --add-comments=TRANSLATORS: \
		--sort-by-file --omit-header -o locales/wijkbrug.pot .

update-catalogs: extract
	$(BIN)/pybabel update -i locales/wijkbrug.pot -d locales -D wijkbrug --ignore-obsolete --no-fuzzy-matching

check-catalogs: install
	$(BIN)/python -m pytest -q tests/test_catalogs.py
