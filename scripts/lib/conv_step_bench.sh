# shellcheck shell=bash
# Sourced by scripts/performance_table.sh: the training step of the convolutional models (U-Net + ConvGRU:
# video_mnist_cpu, robot_swap_cpu) before and after the training-speed work, with df_bench --profile.
#
#   conv_before_build REF DIR   # builds REF with the step profiler added (df/training/step_profile.* and
#                               # df_bench.cpp as the profiler's commit PROFILE_REF wrote them: later df_bench
#                               # versions use headers REF lacks; the models and trainer stay REF's) into DIR
#   conv_step_rows BUILD LABEL PRECISIONS   # markdown rows for both configs, one per precision; a precision
#                               # written <p>-shards runs the step as THREADS shards on THREADS threads at once
#                               # (training.shard_threads), one intra-op thread each; <p>[-shards]-libtorchconv
#                               # the same with the build's direct oneDNN convolutions off (DF_ONEDNN_CONV=0)
#
# Every row is one df_bench run: median of 3 windows of 3 steps after a warm-up step, then 2 profiled steps.
# FLOPs are counted from the convolution and product shapes; GFLOP/s = FLOPs / median step time; the shares
# are of the instrumented op time (df/training/step_profile.h).

conv_before_build() {
  local ref=$1 dir=$2 src="$2-src"
  [[ -x $dir/apps/tools/df_bench ]] && return 0
  rm -rf "$src"
  git worktree add --force --detach "$src" "$ref" >/dev/null
  local f
  for f in include/df/training/step_profile.h src/training/step_profile.cpp apps/tools/df_bench.cpp; do
    git show "${PROFILE_REF:-54383e3}:$f" >"$src/$f"
  done
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
    # A few demonstrations are enough to time a step (written once per build label: the folder format changed
    # between the builds, and each reads only its own).
    [[ $config == robot_swap_cpu ]] && extra=(--set robot.demos=4 --set "robot.demo_dir=runs/performance/robot_demos_4_$label")
    # Each build reads its own tree's config (a before build rejects keys added since), where it has one.
    local config_file="configs/$config.yaml"
    [[ -f "$build-src/configs/$config.yaml" ]] && config_file="$build-src/configs/$config.yaml"
    for spec in $precisions; do
      # spec: fp32 | bf16, then -shards (the batch split over shard threads), then -libtorchconv (the same build
      # with its direct oneDNN convolutions off, DF_ONEDNN_CONV=0: LibTorch's convolutions)
      local base=${spec%-libtorchconv} env=()
      prec=${base%-shards}
      local shards=() name=$prec
      if [[ $base == *-shards ]]; then
        shards=(--set "training.data_shards=$THREADS" --set "training.shard_threads=$THREADS")
        name="$prec, $THREADS shard threads"
      fi
      if [[ $spec == *-libtorchconv ]]; then
        env=(DF_ONEDNN_CONV=0)
        name="$name, LibTorch's convolutions"
      fi
      json="runs/performance/conv_${label}_${config}_${spec}.json"
      if [[ ! -s $json ]]; then
        env "${env[@]}" "$build/apps/tools/df_bench" --config "$config_file" --set "experiment.threads=$THREADS" \
          --set "training.precision=$prec" "${shards[@]}" "${extra[@]}" --steps 3 --repeats 3 --warmup 1 --profile \
          --profile-steps 2 --json "$json" >"${json%.json}.log" 2>&1 || { echo "| $config | $label | $name | failed: see ${json%.json}.log | | | |"; continue; }
      fi
      /usr/bin/python3 - "$json" "$config" "$label" "$name" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print(f"| {sys.argv[2]} | {sys.argv[3]} | {sys.argv[4]} | {d['train_step_s']:.3f} | {d['flops_per_step'] / 1e9:.1f} | "
      f"{d['gflops_per_s']:.0f} | {100 * d['share_conv']:.0f}% / {100 * d['share_matmul']:.0f}% / {100 * d['share_other']:.0f}% |")
PY
    done
  done
}

cores_rows() {  # build -> markdown rows: what the machine's second core adds to this step
  # The video step at one thread alone, at two threads, and two one-thread processes at once (each pinned to
  # its own core): if the two cores were independent, the pair would run at the single process's speed each.
  local build=$1 one two a b
  step_s() { "$build/apps/tools/df_bench" --config configs/video_mnist_cpu.yaml --set "experiment.threads=$1" "${@:2}" \
    --steps 3 --repeats 3 --warmup 1 2>/dev/null | sed -n 's/.*(\([0-9.]*\) s\/step.*/\1/p'; }
  one=$(OMP_NUM_THREADS=1 step_s 1)
  two=$(OMP_NUM_THREADS=2 step_s 2)
  local sharded
  sharded=$(OMP_NUM_THREADS=2 step_s 2 --set training.data_shards=2 --set training.shard_threads=2)
  a=$(mktemp) b=$(mktemp)
  OMP_NUM_THREADS=1 taskset -c 0 bash -c "$(declare -f step_s); build=$build; step_s 1" >"$a" &
  OMP_NUM_THREADS=1 taskset -c 1 bash -c "$(declare -f step_s); build=$build; step_s 1" >"$b" &
  wait
  /usr/bin/python3 - "$one" "$two" "$(cat "$a")" "$(cat "$b")" "$sharded" <<'PY'
import sys
one, two, a, b, shards = map(float, sys.argv[1:])
print(f"| one process, 1 thread | {one:.3f} | {1 / one:.2f} | 1.00x |")
print(f"| one process, 2 threads | {two:.3f} | {1 / two:.2f} | {one / two:.2f}x |")
print(f"| one process, 2 shard threads (training.shard_threads=2, 1 intra-op thread each, same global batch) | {shards:.3f} | {1 / shards:.2f} | {one / shards:.2f}x |")
print(f"| two 1-thread processes at once (cores 0 and 1) | {a:.3f} / {b:.3f} | {1 / a + 1 / b:.2f} | {one * (1 / a + 1 / b):.2f}x |")
PY
  rm -f "$a" "$b"
  # What a user gets from the second core: df_train --nproc 2, one thread per rank, the same global batch
  # (training.data_shards=2); steps/s of rank 0's training loop (metrics.csv), median of 3 runs of DP_STEPS.
  local rates=() r dir
  dir=$(mktemp -d)
  for r in 1 2 3; do
    rm -rf "$dir/run"
    OMP_NUM_THREADS=1 "$build/apps/tools/df_train" --nproc 2 --config configs/video_mnist_cpu.yaml \
      --set training.steps="${DP_STEPS:-30}" --set training.data_shards=2 --set training.validate_every=0 \
      --set training.checkpoint_every=0 --set training.log_every=0 --run-dir "$dir/run" >"$dir/log" 2>&1 ||
      { echo "| df_train --nproc 2 | failed: $(tail -1 "$dir/log") | | |"; rm -rf "$dir"; return 0; }
    rates+=("$(tail -1 "$dir/run/metrics.csv" | cut -d, -f4)")
  done
  rm -rf "$dir"
  /usr/bin/python3 - "$one" "${rates[@]}" <<'PY'
import statistics, sys
one, rate = float(sys.argv[1]), statistics.median(map(float, sys.argv[2:]))
print(f"| df_train --nproc 2 (data-parallel, 1 thread per rank, same global batch) | {1 / rate:.3f} | {rate:.2f} | {one * rate:.2f}x |")
PY
}
