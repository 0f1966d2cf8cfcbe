#!/usr/bin/env bash
# bf16 on the CPU against fp32: short training runs of the maze and video CPU configs, each trained three
# times from the same data stream -- fp32 (seed 0), bf16 (seed 0) and fp32 with another weight
# initialisation (seed 1, the noise a user would accept between two fp32 runs) -- and their loss curves
# compared window by window. Writes docs/results/bf16.md (the tables) and docs/results/bf16/*.png (curves).
#   bash scripts/bf16_check.sh                 # both configs (about 40 min on 2 cores)
#   CONFIGS="maze" STEPS_MAZE=200 bash scripts/bf16_check.sh
# Environment: BUILD (default build), RUNS (default ${DF_RUNS:-/var/tmp/df-runs}/bf16_check), CONFIGS
# ("maze video"), STEPS_MAZE (400), STEPS_VIDEO (300), THREADS (1 per run).
# A finished run (metrics.csv with every step) is not trained again.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
RUNS=${RUNS:-${DF_RUNS:-/var/tmp/df-runs}/bf16_check}
CONFIGS=${CONFIGS:-"maze video"}
STEPS_MAZE=${STEPS_MAZE:-400}
STEPS_VIDEO=${STEPS_VIDEO:-300}
export OMP_NUM_THREADS=${THREADS:-1} OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
TRAIN="$BUILD/apps/tools/df_train"
[[ -x $TRAIN ]] || { echo "bf16_check: $TRAIN missing (bash scripts/build.sh)" >&2; exit 1; }
mkdir -p "$RUNS" docs/results/bf16

config_of() { case "$1" in maze) echo configs/maze2d_medium_cpu.yaml ;; video) echo configs/video_mnist_cpu.yaml ;; esac; }
steps_of() { case "$1" in maze) echo "$STEPS_MAZE" ;; video) echo "$STEPS_VIDEO" ;; esac; }
extra_of() {  # a smaller generated dataset for the maze (the same for every run), the digits for video
  case "$1" in
    maze) echo "--set maze.generate_steps=200000 --set maze.dataset_cache=$RUNS/maze2d-medium-200k.hdf5" ;;
    video) echo "--set training.validate_every=0" ;;
  esac
}
[[ $CONFIGS == *video* ]] && bash scripts/fetch_mnist.sh >/dev/null

run() {  # name config precision seed steps -> $RUNS/<name>/metrics.csv
  local dir="$RUNS/$1" steps=$5 start
  start=$(date +%s)
  if [[ -f $dir/metrics.csv ]] && (( $(wc -l <"$dir/metrics.csv") > steps )); then return 0; fi
  rm -rf "$dir"
  mkdir -p "$dir"
  git rev-parse --short HEAD >"$dir/commit.txt"  # the code that made the run (named on the page)
  # shellcheck disable=SC2046  # extra_of is a list of flags
  "$TRAIN" --config "$2" --run-dir "$dir" --set "training.precision=$3" --set "experiment.seed=$4" \
    --set "training.steps=$steps" --set training.log_every=50 --set training.checkpoint_every=0 \
    --set experiment.threads="$OMP_NUM_THREADS" $(extra_of "${1%%_*}") >"$RUNS/$1.log" 2>&1 ||
    { tail -20 "$RUNS/$1.log"; return 1; }
  echo $(( $(date +%s) - start )) >"$RUNS/$1.seconds"  # only for a run trained now: a kept run keeps its time
}

for c in $CONFIGS; do
  for spec in "fp32 0" "bf16 0" "fp32 1"; do
    set -- $spec
    echo "bf16_check: $c $1 seed $2 ($(steps_of "$c") steps)"
    run "${c}_$1_s$2" "$(config_of "$c")" "$1" "$2" "$(steps_of "$c")"
  done
done

