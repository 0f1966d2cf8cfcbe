#!/usr/bin/env bash
# docs/results/cpu_fp32_path.md: what the U-Net's CPU fp32 path (channels-last activations, convolutions on
# oneDNN directly, fused group norm / FiLM / SiLU and RMSNorm nodes; src/models/unet_blocks.h) buys against
# LibTorch's NCHW ops (the same build with DF_ONEDNN_CONV=0), alternating, REPS times each:
#   1. training steps in fp32: df_bench on the one-digit Moving MNIST configs (Diffusion Forcing and teacher
#      forcing, batch 8 x 8 tokens of 4 x 32 x 32), at one intra-op thread and as two shard threads
#      (training.shard_threads=2, one intra-op thread each): median of 3 windows of STEPS steps;
#   2. sampling: df_sample rolls out SAMPLE_TOKENS tokens (4 frames each) after the context from the shipped
#      weights/video_mnist1/df.pt, batch 1, wall-clock seconds of the whole command.
#   scripts/cpu_fp32_path_bench.sh        (needs a Release build in ./build with oneDNN: scripts/build.sh)
# Environment: REPS (default 3), STEPS (default 5), SAMPLE_TOKENS (default 64), OUT (the page).
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${REPS:-3}
STEPS=${STEPS:-5}
SAMPLE_TOKENS=${SAMPLE_TOKENS:-64}
out=${OUT:-docs/results/cpu_fp32_path.md}
work=runs/cpu_fp32_path
mkdir -p "$work"
export OMP_WAIT_POLICY=passive DF_BLAS_KERNELS=${DF_BLAS_KERNELS:-widest}
bench=build/apps/tools/df_bench sample=build/apps/tools/df_sample
for tool in "$bench" "$sample"; do
  [[ -x $tool ]] || { echo "cpu_fp32_path_bench: $tool missing (bash scripts/build.sh)" >&2; exit 1; }
done
bash scripts/fetch_mnist.sh >/dev/null
commit=$(git rev-parse --short HEAD)
dirty=$([[ -n $(git status --porcelain --untracked-files=no -- src include apps) ]] && echo " (with uncommitted changes)" || true)
configs="video_mnist1_cpu video_mnist1_cpu_teacher_forcing"
settings="1thread 2shards"
setting_args() {
  case $1 in
    1thread) echo "--set experiment.threads=1 --set training.data_shards=2 --set training.shard_threads=1" ;;
    2shards) echo "--set experiment.threads=2 --set training.data_shards=2 --set training.shard_threads=2" ;;
  esac
}
for rep in $(seq 1 "$REPS"); do
  for mode in libtorch direct; do
    d=$work/$mode.$rep
    mkdir -p "$d"
    conv=$([[ $mode == libtorch ]] && echo 0 || echo 1)
    for c in $configs; do
      for s in $settings; do
        echo "rep $rep/$REPS, $mode: $c, $s" >&2
        # shellcheck disable=SC2046
        [[ -s $d/${c}_$s.json ]] || DF_ONEDNN_CONV=$conv OMP_NUM_THREADS=${s%%[a-z]*} "$bench" \
          --config "configs/$c.yaml" $(setting_args "$s") --set training.precision=fp32 --steps "$STEPS" \
          --repeats 3 --warmup 2 --json "$d/${c}_$s.json" >"$d/${c}_$s.log" 2>&1
      done
    done
    echo "rep $rep/$REPS, $mode: sampling" >&2
    if [[ ! -s $d/sample_seconds.txt ]]; then
      start=$(date +%s.%N)
      DF_ONEDNN_CONV=$conv OMP_NUM_THREADS=2 "$sample" --checkpoint weights/video_mnist1/df.pt \
        --tokens "$SAMPLE_TOKENS" --batch 1 --out "$d/sample" >"$d/sample.log" 2>&1
      echo "$(date +%s.%N) - $start" | bc >"$d/sample_seconds.txt"
    fi
  done
done

/usr/bin/python3 - "$work" "$REPS" "$out" "$commit$dirty" "$STEPS" "$SAMPLE_TOKENS" "$configs" "$settings" <<'PY'
import datetime, json, statistics, sys
work, reps, out, commit, steps, tokens, configs, settings = sys.argv[1:]
reps = int(reps)
cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
flags = next(l for l in open("/proc/cpuinfo") if l.startswith("flags")).split()
bf16 = "yes" if {"avx512_bf16", "amx_bf16"} & set(flags) else "no"
def med(v): return statistics.median(v)
words = {"1thread": "1 intra-op thread", "2shards": "2 shard threads (1 intra-op thread each)"}
L = ["# The U-Net's CPU fp32 path against LibTorch's NCHW ops\n",
     f"Written by `scripts/cpu_fp32_path_bench.sh` on {datetime.date.today()} at commit {commit}: {cpu} "
     f"(AVX512-BF16 or AMX: {bf16}), 2 cores. Each figure is the median over {reps} alternating runs of each "
     "setting (each training figure itself the median of 3 windows); other work shared the machine, so compare "
     "the two columns of one row only.\n",
     "In fp32 on a CPU, a build with oneDNN (Debian's `libdnnl-dev`, `scripts/setup.sh`) keeps the U-Net's "
     "activations in channels-last memory, runs its convolutions on oneDNN directly (primitives made once per "
     "shape, each weight reordered once per optimizer step) and each block's group norm, FiLM and SiLU, and the "
     "attention's RMSNorm, as one fused node each: the bf16 path's machinery, in fp32. LibTorch 1.13's own "
     "fp32 convolution reorders the NCHW activations and the weight to oneDNN's blocked layouts at every call. "
     "`DF_ONEDNN_CONV=0` in the environment gives LibTorch's ops (the left column). The two agree to fp32 "
     "rounding (`OneDnnConv.UnetFp32PathFollowsLibTorchsOps`: output, latent and every gradient of a U-Net "
     "step).\n",
     f"## Training step, fp32 (df_bench: {steps} steps per window after 2 warm-up steps, batch 8 x 8 tokens)\n",
     "| config | threads | LibTorch's ops (s / step) | fp32 path (s / step) | speed-up |",
     "|---|---|---|---|---|"]
for c in configs.split():
    for s in settings.split():
        t = {m: med([json.load(open(f"{work}/{m}.{r}/{c}_{s}.json"))["train_step_s"] for r in range(1, reps + 1)])
             for m in ("libtorch", "direct")}
        L.append(f"| `{c}` | {words[s]} | {t['libtorch']:.3f} | {t['direct']:.3f} | {t['libtorch'] / t['direct']:.2f}x |")
t = {m: med([float(open(f"{work}/{m}.{r}/sample_seconds.txt").read()) for r in range(1, reps + 1)])
     for m in ("libtorch", "direct")}
L += ["", f"## Sampling (df_sample, shipped `weights/video_mnist1/df.pt`, {tokens} tokens = {4 * int(tokens)} frames, "
      "batch 1, 2 threads, the whole command)\n",
      "| LibTorch's ops (s) | fp32 path (s) | speed-up |", "|---|---|---|",
      f"| {t['libtorch']:.1f} | {t['direct']:.1f} | {t['libtorch'] / t['direct']:.2f}x |", "",
      "Reproduce: `bash scripts/cpu_fp32_path_bench.sh` (about 16 minutes on 2 cores; `runs/cpu_fp32_path` keeps "
      "each run, delete it to measure again)."]
open(out, "w").write("\n".join(L) + "\n")
print("\n".join(L))
PY
