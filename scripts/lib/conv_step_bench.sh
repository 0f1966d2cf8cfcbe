# shellcheck shell=bash
# Sourced by scripts/performance_table.sh: the training step of the convolutional models (U-Net + ConvGRU:
# video_mnist_cpu, robot_swap_cpu) before and after the training-speed work, with df_bench --profile.
#
#   conv_before_build REF DIR   # builds REF with the step profiler added (df/training/step_profile.* and
#                               # df_bench.cpp of the working tree; the models and trainer stay REF's) into DIR
#   conv_step_rows BUILD LABEL PRECISIONS   # markdown rows for both configs, one per precision
#
# Every row is one df_bench run: median of 3 windows of 3 steps after a warm-up step, then 2 profiled steps.
# FLOPs are counted from the convolution and product shapes; GFLOP/s = FLOPs / median step time; the shares
# are of the instrumented op time (df/training/step_profile.h).

conv_before_build() {
  local ref=$1 dir=$2 src="$2-src"
  [[ -x $dir/apps/tools/df_bench ]] && return 0
  rm -rf "$src"
  git worktree add --force --detach "$src" "$ref" >/dev/null
  cp include/df/training/step_profile.h "$src/include/df/training/"
  cp src/training/step_profile.cpp "$src/src/training/"
  cp apps/tools/df_bench.cpp "$src/apps/tools/"
  grep -q step_profile.cpp "$src/src/CMakeLists.txt" ||
    sed -i 's#^  training/trainer.cpp#  training/trainer.cpp\n  training/step_profile.cpp#' "$src/src/CMakeLists.txt"
  CCACHE_BASEDIR=$(cd "$src" && pwd) cmake -S "$src" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    $(command -v ccache >/dev/null && echo -DCMAKE_CXX_COMPILER_LAUNCHER=ccache) >/dev/null
  CCACHE_BASEDIR=$(cd "$src" && pwd) cmake --build "$dir" --target df_bench -j"$(nproc)" >/dev/null
}

conv_step_rows() {  # build, label, precisions
  local build=$1 label=$2 precisions=$3 config prec json
  for config in video_mnist_cpu robot_swap_cpu; do
    local extra=()
    # A few demonstrations are enough to time a step (the generator writes them once, shared by both builds).
    [[ $config == robot_swap_cpu ]] && extra=(--set robot.demos=4 --set robot.demo_dir=runs/performance/robot_demos_4)
    for prec in $precisions; do
      json="runs/performance/conv_${label}_${config}_${prec}.json"
      if [[ ! -s $json ]]; then
        "$build/apps/tools/df_bench" --config "configs/$config.yaml" --set "experiment.threads=$THREADS" \
          --set "training.precision=$prec" "${extra[@]}" --steps 3 --repeats 3 --warmup 1 --profile \
          --profile-steps 2 --json "$json" >"${json%.json}.log" 2>&1 || { echo "| $config | $label | $prec | failed: see ${json%.json}.log | | | |"; continue; }
      fi
      /usr/bin/python3 - "$json" "$config" "$label" "$prec" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print(f"| {sys.argv[2]} | {sys.argv[3]} | {sys.argv[4]} | {d['train_step_s']:.3f} | {d['flops_per_step'] / 1e9:.1f} | "
      f"{d['gflops_per_s']:.0f} | {100 * d['share_conv']:.0f}% / {100 * d['share_matmul']:.0f}% / {100 * d['share_other']:.0f}% |")
PY
    done
  done
}
