#!/usr/bin/env bash
# GPU check: builds the project against the LibTorch bundled with PyTorch (CUDA), runs the parity tests on
# CUDA and the CPU suite, a short mixed-precision training, and prints training throughput.
# Expects .gpu-deps/*.deb (scripts/fetch_gpu_deps.sh) and writes logs under $OUT (default ./gpu-check-out).
# Then scripts/gpu_performance.sh (the side-by-side speed figures) uses the build it leaves in build-gpu.
#   device tool: run(command="bash scripts/gpu_check.sh", carry=[".gpu-deps"])
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
OUT="${OUT:-$PWD/gpu-check-out}"
mkdir -p "$OUT"
exec > >(tee -a "$OUT/gpu_check.log") 2>&1
step() { echo; echo "=== $* ($(date +%T))"; }

source scripts/lib/gpu_env.sh

step "machine"
nvidia-smi || true
$PY - <<'PYEOF'
import torch, os
print("torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version(),
      "available", torch.cuda.is_available(), "abi", torch._C._GLIBCXX_USE_CXX11_ABI)
print("bundled fmt headers:", os.path.isdir(os.path.join(os.path.dirname(torch.__file__), "include", "fmt")))
PYEOF
cmake --version | head -1; nvcc --version | tail -1; g++ --version | head -1; ldd --version | head -1

step "configure + build"
built=0
# C++17 then C++20; c10d (multi-process training) on, then off if LibTorch's c10d headers do not compile here.
for attempt in "17 ON" "20 ON" "17 OFF"; do
  read -r std dist <<<"$attempt"
  rm -rf build-gpu
  if cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_STANDARD=$std \
      -DCMAKE_PREFIX_PATH="$TORCH_PREFIX;$DEPS_PREFIX/usr" -DDF_WITH_OPENCV=OFF -DDF_WITH_MUJOCO=OFF -DDF_WITH_HDF5=OFF \
      -DDF_DOMAINS="compositional;timeseries" -DDF_WITH_DISTRIBUTED=$dist -DCMAKE_CUDA_COMPILER="$(command -v nvcc)" \
      -DCMAKE_CUDA_ARCHITECTURES=90 -DTORCH_CUDA_ARCH_LIST=9.0 -DCMAKE_EXE_LINKER_FLAGS="$GPU_LINK_FLAGS" \
      > "$OUT/configure-c++$std.log" 2>&1 &&
     cmake --build build-gpu -j"$(nproc)" > "$OUT/build.log" 2>&1; then
    echo "built as C++$std, distributed $dist"; built=1; break
  fi
  echo "C++$std (distributed $dist) failed:"; tail -20 "$OUT/configure-c++$std.log" "$OUT/build.log" 2>/dev/null
done
[ $built = 1 ] || exit 1
ldd build-gpu/apps/tools/df_train | grep -E "torch|c10" || true

step "parity tests on CUDA (and CPU)"
# The fixtures ship in tests/data/golden (the test's default); DF_GOLDEN_DIR may point elsewhere.
build-gpu/tests/core/test_golden_parity 2>&1 | tail -25

step "test suite"
ctest --test-dir build-gpu -j8 -E InstalledPackage 2>&1 | tail -8

step "mixed-precision training on CUDA (fp16 with loss scaling, then bf16)"
for p in fp16 bf16; do
  build-gpu/apps/tools/df_train --config configs/compositional.yaml --run-dir "$OUT/run_$p" \
    --set experiment.device=cuda --set training.precision=$p --set training.steps=300 --set training.log_every=100 \
    --set training.validate_every=0 2>&1 | tail -3
done

step "throughput (median of 5 windows)"
for cfg in configs/bench_maze_model.yaml configs/timeseries_exchange.yaml configs/compositional.yaml; do
  [ -f "$cfg" ] || continue
  for p in fp32 fp16; do
    echo "--- $cfg cuda $p"
    build-gpu/apps/tools/df_bench --config "$cfg" --set experiment.device=cuda --set training.precision=$p --steps 10 2>&1 | tail -2
  done
  echo "--- $cfg cpu fp32 ($(nproc) threads)"
  build-gpu/apps/tools/df_bench --config "$cfg" --set experiment.device=cpu --steps 3 --repeats 3 2>&1 | tail -2
done
step "done"
