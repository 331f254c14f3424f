#!/usr/bin/env bash
# Does the main pipeline's DDQN (config/config.yaml: the paper preset) keep its network alive on
# the paper's eight games, as it did not on Pong (results/atari/README.md, "Attempt 2's DDQN is
# dead")? This trains DDQN on each game of config/config.yaml to 100K frames (3,750 updates),
# seed 0, under the paper preset and the KEY=VALUE items given, then measures every run's last
# checkpoint with `python -m agents health` (dead ReLU units and Q spread on its own replay
# states) into OUT/health.{csv,md}. A finished run (summary.json) is not trained again.
#   bash tools/atari_ddqn_health.sh /tmp/atari-ddqn-health             # 8 runs, ~6 min each
#   bash tools/atari_ddqn_health.sh /tmp/atari-ddqn-health-lr lr=1e-4  # the Pong run's setting
# Read with the rule of results/atari/README.md ("The paper preset on the pipeline's games"):
# a run is dead when its Q spread is below 1e-3 and it has one greedy action.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?usage: tools/atari_ddqn_health.sh OUT [KEY=VALUE ...]}
shift
PY=${PY:-.venv/bin/python}
sets=()
for setting in "$@"; do sets+=(--set "$setting"); done
games=$("$PY" -c 'import yaml; print(*yaml.safe_load(open("config/config.yaml"))["games"])')
mkdir -p "$OUT"
runs=()
for game in $games; do
  run_dir=$OUT/$game
  runs+=("$run_dir")
  if [ -e "$run_dir/summary.json" ]; then continue; fi
  OMP_NUM_THREADS=1 "$PY" -m agents train --agent ddqn --game "$game" --seed 0 --frames 100000 \
    --preset paper "${sets[@]}" --out "$run_dir" --no-progress > "$run_dir.log" 2>&1
  echo "$(date +%T) $game trained"
done
OMP_NUM_THREADS=1 "$PY" -m agents health --run "${runs[@]}" --states 1000 --out "$OUT/health" \
  > /dev/null
cat "$OUT/health.md"
