#!/usr/bin/env bash
# docs/results/blas_kernels.md: what OpenBLAS's kernel set costs our tools on this machine. The same build
# with the kernels the environment gives (DF_BLAS_KERNELS=keep) and with the widest the processor runs
# (DF_BLAS_KERNELS=widest; df/core/blas_kernels.h), alternating, REPS times each:
#   1. guided replanning latency, df_maze_eval --latency-sweep (maze-medium network, untrained: latency does
#      not depend on the weights; batch 1, MCG 1 and 2, horizons 15 and 30 tokens; median of 3 plans);
#   2. training steps (fp32): df_bench on maze2d_medium (batch 64), robot_swap_state (batch 32) and video_mnist_cpu
#      (batch 8; its convolutions run on oneDNN, not OpenBLAS): median of 3 windows of STEPS steps.
#   scripts/blas_kernels_bench.sh        (needs a Release build in ./build: scripts/build.sh)
# Environment: REPS (default 3), THREADS (intra-op threads, default 1), STEPS (default 5), OUT (the page).
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${REPS:-3}
THREADS=${THREADS:-1}
STEPS=${STEPS:-5}
out=${OUT:-docs/results/blas_kernels.md}
work=runs/blas_kernels
mkdir -p "$work"
export OMP_NUM_THREADS=$THREADS OMP_WAIT_POLICY=passive
probe=build/tests/core/blas_kernels_probe
[[ -x $probe ]] || { echo "no $probe: build the tests first (scripts/build.sh)" >&2; exit 1; }
kernels() { DF_BLAS_KERNELS=$1 "$probe" | cut -d'|' -f1; }
keep_core=$(kernels keep) wide_core=$(kernels widest)
commit=$(git rev-parse --short HEAD)
dirty=$([[ -n $(git status --porcelain --untracked-files=no) ]] && echo " (with uncommitted changes)" || true)

# An untrained maze-medium checkpoint, and the robot's state demonstrations (df_bench generates them once).
ckpt=$work/maze_medium_untrained
[[ -f $ckpt/checkpoint.pt ]] || build/apps/tools/df_train --config configs/maze2d_medium.yaml --run-dir "$ckpt" \
  --set training.steps=1 --set training.batch_size=4 --set maze.generate_steps=20000 --set maze.dataset_cache= \
  --set training.precision=fp32 \
  >"$ckpt.log" 2>&1
bench_args() {  # config name -> df_bench arguments
  case $1 in
    maze2d_medium) echo "--config configs/maze2d_medium.yaml --set maze.generate_steps=20000 --set maze.dataset_cache= --set training.precision=fp32 --set training.batch_size=64" ;;
    robot_swap_state) echo "--config configs/robot_swap_state.yaml --set robot.demos=100 --set robot.demo_dir=$work/robot_demos" ;;
    video_mnist_cpu) bash scripts/fetch_mnist.sh >/dev/null; echo "--config configs/video_mnist_cpu.yaml" ;;
  esac
}
configs="maze2d_medium robot_swap_state video_mnist_cpu"
for rep in $(seq 1 "$REPS"); do
  for mode in keep widest; do
    d=$work/$mode.$rep
    mkdir -p "$d"
    echo "rep $rep/$REPS, $mode: latency sweep" >&2
    [[ -s $d/latency.csv ]] || DF_BLAS_KERNELS=$mode build/apps/planning/df_maze_eval --checkpoint "$ckpt/checkpoint.pt" \
      --episodes 1 --latency-sweep --sweep-mcg 1 2 --sweep-horizon-parts 4 2 --out "$d/sweep" >"$d/latency.log" 2>&1 &&
      cp "$d/sweep/latency.csv" "$d/latency.csv"
    for c in $configs; do
      echo "rep $rep/$REPS, $mode: $c training step" >&2
      # shellcheck disable=SC2046
      [[ -s $d/$c.json ]] || DF_BLAS_KERNELS=$mode build/apps/tools/df_bench $(bench_args "$c") \
        --set experiment.threads="$THREADS" --steps "$STEPS" --repeats 3 --warmup 2 --json "$d/$c.json" >"$d/$c.log" 2>&1
    done
  done
done

/usr/bin/python3 - "$work" "$REPS" "$out" "$commit$dirty" "$keep_core" "$wide_core" "$THREADS" "$STEPS" \
  "${OPENBLAS_CORETYPE:-unset}" "$configs" <<'PY'
import csv, json, statistics, subprocess, sys, datetime
work, reps, out, commit, keep_core, wide_core, threads, steps, env_core, configs = sys.argv[1:]
reps = int(reps)
def med(v): return statistics.median(v)
lat = {}  # (mode, horizon, mcg) -> [ms per rep]
step = {}  # (mode, config) -> [s per rep]
for mode in ("keep", "widest"):
    for r in range(1, reps + 1):
        d = f"{work}/{mode}.{r}"
        for row in csv.DictReader(open(f"{d}/latency.csv")):
            lat.setdefault((mode, int(row["horizon_tokens"]), int(row["mcg_samples"])), []).append(float(row["median_ms"]))
        for c in configs.split():
            j = json.load(open(f"{d}/{c}.json"))
            step.setdefault((mode, c), []).append(float(j["train_step_s"]))
cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
L = []
L.append("# OpenBLAS kernels: the environment's against the processor's widest\n")
L.append(f"Written by `scripts/blas_kernels_bench.sh` on {datetime.date.today()} at commit {commit}: {cpu}, "
         f"{threads} intra-op thread(s), OPENBLAS_CORETYPE={env_core} in the environment. "
         f"Each figure is the median over {reps} alternating runs of each setting (each run itself a median); "
         "other work shared the machine, so compare the two columns of one row only.\n")
L.append(f"- environment's kernels (`DF_BLAS_KERNELS=keep`): OpenBLAS **{keep_core}**")
L.append(f"- widest kernels (`DF_BLAS_KERNELS=widest`, what the experiment scripts use): OpenBLAS **{wide_core}**\n")
L.append("Why it matters: OpenBLAS reads OPENBLAS_CORETYPE when it loads; set to Haswell it runs AVX2 kernels on an "
         "AVX-512 processor. The tools start once more with the widest set (df/core/blas_kernels.h). "
         "Convolutions run on oneDNN and are not affected.\n")
L.append("## Guided replanning latency (df_maze_eval --latency-sweep, maze-medium network, batch 1)\n")
L.append(f"| horizon (tokens) | MCG samples | {keep_core} (ms) | {wide_core} (ms) | speed-up |")
L.append("|---|---|---|---|---|")
for (mode, h, m) in sorted(k for k in lat if k[0] == "keep"):
    a, b = med(lat[("keep", h, m)]), med(lat[("widest", h, m)])
    L.append(f"| {h} | {m} | {a:.0f} | {b:.0f} | {a / b:.2f}x |")
L.append(f"\n## Training step (df_bench, median of 3 windows of {steps} steps after 2 warm-up steps)\n")
L.append(f"| config | {keep_core} (s) | {wide_core} (s) | speed-up |")
L.append("|---|---|---|---|")
for c in configs.split():
    a, b = med(step[("keep", c)]), med(step[("widest", c)])
    L.append(f"| {c} | {a:.4f} | {b:.4f} | {a / b:.2f}x |")
L.append("\nRaw runs: runs/blas_kernels/<keep|widest>.<rep>/ (latency.csv, <config>.json).")
open(out, "w").write("\n".join(L) + "\n")
print(f"wrote {out}")
PY
