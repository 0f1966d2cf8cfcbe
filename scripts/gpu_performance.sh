#!/usr/bin/env bash
# Issue 15's GPU figures, ours against the authors' model on the same GPU, in one call (after
# scripts/gpu_check.sh has built build-gpu on the same machine):
#   - training step of the paper's maze-medium / maze-large networks at the paper's batch (2048) with fp16
#     autocast on both sides (targets: ours >= 1.5x the authors');
#   - batch-1 pyramid plan, 50 DDIM steps over the whole horizon (target >= 20x), and a guided plan with 8
#     Monte Carlo guidance futures at batch 1 (the most expensive replanning step; target >= 100 Hz);
#   - the authors' DMLab video training step (ours needs the video domain, which the GPU build leaves out
#     because the machine has no OpenCV: reported as not measured).
# The authors' side needs their benchmark in .gpu-deps/authors_bench (scripts/fetch_gpu_deps.sh copies it from
# ../shared/bench where that exists; it is not part of this repository); without it only ours is timed.
# Writes $OUT/gpu_performance.md (the table) and the raw JSON beside it.
#   device tool: run(command="bash scripts/gpu_check.sh && bash scripts/gpu_performance.sh", carry=[".gpu-deps"])
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
OUT="${OUT:-$PWD/gpu-check-out}"
mkdir -p "$OUT"
exec > >(tee -a "$OUT/gpu_performance.log") 2>&1
source scripts/lib/gpu_env.sh
BENCH=${BENCH:-build-gpu/apps/tools/df_bench}
[ -x "$BENCH" ] || { echo "gpu_performance: $BENCH missing: run scripts/gpu_check.sh first"; exit 1; }
# A dry run of the script on a CPU machine: DEVICE=cpu PRECISION=fp32 BATCH=8 REPEATS=1 BENCH=build/apps/tools/df_bench
# SET="--set diffusion.sampling_steps=3" AUTHORS_ARGS=--quick (tiny plans; the figures mean nothing then).
DEVICE=${DEVICE:-cuda} PRECISION=${PRECISION:-fp16} BATCH=${BATCH:-2048} REPEATS=${REPEATS:-5} SET=${SET:-} AUTHORS_ARGS=${AUTHORS_ARGS:-}

ours() {  # name network_size tokens -> $OUT/ours_<name>.json
  echo "=== ours: $1 ($(date +%T))"
  "$BENCH" --config configs/bench_maze_model.yaml --set experiment.device="$DEVICE" --set training.precision="$PRECISION" \
    --set training.batch_size="$BATCH" --set model.network_size="$2" \
    --set compositional.trajectory_length=$(( $3 * 30 )) --set compositional.window=$(( $3 * 30 )) \
    --steps 10 --repeats "$REPEATS" --warmup 3 --sampling --json "$OUT/ours_$1.json" $SET 2>&1 | tail -8
}
ours maze_medium 16 60
ours maze_large 32 80

if [ -f .gpu-deps/authors_bench/authors_bench.py ]; then
  echo "=== the authors' model ($(date +%T))"
  PYTHONUNBUFFERED=1 $PY .gpu-deps/authors_bench/authors_bench.py $AUTHORS_ARGS | tee "$OUT/authors.log"
  grep '^RESULT' "$OUT/authors.log" | sed 's/^RESULT //' >"$OUT/authors.json"
else
  echo "(no .gpu-deps/authors_bench: the authors' side is not timed)"
fi

$PY - "$OUT" <<'PY' | tee "$OUT/gpu_performance.md"
import json, os, sys
out = sys.argv[1]
ref = json.load(open(f"{out}/authors.json")) if os.path.exists(f"{out}/authors.json") else {}
print(f"GPU: {ref.get('device', '?')}, authors' PyTorch {ref.get('torch', '?')}; medians of repeated runs after warm-up.")
print()
print("| shapes | train step, ours (s) | authors (s) | speed-up (target 1.5x) | pyramid plan b1, ours (s) | authors (s) "
      "| speed-up (target 20x) | guided MCG-8 plan b1, ours (s) | replanning rate (target 100 Hz) |")
print("|---|---|---|---|---|---|---|---|---|")
for name, h in (("maze_medium", 60), ("maze_large", 80)):
    path = f"{out}/ours_{name}.json"
    if not os.path.exists(path):
        print(f"| {name} | (ours failed: see gpu_performance.log) |||||||")
        continue
    o = json.load(open(path))
    r = ref.get(name, {})
    train, plan, guided = o.get("train_step_s"), o.get(f"plan_pyramid_b1_h{h}_s"), o.get(f"plan_guided_mcg8_b1_h{h}_s")
    ratio = lambda a, b: f"{a / b:.2f}x" if a and b else "n/a"
    fmt = lambda v: f"{v:.4f}" if v else "n/a"
    hz = f"{1 / guided:.1f} Hz" if guided else "n/a"
    print(f"| {name} | {fmt(train)} | {fmt(r.get('train_step_s'))} | {ratio(r.get('train_step_s'), train)} | {fmt(plan)} "
          f"| {fmt(r.get('sample_batch1_s'))} | {ratio(r.get('sample_batch1_s'), plan)} | {fmt(guided)} | {hz} |")
if "video_dmlab" in ref:
    r = ref["video_dmlab"]
    print(f"| video_dmlab | not measured (the GPU build has no video domain: no OpenCV there) | {r['train_step_s']:.4f} "
          f"| n/a | | | | | |")
PY
