#!/usr/bin/env bash
# Bring the finished confirmatory runs of a checkout that trains them (tools/run_confirmatory.sh,
# run from a clean commit) into this one, as the pre-registration says they are committed: logs
# gzipped (python -m agents pack), never a checkpoint or a replay; weights-only model.pt of seed 0,
# and (amendment 1) of seeds 1 and 2 of every arm but idqn-original-code and SB3.
#   bash tools/collect_confirmatory.sh /path/to/training/checkout     # then git add + commit
# A run is finished when it has summary.json; runs already here are left as they are.
set -euo pipefail
cd "$(dirname "$0")/.."
SOURCE=${1:?usage: tools/collect_confirmatory.sh TRAINING_CHECKOUT}
RUNS=results/confirmatory/runs
PY=${PY:-.venv/bin/python}

collected=()
for summary in "$SOURCE/$RUNS"/*/*/s*/summary.json; do
  [ -e "$summary" ] || continue
  run=$(dirname "${summary#"$SOURCE"/}")
  [ -e "$run/summary.json" ] && continue
  mkdir -p "$run.incoming"
  for file in config.yaml meta.json episodes.csv losses.csv evals.csv train.log summary.json; do
    cp "$SOURCE/$run/$file" "$run.incoming/"
  done
  arm=$(basename "$(dirname "$(dirname "$run")")")
  case "$(basename "$run"),$arm" in
    s0,* | s1,ddqn | s2,ddqn | s1,idqn* | s2,idqn*)
      if [ "$arm" != idqn-original-code ] || [ "$(basename "$run")" = s0 ]; then
        cp "$SOURCE/$run/model.pt" "$run.incoming/" 2>/dev/null || true  # SB3 writes none
      fi
      ;;
  esac
  "$PY" -m agents pack "$run.incoming" > /dev/null
  mv "$run.incoming" "$run"
  collected+=("$run")
done
printf '%s\n' "${collected[@]}"
