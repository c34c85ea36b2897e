#!/usr/bin/env bash
# The GPU checks in one script, for a machine with one CUDA GPU and textgru installed: the main job on the GPU in
# fp32 and bf16-mixed, a one-GPU DDP run (NCCL), its checkpoint on the CPU, eval and predict with device=cuda, the
# language model trained and sampled on the GPU, the inference benchmarks with --device cuda, then the test suite
# with the GPU visible. Each step has its own time limit, logs to OUT/<step>.log and adds a line to OUT/summary.txt;
# a failed step does not stop the rest.
#
# Usage: [RUNS=folder] [PYTHON=python3] bash bench/gpu_check.sh [OUT]   (OUT defaults to bench/results/gpu_check, RUNS to
# OUT/runs); without a GPU it stops at once with one line.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$(realpath -m "${1:-$ROOT/bench/results/gpu_check}") # relative paths: from where the script was run
RUNS=$(realpath -m "${RUNS:-$OUT/runs}")
PY=${PYTHON:-python}
cd "$ROOT"
if ! "$PY" -c "import sys, torch; sys.exit(not torch.cuda.is_available())"; then
  echo "error: $PY's torch finds no CUDA GPU here; bench/gpu_check.sh is for a machine with one" >&2
  exit 2
fi
mkdir -p "$OUT" "$RUNS"
SUMMARY=$OUT/summary.txt
: >"$SUMMARY"
CHILD=
# Ctrl+C (or a TERM) ends the step running (timeout puts it in a process group of its own) and the script
trap 'if [ -n "$CHILD" ]; then kill -TERM -- "-$CHILD" 2>/dev/null; fi; echo "gpu_check: interrupted" >&2; exit 130' INT TERM

step() { # step NAME SECONDS COMMAND...: run it with a limit, log it, summarise its exit status and time
  local name=$1 limit=$2
  shift 2
  local start=$SECONDS
  timeout "$limit" "$@" >"$OUT/$name.log" 2>&1 &
  CHILD=$!
  wait "$CHILD"
  local rc=$?
  CHILD=
  printf '%-16s rc=%-3s %4ss  %s\n' "$name" "$rc" "$((SECONDS - start))" "$(grep -E "$PATTERN" "$OUT/$name.log" | tail -n 3 | tr '\n' ' ' | cut -c1-300)" | tee -a "$SUMMARY"
}
PATTERN='macro_f1|test/|error|Error|passed|failed|tokens/s|texts/s|^ +[0-9]+ \||batched|one text'

nvidia-smi -L | tee -a "$SUMMARY"
"$PY" -c "import sys, torch, lightning; print('python', sys.version.split()[0], 'torch', torch.__version__, 'lightning', lightning.__version__, 'cuda', torch.cuda.is_available())" | tee -a "$SUMMARY"

step train_fp32 240 "$PY" -m textgru train trainer=gpu hydra.run.dir="$RUNS/fp32"
step train_bf16 240 "$PY" -m textgru train trainer=gpu trainer.precision=bf16-mixed hydra.run.dir="$RUNS/bf16"
step train_ddp1 180 "$PY" -m textgru train trainer=ddp trainer.devices=1 trainer.max_epochs=1 hydra.run.dir="$RUNS/ddp1"
step eval_cuda 120 "$PY" -m textgru eval ckpt_path="$RUNS/fp32" device=cuda
step predict_cpu 120 env CUDA_VISIBLE_DEVICES= "$PY" -m textgru predict ckpt_path="$RUNS/fp32" text="what a lovely day"
step predict_bf16 120 "$PY" -m textgru predict ckpt_path="$RUNS/fp32" device=cuda precision=bf16 text="what a lovely day"
step predict_bench 240 "$PY" bench/predict_throughput.py --ckpt "$RUNS/fp32" --device cuda --repeats 3 \
  --batch-sizes 64 256 1024 --out "$OUT/predict_throughput_cuda.json" --overwrite
step train_lm 240 "$PY" -m textgru train task=lm trainer=gpu trainer.max_steps=600 trainer.val_check_interval=200 \
  hydra.run.dir="$RUNS/lm"
step generate 120 "$PY" -m textgru generate ckpt_path="$RUNS/lm" device=cuda prompt="ROMEO:" seed=1 max_new_tokens=200
step generate_bench 240 "$PY" bench/generation_speed.py --ckpt "$RUNS/lm" --device cuda --repeats 3 \
  --batches 1 32 256 --out "$OUT/generation_speed_cuda.json" --overwrite
step gpu_tests 200 "$PY" -m pytest -q -p no:cacheprovider -n 4 tests/test_devices.py tests/test_api.py tests/test_fused_bigru.py
# the suite gets what is left of BUDGET seconds (default 560: the whole script inside a 10-minute command)
step tests "$((${BUDGET:-560} - SECONDS > 60 ? ${BUDGET:-560} - SECONDS : 60))" \
  "$PY" -m pytest -q -p no:cacheprovider -n "${TEST_WORKERS:-12}"
