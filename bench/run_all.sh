#!/usr/bin/env bash
# Re-measure the figures of the README's Results tables that bench/report.py prints, one job after another (never
# two at once), writing bench/results/<name>.json (with the machine, its load and the command) and
# bench/results/<name>.txt (the table).
#
#   bench/run_all.sh                  # from the repository root, in the environment textgru is installed in
#
# It runs bench/training_runs.py, tfidf_baseline.py, training_throughput.py, batching_throughput.py,
# generation_speed.py, predict_throughput.py, reference_gru_speed.py and ddp_throughput.py. Not these, which need
# arguments, checkpoints, extras or a long time and are run on their own (see each script's docstring):
# serve_load.py (--classifier RUN [--lm RUN]), stream_exactness.py, learning_curve.py (run or sweep folders),
# inference_backends.py (the onnx extra and two checkpoints) and tracking_overhead.py (MLflow; full training runs).
#
# First the training runs whose scores are quoted (bench/training_runs.py: the default classifier, two ablations, the
# tuned preset and the default language model, each once; an estimated 40 minutes), then the benchmarks (about 35),
# which use those runs' checkpoints: the language model for bench/generation_speed.py (its greedy check needs a
# trained model) and the default classifier for bench/predict_throughput.py. About 75 minutes in all (estimated) on an idle
# 2-core CPU. Run it on a quiet machine (other load changes every timing, and the configs' time caps can cut a
# training run short on a busy one) and read the load averages stored in each JSON.
#
# SKIP_TRAINING=1: benchmarks only; LM_CKPT=<lm run folder> and CLF_CKPT=<classifier run folder> then name the
#   checkpoints (without them: untrained models of the default shapes; speed does not depend on the weights).
# QUICK=1: every script with tiny settings, to check that all of them run (the figures mean nothing). Everything goes
#   to bench/results/quick/ instead (its runs in bench/results/quick/runs), which bench/report.py never reads.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1
results=bench/results${QUICK:+/quick}
mkdir -p "$results"

run() { # name script [args]: the JSON and the table go to $results/<name>.json and .txt
  local name=$1
  shift
  if [[ -n ${QUICK:-} ]]; then set -- "$@" --out "$results/$name.json"; fi # else the script's default: the same
  set -- "$@" --overwrite # re-measuring replaces the earlier $results/$name.json (the scripts refuse it otherwise)
  echo "== python $* ($(date +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?'))"
  local start=$SECONDS
  python "$@" | tee "$results/$name.txt.new" # the old table stays until this one is complete (set -e: no mv on failure)
  mv "$results/$name.txt.new" "$results/$name.txt"
  echo "   $name: $((SECONDS - start)) s"
}

quick() { if [[ -n ${QUICK:-} ]]; then echo "$@"; fi; }

total=$SECONDS
if [[ -z ${SKIP_TRAINING:-} ]]; then
  runs=$results/runs
  if [[ -e $runs ]]; then
    echo "error: $runs exists (runs of an earlier measurement); move it away first" >&2
    exit 2
  fi
  run training_runs bench/training_runs.py $(quick --runs-dir "$runs" --runs default lm \
    --extra trainer.max_steps=5 trainer.limit_val_batches=2 trainer.limit_test_batches=2)
  LM_CKPT=${LM_CKPT:-$runs/lm}
  CLF_CKPT=${CLF_CKPT:-$runs/default}
fi
run tfidf_baseline bench/tfidf_baseline.py $(quick --C 1)
run training_throughput bench/training_throughput.py $(quick --steps 3 --warmup 2 --repeats 1)
run batching_throughput bench/batching_throughput.py $(quick --batches 3 --synthetic-batches 2 --warmup 1 --repeats 1)
run generation_speed bench/generation_speed.py ${LM_CKPT:+--ckpt "$LM_CKPT"} \
  $(quick --new-tokens 10 --check-tokens 20 --warmup-tokens 2 --repeats 1)
run predict_throughput bench/predict_throughput.py ${CLF_CKPT:+--ckpt "$CLF_CKPT"} $(quick --texts 100 --repeats 1)
run reference_gru_speed bench/reference_gru_speed.py $(quick --repeats 1)
run ddp_throughput bench/ddp_throughput.py $(quick --sentiment-steps 6 --lm-steps 5 --repeats 1)
echo "all benchmarks: $(((SECONDS - total) / 60)) min; results in $results/"
