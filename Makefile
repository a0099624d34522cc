# Conveniences for developers; the README's two commands work without make.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYBABEL_KEYWORDS := --no-default-keywords -k t -k tn:1,2 -k tp:1c,2

.PHONY: demo test install bench extract update-catalogs check-catalogs

$(BIN)/wijkbrug: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[test]'
	touch $@

install: $(BIN)/wijkbrug

demo: install
	$(BIN)/wijkbrug demo

test: install
	$(BIN)/python -m pytest

# Every benchmark (docs/performance.md); the load benchmark takes about ten minutes.
bench: install
	$(BIN)/python benchmarks/directory_bench.py
	$(BIN)/python benchmarks/summary_bench.py
	$(BIN)/python benchmarks/rotate_bench.py
	$(BIN)/python benchmarks/flood_bench.py
	$(BIN)/python benchmarks/outbox_check_bench.py
	$(BIN)/python benchmarks/load.py

# Translators' workflow (docs/translating.md).
extract: install
	$(BIN)/pybabel extract -F babel.cfg $(PYBABEL_KEYWORDS) --add-comments=TRANSLATORS: \
		--sort-by-file --omit-header -o locales/wijkbrug.pot .

update-catalogs: extract
	$(BIN)/pybabel update -i locales/wijkbrug.pot -d locales -D wijkbrug --ignore-obsolete --no-fuzzy-matching

check-catalogs: install
	$(BIN)/python -m pytest -q tests/test_catalogs.py
