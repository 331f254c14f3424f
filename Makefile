# Two entry points for a fresh machine: `make run` (set up, then the main job) and `make test`.
# The virtual environment is created once and reinstalled only when pyproject.toml changes.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# Quick-start training run (until the Snakemake pipeline lands, this is the main job).
GAME ?= Pong
AGENT ?= ddqn
FRAMES ?= 200000
RUN_DIR ?= results/runs/quickstart/$(AGENT)-$(GAME)-s0

.PHONY: setup run test lint benchmarks clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(PY) -m agents train --agent $(AGENT) --game $(GAME) --seed 0 --frames $(FRAMES) --out $(RUN_DIR)
	$(PY) -m agents evaluate --run $(RUN_DIR) --episodes 3

lint: setup
	$(PY) -m ruff check agents tests benchmarks
	$(PY) -m ruff format --check agents tests benchmarks

# pytest exits 5 when it collects no test; that is not a failure of the suite itself.
test: setup lint
	$(PY) -m pytest -q || [ $$? -eq 5 ]

benchmarks: setup
	$(PY) benchmarks/replay_memory.py
	$(PY) benchmarks/throughput_vs_sb3.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
