#!/usr/bin/env bash
# A checkout that trains the confirmatory runs (tools/run_confirmatory.sh) at a fixed commit, on
# a machine that has none yet: a clone of this repository at COMMIT, holding every run committed
# on this checkout's HEAD, finished or failed (untracked there, so the checkout stays clean and
# the lanes skip them).
#   bash tools/training_checkout.sh 6b2e223 /work/confirmatory4    # the score arms' commit
#   bash tools/training_checkout.sh 0bce2a4 /work/attention5       # amendment 5's
#   bash tools/training_checkout.sh HEAD /work/lanes /work/confirmatory4 /work/attention5
#       # and the unfinished runs of older training checkouts (their lanes stopped first), copied
#       # with their checkpoints so that they resume here; collect the old checkouts' finished
#       # runs first (tools/collect_confirmatory.sh), delete the old checkouts afterwards
# Then, in DIR, with this checkout's environment (the jobs run `python -m agents` from DIR, so
# DIR's code trains): SNAKEMAKE=<this checkout>/.venv/bin/snakemake bash tools/run_confirmatory.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tools/run_states.sh
source tools/run_states.sh
COMMIT=${1:?usage: tools/training_checkout.sh COMMIT DIR [OLD_CHECKOUT ...]}
DIR=${2:?usage: tools/training_checkout.sh COMMIT DIR [OLD_CHECKOUT ...]}
shift 2
RUNS=results/confirmatory/runs
fail() {
  echo "error: $*" >&2
  exit 2
}
[ -e "$DIR" ] && fail "$DIR exists; a training checkout is made only where there is none"
git cat-file -e "$COMMIT^{commit}" 2>/dev/null || fail "$COMMIT is not a commit here"

# Every check before anything is written: an old checkout's run is adopted only when it is
# unfinished, not training, and not a result this checkout still lacks.
to_adopt=()
for old in "$@"; do
  [ -d "$old/$RUNS" ] || fail "$old holds no $RUNS: not a training checkout"
  for run_path in "$old/$RUNS"/*/*/s*/; do
    [ -d "$run_path" ] || continue
    run=${run_path#"$old"/}
    run=${run%/}
    run_committed "$run" && continue
    if [ -e "$old/$run/failed.json" ]; then
      fail "$old/$run holds a failed.json that this checkout lacks: restore the committed marker here first"
    fi
    if run_finished "$old/$run"; then
      fail "$old/$run has finished (or failed) and is not collected here: run tools/collect_confirmatory.sh $old first"
    fi
    # The runner holds <run>/.lock (flock) while it trains (agents.files.RunLock).
    if [ -e "$old/$run/.lock" ] && ! flock -n "$old/$run/.lock" true; then
      fail "$old/$run is training: stop that checkout's lanes first"
    fi
    to_adopt+=("$old/$run")
  done
done

git clone --quiet "$PWD" "$DIR"
git -C "$DIR" checkout --quiet "$COMMIT"
copied=0
for marker in "$RUNS"/*/*/s*/summary.json "$RUNS"/*/*/s*/failed.json; do
  [ -e "$marker" ] || continue
  run=$(dirname "$marker")
  [ -e "$DIR/$marker" ] && continue # committed at COMMIT already
  mkdir -p "$DIR/$run"
  cp -r "$run/." "$DIR/$run/"
  copied=$((copied + 1))
done
adopted=0
for source in "${to_adopt[@]}"; do
  run=$RUNS/${source#*/"$RUNS"/}
  if [ -e "$DIR/$run" ]; then
    echo "not adopted: $source (another old checkout's copy came first)" >&2
    continue
  fi
  mkdir -p "$(dirname "$DIR/$run")"
  cp -a "$source" "$DIR/$run"
  echo "adopted $run from ${source%/"$run"}" >&2
  adopted=$((adopted + 1))
done
echo "$DIR at $(git -C "$DIR" rev-parse --short HEAD), with $copied runs committed after it" \
  "and $adopted unfinished runs adopted"
