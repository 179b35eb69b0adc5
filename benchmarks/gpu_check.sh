#!/usr/bin/env bash
# One prepared GPU check for the QA fast path (H100 80 GB / H200; no network; < 8 minutes).
#
#   bash benchmarks/gpu_check.sh            # on the GPU machine, from the repository root
#   DRY_RUN=1 bash benchmarks/gpu_check.sh  # plumbing check on a CPU: 1-layer models, tiny data
#
# Full-size architectures with random weights (built from hand-written configs, bf16, SDPA):
#   1. throughput: Qwen2.5-VL-7B, 6 videos x 7 questions, 16 frames 640x480: the reference
#      per-question loop vs the suite (preprocessing + video-prefix cache, warm() prefetch)
#      vs the adapter's plain path; q/s, ratio, answer agreement, peak GPU memory.
#   2. per-family cases: Qwen3-VL-8B and InternVL3-8B-hf, 1 video x 3 questions each,
#      per-question latency and peak memory, cached vs reference agreement.
# Everything goes to stdout; with $OUT set, a summary and per-run JSON files go there too.
# Expected ~3 minutes on an H100 (each run is capped: 60 + 230 + 80 + 80 s at most).
# Needs only what the GPU machine has (torch, transformers 5.x, torchvision, accelerate).
set -u
cd "$(dirname "$0")/.."
START=$(date +%s)
OUT_DIR="${OUT:-}"
SUMMARY=/dev/null
if [ -n "$OUT_DIR" ]; then
  mkdir -p "$OUT_DIR"
  SUMMARY="$OUT_DIR/gpu_check_summary.txt"
  : > "$SUMMARY"
fi
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export PYTORCH_CUDA_ALLOC_CONF="${PYTORCH_CUDA_ALLOC_CONF:-expandable_segments:True}"
PY="${PYTHON:-python}"

say() { echo "$@" | tee -a "$SUMMARY"; }

say "== dynbench gpu_check $(date -u +%FT%TZ) (git $(git rev-parse --short HEAD 2>/dev/null || echo '?'))"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null \
  | sed 's/^/gpu: /' | tee -a "$SUMMARY"
$PY -c "import torch, transformers; print('torch', torch.__version__, 'cuda', torch.version.cuda, \
'| transformers', transformers.__version__, '| cuda available', torch.cuda.is_available())" \
  2>&1 | tee -a "$SUMMARY"

# dynbench.adapters maps to adapters/ through the editable install; the benchmark script
# falls back to mapping it by hand when this install is impossible.
if [ -n "${DRY_RUN:-}" ]; then
  say "DRY_RUN: no editable install"
elif timeout 60 $PY -m pip install --no-deps --no-build-isolation -q -e . \
    >/tmp/dynbench-pip.log 2>&1; then
  say "editable install: ok"
else
  say "editable install failed (tail below); the script maps dynbench.adapters itself"
  tail -3 /tmp/dynbench-pip.log
fi

EXTRA=()
if [ -n "${DRY_RUN:-}" ]; then
  EXTRA=(--layers 1 --device cpu)
  say "DRY_RUN: 1-layer models on the CPU, tiny data (plumbing only, numbers meaningless)"
fi

run() {  # run <seconds> <name> <args...>
  local limit=$1 name=$2
  shift 2
  local json=/dev/null
  [ -n "$OUT_DIR" ] && json="$OUT_DIR/bench_$name.json"
  say ""
  say "== $name: bench_qa_throughput.py $* (limit ${limit}s, t+$(( $(date +%s) - START ))s)"
  local t0=$(date +%s)
  timeout "$limit" $PY benchmarks/bench_qa_throughput.py "$@" ${EXTRA[@]+"${EXTRA[@]}"} --json "$json" \
    2>&1 | grep -v -E "^Loading weights|it/s\]$" | tee /tmp/dynbench-$name.log
  local rc=${PIPESTATUS[0]}
  # the result table and the RESULT line go to the summary
  sed -n '/^[^ ].* | .* q | /,$p' /tmp/dynbench-$name.log >> "$SUMMARY"
  say "== $name: exit $rc after $(( $(date +%s) - t0 ))s"
}

if [ -n "${DRY_RUN:-}" ]; then
  run 300 qwen2_5_vl --model-family qwen2_5_vl --videos 2 --questions 2 --frames 2 \
    --size 160x120 --with-plain
  run 200 qwen3_vl --model-family qwen3_vl --videos 1 --questions 2 --frames 2 --size 160x120
  run 200 internvl_hf --model-family internvl_hf --videos 1 --questions 2 --frames 2 \
    --size 160x120
else
  run 230 qwen2_5_vl --model-family qwen2_5_vl --videos 6 --questions 7 --frames 16 \
    --size 640x480 --with-plain
  run 80 qwen3_vl --model-family qwen3_vl --videos 1 --questions 3 --frames 16 --size 640x480
  run 80 internvl_hf --model-family internvl_hf --videos 1 --questions 3 --frames 16 \
    --size 640x480
fi
say ""
say "== gpu_check done in $(( $(date +%s) - START ))s"
