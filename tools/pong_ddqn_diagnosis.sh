#!/usr/bin/env bash
# Why the DDQN run of config/pong.yaml did not learn (issue 27): its network died. This trains
# DDQN on Pong to 100K frames (3,750 updates) under the paper preset and under three one-key
# changes of it, seeds 0 and 1, then measures each run's last checkpoint with
# `python -m agents health` (dead ReLU units and Q spread on its own replay states), and
# gathers the eight rows into OUT/health.{csv,md}.
#   bash tools/pong_ddqn_diagnosis.sh /tmp/pong-ddqn-diagnosis   # 8 runs, ~7 min each on one core
# The settings changed, one at a time (the paper preset's value first):
#   adam-eps    adam_eps 1e-8 -> 3.125e-4 (Dopamine's Adam epsilon for DQN-family agents, 0.01/32)
#   torch-init  init xavier -> torch-default (the original code's xavier-uniform, zero biases)
#   lr-1e-4     lr 2.5e-4 -> 1e-4 (the original code's DDQN script default)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?usage: tools/pong_ddqn_diagnosis.sh OUT}
PY=${PY:-.venv/bin/python}
mkdir -p "$OUT/health"
run() {  # NAME SEED [KEY=VALUE ...]
  local name=$1 seed=$2 sets=()
  shift 2
  for setting in "$@"; do sets+=(--set "$setting"); done
  local run_dir=$OUT/$name-s$seed
  OMP_NUM_THREADS=1 "$PY" -m agents train --agent ddqn --game Pong --seed "$seed" --frames 100000 \
    --preset paper "${sets[@]}" --out "$run_dir" --no-progress > "$run_dir.log" 2>&1
  OMP_NUM_THREADS=1 "$PY" -m agents health --run "$run_dir" --states 1000 \
    --out "$OUT/health/$name-s$seed" > /dev/null 2>&1
  echo "$(date +%T) $name seed $seed: $(tail -n 1 "$OUT/health/$name-s$seed.md")"
}
for seed in 0 1; do
  run paper "$seed"
  run adam-eps "$seed" adam_eps=3.125e-4
  run torch-init "$seed" init=torch-default
  run lr-1e-4 "$seed" lr=1e-4
done
"$PY" - "$OUT" <<'PYTHON'
import sys
from pathlib import Path
import pandas as pd
out = Path(sys.argv[1])
rows = []
for path in sorted((out / "health").glob("*-s[0-9]*.csv")):
    setting, _, seed = path.stem.rpartition("-s")
    rows.append(pd.read_csv(path).drop(columns="checkpoint").assign(setting=setting, seed=int(seed)))
table = pd.concat(rows).set_index(["setting", "seed"]).reset_index()
table.to_csv(out / "health.csv", index=False)
(out / "health.md").write_text(table.to_markdown(index=False, floatfmt=".4g") + "\n")
print(table.to_markdown(index=False, floatfmt=".4g"))
PYTHON
