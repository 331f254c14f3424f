#!/usr/bin/env bash
# A checkout that trains the confirmatory runs (tools/run_confirmatory.sh) at a fixed commit, on
# a machine that has none yet: a clone of this repository at COMMIT, holding every run committed
# on this checkout's HEAD (untracked there, so the checkout stays clean and the lanes skip them).
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
COMMIT=${1:?usage: tools/training_checkout.sh COMMIT DIR}
DIR=${2:?usage: tools/training_checkout.sh COMMIT DIR [OLD_CHECKOUT ...]}
shift 2
RUNS=results/confirmatory/runs
for old in "$@"; do
  [ -d "$old/$RUNS" ] || { echo "error: $old holds no $RUNS: not a training checkout" >&2; exit 2; }
done
if [ -e "$DIR" ]; then
  echo "error: $DIR exists; a training checkout is made only where there is none" >&2
  exit 2
fi
git cat-file -e "$COMMIT^{commit}" 2>/dev/null || { echo "error: $COMMIT is not a commit here" >&2; exit 2; }
git clone --quiet "$PWD" "$DIR"
git -C "$DIR" checkout --quiet "$COMMIT"
copied=0
for summary in "$RUNS"/*/*/s*/summary.json; do
  [ -e "$summary" ] || continue
  run=$(dirname "$summary")
  [ -e "$DIR/$run/summary.json" ] && continue  # committed at COMMIT already
  mkdir -p "$DIR/$run"
  cp -r "$run/." "$DIR/$run/"
  copied=$((copied + 1))
done
adopted=0
for old in "$@"; do
  for run_path in "$old/$RUNS"/*/*/s*/; do
    [ -d "$run_path" ] || continue
    run=${run_path#"$old"/}
    run=${run%/}
    # Finished (collected, or to collect from there), or here already: not adopted.
    [ -e "$old/$run/summary.json" ] || [ -e "$DIR/$run" ] && continue
    mkdir -p "$(dirname "$DIR/$run")"
    cp -a "$old/$run" "$DIR/$run"
    echo "adopted $run from $old" >&2
    adopted=$((adopted + 1))
  done
done
echo "$DIR at $(git -C "$DIR" rev-parse --short HEAD), with $copied runs committed after it" \
  "and $adopted unfinished runs adopted"