/usr/bin/python3 - "$RUNS" "$CONFIGS" "$(git rev-parse --short HEAD)" <<'PY'
import csv, os, sys
runs, configs, commit = sys.argv[1], sys.argv[2].split(), sys.argv[3]
made = sorted({open(os.path.join(runs, d, "commit.txt")).read().strip() for d in os.listdir(runs)
               if os.path.isfile(os.path.join(runs, d, "commit.txt")) and d.split("_")[0] in configs})
def losses(name):
    with open(os.path.join(runs, name, "metrics.csv")) as f:
        return [float(r["loss"]) for r in csv.DictReader(f)]
def windows(v, n=10):
    k = len(v) // n
    return [sum(v[i * k:(i + 1) * k]) / k for i in range(n)]
out = ["# bf16 on the CPU against fp32: loss curves", "",
       f"Written by `scripts/bf16_check.sh` at commit `{commit}` from runs made at {', '.join('`' + m + '`' for m in made)},",
       "one LibTorch thread per run, on a shared 2-core machine (times are indicative). Each config is",
       "trained three times on the same data and noise stream: fp32 and bf16 from the same initialisation",
       "(seed 0), and fp32 from another initialisation (seed 1): how far two fp32 runs differ is the noise",
       "against which the bf16 curve is judged. Loss: mean over each tenth of the run.", ""]
verdicts = []
for c in configs:
    a, b, o = losses(f"{c}_fp32_s0"), losses(f"{c}_bf16_s0"), losses(f"{c}_fp32_s1")
    wa, wb, wo = windows(a), windows(b), windows(o)
    sec = {p: open(os.path.join(runs, f"{c}_{p}.seconds")).read().strip() for p in ("fp32_s0", "bf16_s0", "fp32_s1")}
    out += [f"## {c} ({len(a)} steps; training time fp32 {sec['fp32_s0']} s, bf16 {sec['bf16_s0']} s)", "",
            "| tenth | fp32 (seed 0) | bf16 (seed 0) | fp32 (seed 1) | bf16 - fp32 | seed 1 - seed 0 |", "|---|---|---|---|---|---|"]
    for i in range(10):
        out.append(f"| {i + 1} | {wa[i]:.5f} | {wb[i]:.5f} | {wo[i]:.5f} | {wb[i] - wa[i]:+.5f} | {wo[i] - wa[i]:+.5f} |")
    dev_bf16 = max(abs(x - y) for x, y in zip(wb[5:], wa[5:]))
    dev_seed = max(abs(x - y) for x, y in zip(wo[5:], wa[5:]))
    ok = dev_bf16 <= dev_seed + 0.05 * wa[-1]
    verdicts.append((c, ok))
    out += ["", f"Largest |bf16 - fp32| over the second half: {dev_bf16:.5f}; largest |seed 1 - seed 0|: {dev_seed:.5f}. "
            + ("**Within the noise** (bf16's deviation is at most the seed-to-seed deviation plus 5% of the final loss)."
               if ok else "**Not within the noise** (bf16's deviation exceeds the seed-to-seed deviation plus 5% of the final loss)."), ""]
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(6, 3.5))
        for v, label in ((a, "fp32 seed 0"), (b, "bf16 seed 0"), (o, "fp32 seed 1")):
            k = max(1, len(v) // 50)
            ax.plot([i * k for i in range(len(v) // k)], [sum(v[i * k:(i + 1) * k]) / k for i in range(len(v) // k)], label=label)
        ax.set_xlabel("step"); ax.set_ylabel("training loss"); ax.set_yscale("log"); ax.legend(); ax.set_title(c)
        fig.tight_layout(); fig.savefig(f"docs/results/bf16/{c}.png", dpi=100)
        out += [f"![{c}](bf16/{c}.png)", ""]
    except ImportError:
        pass
out += ["Command: `bash scripts/bf16_check.sh` (defaults: maze2d_medium_cpu for 400 steps on a 200k-step generated "
        "dataset, video_mnist_cpu for 300 steps)."]
open("docs/results/bf16.md", "w").write("\n".join(out) + "\n")
print("\n".join(out))
PY
