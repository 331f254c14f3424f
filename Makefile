# Two entry points for a fresh machine: `make run` (set up, then the main job) and `make test`
# (`make test-fast` for the quick tier).
# The virtual environment is created once and reinstalled only when pyproject.toml changes.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

SNAKEMAKE := $(VENV)/bin/snakemake
CORES ?= 16

.PHONY: setup run paper minatar minatar-reports confirmatory confirmatory-report slurm test test-fast lint benchmarks clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

# The main job at smoke budget: the whole pipeline on 2 games and 1 seed, tiny budgets, in minutes.
run: setup
	$(SNAKEMAKE) all --profile workflow/profiles/smoke
	$(SNAKEMAKE) --profile workflow/profiles/smoke --report results/smoke/report.html

# The paper budget: 116 runs of 10M frames: the 72 of the main grid, Table 2's 8, the studies'
# 36 (GPU machines; docs/benchmarks.md has the cost).
paper: setup
	$(SNAKEMAKE) all --cores $(CORES)
	$(SNAKEMAKE) --report reports/report.html

# The MinAtar reproduction: from a clone, rebuilds reports/minatar/ from the committed runs (all
# of them are: it trains none; README "MinAtar reproduction").
minatar: setup
	$(SNAKEMAKE) all --profile workflow/profiles/minatar

# Only the main grid's, Table 2's and the interpretability reports: from a clone, no training.
minatar-reports: setup
	$(SNAKEMAKE) reports --profile workflow/profiles/minatar

# The pre-registered confirmatory MinAtar study (docs/preregistration.md): trains the runs not
# committed yet (what is left: tools/confirmatory_status.py; the plans: docs/preregistration.md and
# amendments 1 and 5), then its tables, verdicts and figures.
confirmatory: setup
	$(SNAKEMAKE) confirmatory --profile workflow/profiles/confirmatory
	$(PY) -m agents confirmatory-summary --doc docs/reproduction.md docs/learning.md

# The report alone, from the confirmatory runs committed so far, no training: each group of
# claims is read once all its runs are in, the rest withheld (amendment 15).
confirmatory-report: setup
	$(PY) -m agents confirmatory --config config/minatar.yaml config/confirmatory.yaml --out reports/confirmatory
	$(PY) -m agents confirmatory-summary --doc docs/reproduction.md docs/learning.md

slurm: setup
	$(SNAKEMAKE) all --profile workflow/profiles/slurm

lint: setup
	$(PY) -m ruff check agents tests benchmarks tools
	$(PY) -m ruff format --check agents tests benchmarks tools
	$(SNAKEMAKE) --lint

# Two tiers. `make test` runs every test, as CI does; `make test-fast` leaves out the `slow` ones
# for the edit-test loop. Slow are the longer end-to-end checks: the smoke DAG, whole training
# runs, a fresh install, the README's dry runs, and the CLI-level kill-and-resume, second-writer
# and torn-log checks beyond one per code path; the fast tier keeps a cheaper check of each path.
# Test files run in parallel (pytest-xdist), each file whole on one worker (--dist loadfile), so
# a module's fixtures, such as test_workflow.py's one smoke DAG, are built once. No test
# collected is a failure (pytest exits 5), not a pass.
TEST_WORKERS ?= auto
test: setup lint
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile

test-fast: setup
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile -m "not slow"

benchmarks: setup
	$(PY) benchmarks/replay_memory.py
	$(PY) benchmarks/throughput_vs_sb3.py
	$(PY) benchmarks/idqn_cost.py
	$(PY) benchmarks/kernels.py
	$(PY) benchmarks/minatar_learning.py
	$(PY) benchmarks/attention_speed.py
	$(PY) benchmarks/attention_learning.py
	$(PY) benchmarks/evaluation_phase.py
	$(PY) benchmarks/minatar_rewards.py
	$(PY) benchmarks/lockstep.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
