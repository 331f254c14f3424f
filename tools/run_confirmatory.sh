#!/usr/bin/env bash
# Train the confirmatory study's runs (docs/preregistration.md, "Compute plan"; amendments 1, 5,
# 11 and 14) from one queue in the pre-registered order, LANES runs side by side (default 2, one
# per core). Each lane walks the queue, the SB3 runs first (they cannot resume; none starts after
# SB3_LAST_START), then the runs already started (with a checkpoint), then the rest, and
# claims the first run that is neither finished nor claimed by another lane (a lock per run, held
# while it trains and freed when its holder stops). It walks the queue again until a walk claims
# nothing, so any number of lanes, started together or later, never train the same run at once,
# and a run another lane gave up is taken up again. A run that fails twice in one invocation is
# left (its train.log says why). The queue:
#   1. the score arms: each cell's DDQN run, then its i-DQN run (seed 0 of Breakout, Freeway,
#      SpaceInvaders, Asterix, Seaquest, then seed 1, ...), taken in turn with amendment 5's
#      attention / no-attention cells (seed-major, Breakout, SpaceInvaders, Asterix); then the
#      idqn-original-code runs and the SB3 runs in turn with amendment 5's attention-3-seeds runs;
#   2. amendment 1's interpretability arms, game by game, seeds 0-2.
# Each run is one `snakemake <its summary.json>` call through the confirmatory profile, so a
# finished run is never redone and a killed one resumes from its checkpoint. Run it from a clean
# checkout (the runs record its commit):
#   bash tools/run_confirmatory.sh                      # 2 lanes, every arm
#   LANES=4 bash tools/run_confirmatory.sh attention    # 4 lanes, amendment 5's arms only
#   SB3_LAST_START="2026-12-05 05:00" bash tools/run_confirmatory.sh
#       # an SB3 run cannot resume from a checkpoint: none starts after that time
#   touch .stop-lanes                                   # each lane stops after its current run
# Arguments name arms to keep (`attention` stands for amendment 5's three); none keeps all.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tools/run_states.sh
source tools/run_states.sh
SNAKEMAKE=${SNAKEMAKE:-.venv/bin/snakemake}
LANES=${LANES:-2}
MAX_TRIES=2
RUNS=results/confirmatory/runs
LOCKS=.snakemake/lanes # ignored by git: the claims never make the checkout dirty
GAMES=(MinAtar-Breakout MinAtar-Freeway MinAtar-SpaceInvaders MinAtar-Asterix MinAtar-Seaquest)
MOTT_GAMES=(MinAtar-Breakout MinAtar-SpaceInvaders MinAtar-Asterix)
OTHER_GAMES=(MinAtar-Freeway MinAtar-Seaquest)

fail() {
  echo "error: $*" >&2
  exit 2
}
[[ $LANES =~ ^[1-9][0-9]?$ ]] || fail "LANES must be a whole number from 1 to 99, not '$LANES'"
sb3_deadline=
if [ -n "${SB3_LAST_START:-}" ]; then
  sb3_deadline=$(date -d "$SB3_LAST_START" +%s 2>/dev/null) \
    || fail "SB3_LAST_START is not a date: '$SB3_LAST_START'"
fi
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
  fail "the checkout has uncommitted changes; pre-registered runs start from a clean commit"
fi

target() { echo "$RUNS/$1/$2/s$3/summary.json"; }

cells() { # arm "seed ..." game...: one target per (seed, game), seed-major
  local arm=$1 seeds=$2
  shift 2
  for seed in $seeds; do
    for game in "$@"; do target "$arm" "$game" "$seed"; done
  done
}

interleave() { # list files... -> their lines taken in turn, one from each, until all are spent
  paste -d '\n' "$@" | sed '/^$/d'
}

ordered_queue() {
  local tmp
  tmp=$(mktemp -d)
  for seed in 0 1 2 3 4; do
    for game in "${GAMES[@]}"; do
      target ddqn "$game" "$seed"
      target idqn "$game" "$seed"
    done
  done > "$tmp/scores"
  for seed in 0 1 2 3 4; do
    for game in "${MOTT_GAMES[@]}"; do
      target attention "$game" "$seed"
      target no-attention "$game" "$seed"
    done
  done > "$tmp/mott"
  {
    for seed in 0 1 2; do
      for game in MinAtar-Breakout MinAtar-Freeway; do target idqn-original-code "$game" "$seed"; done
    done
    cells sb3-dqn "0 1 2" "${GAMES[@]}"
  } > "$tmp/peers"
  cells attention-3-seeds "0 1 2" "${OTHER_GAMES[@]}" > "$tmp/other-games"
  interleave "$tmp/scores" "$tmp/mott"
  interleave "$tmp/peers" "$tmp/other-games"
  for arm in idqn-vae-beta0 idqn-vae-beta0.01 idqn-dense-vae; do
    for game in MinAtar-Breakout MinAtar-SpaceInvaders; do cells "$arm" "0 1 2" "$game"; done
  done
  cells idqn-no-diversity "0 1 2" MinAtar-Breakout
  rm -r "$tmp"
}

