#!/usr/bin/env bash
# The prepared GPU check: in one call of under 10 minutes (the parts' limits add up to 550 s),
# the figures that docs/benchmarks.md's GPU rows report (the Pong cost of a paper-budget run, the
# attention agent's speed, lockstep against one run at a time). Each part runs under its own time
# limit and writes OUT/<part>.txt as it goes, so a part cut short still reports what it measured.
#   bash benchmarks/gpu_check.sh OUT          # on a machine with CUDA
#   bash benchmarks/gpu_check.sh OUT --tiny   # anywhere, on the CPU: checks that every part
#                                             # runs; its numbers mean nothing
# Time it only when nothing else runs on the machine.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: bash benchmarks/gpu_check.sh OUT [--tiny]}
tiny=${2:-}
PYTHON=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
mkdir -p "$out"

part() {  # name seconds command... -> OUT/name.txt, with the exit status and the seconds taken
  local name=$1 limit=$2
  shift 2
  echo "== $name (at most ${limit} s): $*" | tee "$out/$name.txt"
  local start=$SECONDS
  timeout "$limit" "$@" 2>&1 | tee -a "$out/$name.txt"
  echo "== $name: exit ${PIPESTATUS[0]} after $((SECONDS - start)) s" | tee -a "$out/$name.txt"
}

{
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || echo "no nvidia-smi"
  "$PYTHON" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
  echo "cpu cores: $(nproc --all)"
  grep -m1 "model name" /proc/cpuinfo
} >"$out/machine.txt" 2>&1
cat "$out/machine.txt"

if [ "$tiny" = --tiny ]; then
  part pong 300 "$PYTHON" benchmarks/idqn_cost.py --device cpu --steps 600 --learning-starts 400
  part attention 300 "$PYTHON" benchmarks/attention_speed.py --device cpu --minatar-steps 400 \
    --atari-steps 100 --rounds 1 --updates 1
  part lockstep 300 "$PYTHON" benchmarks/lockstep.py --device cpu --tiny --agents ddqn \
    --minatar-sizes 1 2 --pong-sizes 1
  exit 0
fi
# Pong, `paper` presets: steady state after 10K warm-up steps; 2.5M agent steps make a 10M-frame run.
part pong 130 "$PYTHON" benchmarks/idqn_cost.py --device cuda --steps 18000 --learning-starts 10000
# The attention agent (MinAtar `minatar-v2`, and Atari `paper`) and its no-attention baseline.
part attention 120 "$PYTHON" benchmarks/attention_speed.py --device cuda --minatar-steps 10000 \
  --atari-steps 3200 --rounds 1 --updates 3
# Lockstep on the GPU against one run at a time, MinAtar `minatar` and Pong `paper` (2 threads).
part lockstep-idqn 150 "$PYTHON" benchmarks/lockstep.py --device cuda --agents idqn \
  --minatar-sizes 16 --pong-sizes 4
part lockstep-ddqn 150 "$PYTHON" benchmarks/lockstep.py --device cuda --agents ddqn \
  --minatar-sizes 16 64 --pong-sizes 4
