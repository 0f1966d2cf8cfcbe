#!/usr/bin/env bash
# The video pipeline check (issue: video models that predict; tests/video/test_pipeline_check.cpp): the
# recipes of configs/video_mnist1_cpu*.yaml on a smaller network at 16x16 overfit four fixed clips and sample
# their continuation at >= 25 dB PSNR. Minutes of one core, so not a ctest: scripts/video_mnist_experiment.sh
# runs this before it trains and stops when it fails.
#
#   bash scripts/video_pipeline_check.sh            # all three recipes; exit status 0 when all pass
#   bash scripts/video_pipeline_check.sh df.log     # the full log also in df.log
#
# Environment: BUILD (default build), FILTER (a gtest filter, default every recipe, e.g. '*diffusion_forcing').
# Prints each recipe's PSNR and the wall / CPU seconds of the whole check.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
LOG=${1:-$(mktemp /tmp/video_pipeline_check.XXXXXX.log)}
CHECK="$BUILD/tests/video/video_pipeline_check"
[ -x "$CHECK" ] || { echo "video_pipeline_check: $CHECK missing (bash scripts/build.sh)" >&2; exit 1; }
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive
start=$(date +%s)
timer=()
[ -x /usr/bin/time ] && timer=(/usr/bin/time -f "cpu_seconds %U")  # Debian's time package; optional
rc=0
${timer[@]+"${timer[@]}"} "$CHECK" --gtest_filter="${FILTER:-*}" > "$LOG" 2>&1 || rc=$?
grep -E "PSNR of the sampled continuation|^\[ +(OK|FAILED) +\] Recipes" "$LOG" | sed 's/, where GetParam.*//' || true
echo "video_pipeline_check: $(( $(date +%s) - start )) s wall, $(sed -n 's/^cpu_seconds //p' "$LOG" | grep . || echo '?') s CPU (log $LOG): $([ "$rc" = 0 ] && echo passed || echo FAILED)"
exit "$rc"