arm_of() { # results/confirmatory/runs/ARM/GAME/sSEED/summary.json -> ARM
  local path=${1#"$RUNS"/}
  echo "${path%%/*}"
}

kept() { # arm: whether the command line keeps it
  [ ${#KEEP[@]} -eq 0 ] && return 0
  local name
  for name in "${KEEP[@]}"; do
    case "$name:$1" in
      attention:attention | attention:no-attention | attention:attention-3-seeds) return 0 ;;
      "$1:$1") return 0 ;;
    esac
  done
  return 1
}

# The functions a claimed run's attempt needs in the shell flock starts.
UNDER_LOCK=(run_committed run_stopped_non_finite run_finished given_up attempt)

given_up() { # tries-file: this invocation has failed the run MAX_TRIES times
  [ -e "$1" ] && [ "$(wc -l < "$1")" -ge "$MAX_TRIES" ]
}

attempt() { # run tries-file lane: train the run unless it has ended meanwhile (under its lock)
  run_finished "$1" && return 0
  given_up "$2" && return 0
  local status=0
  # One core each; --nolock because the lanes share the working directory, and never build the
  # same file.
  "$SNAKEMAKE" "$1/summary.json" --profile workflow/profiles/confirmatory --cores 1 --nolock \
    || status=$?
  if ! run_finished "$1"; then
    echo "$status" >> "$2"
    echo "lane $3: $1 failed, try $(wc -l < "$2") of $MAX_TRIES (see its train.log)" >&2
  fi
}

lane() { # pass over the queue, claiming, training and releasing each run no other lane holds,
  # until a pass claims nothing: a run another lane gave up is taken on a later pass
  local number=$1 target run lock tries status claimed=1
  while [ "$claimed" = 1 ]; do
    claimed=0
    while read -r target; do
      if [ -e .stop-lanes ]; then
        echo "lane $number: .stop-lanes exists; stopping" >&2
        return
      fi
      run=$(dirname "$target")
      tries="$TRIES/${run//\//_}"
      run_finished "$run" && continue
      given_up "$tries" && continue
      if [ "$(arm_of "$target")" = sb3-dqn ] && [ -n "$sb3_deadline" ] \
        && [ "$(date +%s)" -ge "$sb3_deadline" ]; then
        continue
      fi
      lock="$LOCKS/${run#"$RUNS"/}.lock"
      mkdir -p "$(dirname "$lock")"
      # flock -n: another lane holds this run (exit 75); the lock is freed when its holder stops.
      # Under it, attempt asks again whether the run has ended: another lane may just have ended
      # it. Stdin from /dev/null: the queue is this loop's.
      status=0
      flock -n -E 75 "$lock" bash -c "$(declare -f "${UNDER_LOCK[@]}")"'; attempt "$@"' \
        lane "$run" "$tries" "$number" < /dev/null || status=$?
      [ "$status" = 75 ] || claimed=1
    done < <(walk_order)
  done
}

walk_order() { # the queue as a lane walks it (amendment 14): the SB3 runs first, which cannot
  # resume and so must start early in a session (a lane skips them after SB3_LAST_START); then
  # the runs that have a checkpoint (started, to resume); then the rest, in the queue's order
  local target
  while read -r target; do
    [ "$(arm_of "$target")" = sb3-dqn ] && echo "$target"
  done < "$QUEUE"
  while read -r target; do
    [ "$(arm_of "$target")" != sb3-dqn ] && [ -e "$(dirname "$target")/checkpoint.pt" ] \
      && echo "$target"
  done < "$QUEUE"
  while read -r target; do
    [ "$(arm_of "$target")" != sb3-dqn ] && [ ! -e "$(dirname "$target")/checkpoint.pt" ] \
      && echo "$target"
  done < "$QUEUE"
  return 0 # the last test may fail: the walk is its output, not its status
}

KEEP=("$@")
for name in "${KEEP[@]}"; do
  case $name in
    attention | ddqn | idqn | idqn-original-code | sb3-dqn | idqn-vae-beta0 | idqn-vae-beta0.01 \
      | idqn-dense-vae | idqn-no-diversity | no-attention | attention-3-seeds) ;;
    *) fail "unknown arm '$name' (see config/confirmatory.yaml)" ;;
  esac
done
command -v "$SNAKEMAKE" > /dev/null || fail "no Snakemake at '$SNAKEMAKE' (set SNAKEMAKE, or run make setup)"
mkdir -p "$LOCKS"
QUEUE=$(mktemp)
TRIES=$(mktemp -d) # this invocation's failed tries per run: a run fails at most MAX_TRIES times
export SNAKEMAKE MAX_TRIES                          # for attempt, which runs under flock
trap 'rm -rf "$QUEUE" "$TRIES"' EXIT
ordered_queue | while read -r target; do
  if kept "$(arm_of "$target")"; then echo "$target"; fi
done > "$QUEUE"
echo "$(wc -l < "$QUEUE") runs in the queue, $LANES lanes" >&2
while read -r target; do
  run=$(dirname "$target")
  if ! run_committed "$run" && run_stopped_non_finite "$run"; then
    echo "$run stopped on a non-finite loss; collect it, not rerun" >&2
  fi
done < "$QUEUE"
for number in $(seq "$LANES"); do
  lane "$number" &
  sleep 2 # the lanes claim in turn, so the first runs start in the queue's order
done
wait
