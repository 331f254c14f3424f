#!/usr/bin/env bash
# A checkout that trains the confirmatory runs (tools/run_confirmatory.sh) at a fixed commit, on
# a machine that has none yet: a clone of this repository at COMMIT, holding every run committed
# on this checkout's HEAD (untracked there, so the checkout stays clean and the lanes skip them).
#   bash tools/training_checkout.sh 6b2e223 /work/confirmatory4    # the score arms' commit
#   bash tools/training_checkout.sh 0bce2a4 /work/attention5       # amendment 5's
# Then, in DIR, with this checkout's environment (the jobs run `python -m agents` from DIR, so
# DIR's code trains): SNAKEMAKE=<this checkout>/.venv/bin/snakemake bash tools/run_confirmatory.sh
set -euo pipefail
cd "$(dirname "$0")/.."
COMMIT=${1:?usage: tools/training_checkout.sh COMMIT DIR}
DIR=${2:?usage: tools/training_checkout.sh COMMIT DIR}
RUNS=results/confirmatory/runs
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
echo "$DIR at $(git -C "$DIR" rev-parse --short HEAD), with $copied runs committed after it"
