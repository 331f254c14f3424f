#!/usr/bin/env bash
# Bring the finished confirmatory runs of a checkout that trains them (tools/run_confirmatory.sh,
# run from a clean commit) into this one, as the pre-registration says they are committed: logs
# xz-compressed (python -m agents pack), never a checkpoint or a replay; the weights-only model.pt of
# seed 0 (float32), and of seeds 1 and 2 of ddqn and idqn in float16 (amendments 1 and 2); the
# arms of amendment 1 bring their interpret.json instead of weights (measured here from the
# source's weights when it has none yet: python -m agents interpret-run), and are refused without it;
# the attention arms (amendment 5) bring both: every seed's interpret.json, seed 0's weights in
# float16, and (with no-attention) seed 0's losses.csv only.
#   bash tools/collect_confirmatory.sh /path/to/training/checkout     # then git add + commit
# A run is finished when it has summary.json, or when it stopped on a non-finite loss (it then
# comes with a failed.json); runs already here are left as they are.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tools/run_states.sh
source tools/run_states.sh
SOURCE=${1:?usage: tools/collect_confirmatory.sh TRAINING_CHECKOUT}
RUNS=results/confirmatory/runs
PY=${PY:-.venv/bin/python}

# The run's interpret.json into $run.incoming, measured first from the source's weights on the
# machine that trained it (amendments 2 and 5); without it the run is refused (status 1).
# One thread: the machine that collects is usually still training (about 6 CPU-minutes for an
# attention run, 12,000 steps of one environment, measured beside four training runs).
bring_measures() {
  if [ ! -e "$SOURCE/$run/interpret.json" ]; then
    OMP_NUM_THREADS=1 "$PY" -m agents interpret-run "$SOURCE/$run" > /dev/null \
      || echo "could not measure $run (see the error above)" >&2
  fi
  if [ ! -e "$SOURCE/$run/interpret.json" ]; then
    echo "refused $run: no interpret.json (measure it before collecting)" >&2
    rm -rf "$run.incoming"
    return 1
  fi
  cp "$SOURCE/$run/interpret.json" "$run.incoming/"
}

keeps_losses() {  # arm seed: amendment 5 keeps the attention arms' losses.csv of seed 0 only
  case "$1:$2" in
    attention*:s0 | no-attention:s0) return 0 ;;
    attention*:* | no-attention:*) return 1 ;;  # to fit 40 MB
    *) return 0 ;;
  esac
}

collected=()
for summary in "$SOURCE/$RUNS"/*/*/s*/summary.json; do
  [ -e "$summary" ] || continue
  run=$(dirname "${summary#"$SOURCE"/}")
  # Here already; or collected as failed, which stands even if the run later finished there.
  run_committed "$run" && continue
  mkdir -p "$run.incoming"
  for file in config.yaml meta.json episodes.csv evals.csv train.log summary.json; do
    cp "$SOURCE/$run/$file" "$run.incoming/"
  done
  arm=$(basename "$(dirname "$(dirname "$run")")")
  seed=$(basename "$run")
  if [ -e "$SOURCE/$run/losses.csv" ] && keeps_losses "$arm" "$seed"; then  # SB3 logs none
    cp "$SOURCE/$run/losses.csv" "$run.incoming/"
  fi
  half=()
  case "$arm" in
    idqn-vae-* | idqn-dense-vae | idqn-no-diversity)
      bring_measures || continue
      ;;
    ddqn | idqn)
      case "$seed" in
        s0) cp "$SOURCE/$run/model.pt" "$run.incoming/" ;;
        s1 | s2) cp "$SOURCE/$run/model.pt" "$run.incoming/" && half=(--half-weights) ;;
      esac
      ;;
    idqn-original-code)
      if [ "$seed" = s0 ]; then cp "$SOURCE/$run/model.pt" "$run.incoming/"; fi
      ;;
    attention | attention-3-seeds)
      # Amendment 5: every seed's grounding measured from its weights; seed 0's weights, halved.
      bring_measures || continue
      if [ "$seed" = s0 ]; then cp "$SOURCE/$run/model.pt" "$run.incoming/" && half=(--half-weights); fi
      ;;
  esac
  "$PY" -m agents pack "${half[@]}" "$run.incoming" > /dev/null
  mv "$run.incoming" "$run"
  collected+=("$run")
done

# A run that stopped on a non-finite loss is finished too (docs/preregistration.md, "Exclusions,
# failures and missing runs"; amendment 8): it comes with its logs and a failed.json holding the
# runner's error (agents.runtable.record_failure), and the report scores it as random play.
for log in "$SOURCE/$RUNS"/*/*/s*/train.log; do
  [ -e "$log" ] || continue
  run=$(dirname "${log#"$SOURCE"/}")
  if [ -e "$SOURCE/$run/summary.json" ] || run_committed "$run"; then continue; fi
  run_stopped_non_finite "$SOURCE/$run" || continue
  mkdir -p "$run.incoming"
  files=(config.yaml meta.json episodes.csv evals.csv train.log)
  if keeps_losses "$(basename "$(dirname "$(dirname "$run")")")" "$(basename "$run")"; then
    files+=(losses.csv)
  fi
  for file in "${files[@]}"; do
    if [ -e "$SOURCE/$run/$file" ]; then cp "$SOURCE/$run/$file" "$run.incoming/"; fi
  done
  "$PY" -c 'import sys; from pathlib import Path; from agents.runtable import record_failure
sys.exit(record_failure(Path(sys.argv[1])) is None)' "$run.incoming" \
    || { rm -rf "$run.incoming"; continue; }
  "$PY" -m agents pack "$run.incoming" > /dev/null
  mv "$run.incoming" "$run"
  echo "collected $run as failed (non-finite loss): it scores as random play" >&2
  collected+=("$run")
done
printf '%s\n' "${collected[@]}"
