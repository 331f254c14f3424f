#!/usr/bin/env bash
# Run the confirmatory study's runs in the pre-registered order, two lanes side by side
# (docs/preregistration.md, "Compute plan"):
#   lane 1: the i-DQN runs, cell by cell (seed 0 of Breakout, Freeway, SpaceInvaders, Asterix,
#           Seaquest, then seed 1, ...);
#   lane 2: the DDQN runs in the same order (about twice as fast, so each cell's DDQN starts
#           with or before its i-DQN, on the same machine), then the idqn-original-code runs,
#           then the SB3 runs;
# then amendment 1's arms (docs/preregistration-amendments.md), split between the lanes.
# Each run is one `snakemake <its summary.json>` call through the confirmatory profile, so a
# finished run is never redone and a killed one resumes from its checkpoint. Run it from a clean
# checkout (the runs record its commit):
#   bash tools/run_confirmatory.sh            # both lanes, in the background of this shell
#   bash tools/run_confirmatory.sh attention  # amendment 5's arms instead: attention | no-attention
#   touch .stop-lanes                         # each lane stops after its current run
set -euo pipefail
cd "$(dirname "$0")/.."
SNAKEMAKE=${SNAKEMAKE:-.venv/bin/snakemake}
RUNS=results/confirmatory/runs
GAMES=(MinAtar-Breakout MinAtar-Freeway MinAtar-SpaceInvaders MinAtar-Asterix MinAtar-Seaquest)

if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
  echo "error: the checkout has uncommitted changes; pre-registered runs start from a clean commit" >&2
  exit 2
fi

cells() {  # arm seeds... -> one summary.json per (seed, game), seed-major
  local arm=$1
  shift
  for seed in "$@"; do
    for game in "${GAMES[@]}"; do
      echo "$RUNS/$arm/$game/s$seed/summary.json"
    done
  done
}

lane() {  # run each target in turn; a failed run is reported and the lane goes on
  for target in "$@"; do
    if [ -e .stop-lanes ]; then
      echo "lane: .stop-lanes exists; stopping before $target" >&2
      return
    fi
    # A run stopped on a non-finite loss is finished (amendment 8): not retried, so that its
    # train.log, which tools/collect_confirmatory.sh reads, keeps the error.
    if grep -qs "non-finite" "$(dirname "$target")/train.log"; then
      echo "lane: $(dirname "$target") stopped on a non-finite loss; collect it, not rerun" >&2
      continue
    fi
    # One core each; --nolock because the two lanes share the working directory, and never
    # build the same file.
    "$SNAKEMAKE" "$target" --profile workflow/profiles/confirmatory --cores 1 --nolock \
      || echo "lane: $target failed (see its train.log)" >&2
  done
}

if [ "${1:-}" = attention ]; then  # amendment 5's arms, started from its commit or later
  MOTT_GAMES=(MinAtar-Breakout MinAtar-SpaceInvaders MinAtar-Asterix)
  OTHER_GAMES=(MinAtar-Freeway MinAtar-Seaquest)
  lane1=() lane2=()
  for seed in 0 1 2 3 4; do
    for game in "${MOTT_GAMES[@]}"; do
      lane1+=("$RUNS/attention/$game/s$seed/summary.json")
      lane2+=("$RUNS/no-attention/$game/s$seed/summary.json")
    done
  done
  for seed in 0 1 2; do
    for game in "${OTHER_GAMES[@]}"; do
      lane2+=("$RUNS/attention-3-seeds/$game/s$seed/summary.json")
    done
  done
  lane "${lane1[@]}" &
  lane "${lane2[@]}" &
  wait
  exit 0
fi

lane1=($(cells idqn 0 1 2 3 4))
lane2=($(cells ddqn 0 1 2 3 4))
for seed in 0 1 2; do
  for game in MinAtar-Breakout MinAtar-Freeway; do
    lane2+=("$RUNS/idqn-original-code/$game/s$seed/summary.json")
  done
done
lane2+=($(cells sb3-dqn 0 1 2))
amended() {  # arm games... -> seeds 0-2, game by game
  local arm=$1
  shift
  for game in "$@"; do
    for seed in 0 1 2; do
      echo "$RUNS/$arm/$game/s$seed/summary.json"
    done
  done
}
lane1+=($(amended idqn-vae-beta0 MinAtar-Breakout MinAtar-SpaceInvaders))
lane1+=($(amended idqn-dense-vae MinAtar-Breakout MinAtar-SpaceInvaders))
lane2+=($(amended idqn-vae-beta0.01 MinAtar-Breakout MinAtar-SpaceInvaders))
lane2+=($(amended idqn-no-diversity MinAtar-Breakout))

lane "${lane1[@]}" &
lane "${lane2[@]}" &
wait
