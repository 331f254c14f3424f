#!/usr/bin/env bash
# One chunk of a long Atari run of config/pong.yaml (issue 27): train the agent's run for at most
# MINUTES of wall clock (it resumes from its last checkpoint; at the time limit, SIGINT makes the
# run save a checkpoint where it stands, so a chunk loses no steps), then append the chunk to
# results/atari/README.md: start and end frame (the checkpoint's, or the budget once finished),
# the CPU model and the wall time.
#   bash tools/run_atari_chunk.sh ddqn 150        # then commit results/atari/ (see its README)
# THREADS (default: config/pong.yaml's train_threads) sets the run's torch threads, for two runs
# side by side on two cores, each from its own checkout (snakemake locks a working directory):
#   THREADS=1 bash tools/run_atari_chunk.sh idqn 150
# After a chunk that did not finish, it writes the run's resume point (resume.pt: the checkpoint's
# weights and counters, without its replay and optimiser state; a few MB), to commit at a
# session's end. Without its checkpoint.pt (only on the disk that trained it), a run resumes warm
# from a committed resume.pt, and its row says so; a run with logs and neither is refused:
# RESTART=1 starts it again from frame 0.
set -euo pipefail
cd "$(dirname "$0")/.."
AGENT=${1:?usage: tools/run_atari_chunk.sh AGENT MINUTES}
MINUTES=${2:?usage: tools/run_atari_chunk.sh AGENT MINUTES}
SNAKEMAKE=${SNAKEMAKE:-.venv/bin/snakemake}
PY=${PY:-.venv/bin/python}
THREADS=${THREADS:-$(sed -n 's/^train_threads: *\([0-9]*\).*/\1/p' config/pong.yaml)}
RUN=results/atari/pong/$AGENT/Pong/s0
LOG=results/atari/README.md
case "$AGENT" in ddqn | idqn) ;; *) echo "error: AGENT must be ddqn or idqn (config/pong.yaml)" >&2; exit 2 ;; esac
[[ "$MINUTES" =~ ^[1-9][0-9]*$ ]] || { echo "error: MINUTES must be a positive integer" >&2; exit 2; }
[[ "$THREADS" =~ ^[1-9][0-9]*$ ]] || { echo "error: THREADS must be a positive integer" >&2; exit 2; }

frame() {  # the frame a restart resumes from: the checkpoint's step times the frame skip
  "$PY" - "$RUN" <<'PYTHON'
import json, sys
from pathlib import Path
import torch, yaml
run = Path(sys.argv[1])
if (run / "summary.json").exists():
    print(json.loads((run / "summary.json").read_text())["frames"])
elif (saved := next((run / n for n in ("checkpoint.pt", "resume.pt") if (run / n).exists()), None)):
    step = torch.load(saved, map_location="cpu", weights_only=True)["step"]
    print(step * yaml.safe_load((run / "config.yaml").read_text())["config"]["frame_skip"])
else:
    print(0)
PYTHON
}

if [ -e "$RUN/summary.json" ]; then
  echo "$RUN is finished (summary.json); nothing to train" >&2
  exit 0
fi
# A run whose logs are here but whose checkpoint is not (a new machine, a fresh clone) would
# start again from frame 0 and replace them: only when asked to.
restarted=""
if [ ! -e "$RUN/checkpoint.pt" ] && [ "${RESTART:-0}" = 1 ]; then
  rm -f "$RUN/resume.pt"
fi
if [ ! -e "$RUN/checkpoint.pt" ] && [ -e "$RUN/resume.pt" ]; then
  restarted="resumed warm from resume.pt (no checkpoint.pt: replay refilled, optimiser restarted); "
elif [ ! -e "$RUN/checkpoint.pt" ] && [ -s "$RUN/episodes.csv" ]; then
  logged=$(tail -n 1 "$RUN/episodes.csv" | cut -d, -f1)
  if [ "${RESTART:-0}" != 1 ]; then
    echo "error: $RUN has logs to frame $logged but neither checkpoint.pt nor resume.pt to resume from; RESTART=1 starts it again from frame 0, replacing them" >&2
    exit 1
  fi
  restarted="started again (RESTART=1), replacing logs to frame $logged; "
fi
start=$(frame)
began=$(date -u +%Y-%m-%dT%H%MZ)
t0=$(date +%s)
status=0
timeout --signal=INT --kill-after=60 "${MINUTES}m" "$SNAKEMAKE" "$RUN/summary.json" \
  --configfile config/pong.yaml --config "train_threads=$THREADS" --cores 2 || status=$?
wall=$(( $(date +%s) - t0 ))
end=$(frame) || end="?"
no_point=""
if [ ! -e "$RUN/summary.json" ] && [ -e "$RUN/checkpoint.pt" ]; then
  if ! "$PY" -m agents resume-point "$RUN" > /dev/null; then
    rm -f "$RUN/resume.pt"  # older than the logs now: a warm resume from it would replace rows
    no_point="; no resume point written"
  fi
fi
# The train rule rewrites train.log at each start: keep each chunk's.
if [ -e "$RUN/train.log" ]; then cp "$RUN/train.log" "$RUN/train-$began.log"; fi
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
case "$status" in
  0) how="finished" ;;
  124) how="stopped at ${MINUTES} min" ;;
  137) how="stopped at ${MINUTES} min, killed after 60 s more" ;;
  *)
    last=$(tail -n 1 "$RUN/train.log" 2>/dev/null || true)
    case "$last" in
      "interrupted by SIG"*)
        how="stopped by ${last#interrupted by }"
        how="${how%%:*} before its time limit, with a checkpoint where it stood" ;;
      *) how="failed (exit $status, see $RUN/train-$began.log)" ;;
    esac
    ;;
esac
row="| $AGENT | $began | $start | $end | $cpu, $(nproc) cores, torch threads: $THREADS | $wall | $restarted$how$no_point |"
tmp="$LOG.tmp"
if ! { cat "$LOG" && printf '%s\n' "$row"; } > "$tmp"; then
  rm -f "$tmp"
  echo "error: could not record the chunk in $LOG: $row" >&2
  exit 1
fi
chmod 644 "$tmp"
mv "$tmp" "$LOG"
echo "$row"
