#!/usr/bin/env bash
# docs/results/malloc.md: the training step with glibc's malloc against tcmalloc (the executables' default,
# CMake DF_MALLOC), for the models whose steps allocate most: the video U-Net (video_mnist_cpu) and the robot
# pixel policy (robot_swap_cpu, 4 demonstrations), in fp32 and in bf16 with shard threads, and the maze-large
# step.
#   scripts/malloc_bench.sh
# Needs a Release build in ./build linked with tcmalloc (scripts/build.sh with libtcmalloc-minimal4 installed).
# The glibc side is the same object files linked without tcmalloc (build's own link command for df_bench, the
# tcmalloc library taken out), so the malloc is the only difference. ROUNDS (default 3) interleaved rounds of
# df_bench (median of REPEATS windows of 3 steps after a warm-up step); the table shows each round's ratio and
# their median. On a machine shared with other jobs, pause them while it runs.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
REPEATS=${REPEATS:-5}
THREADS=${THREADS:-2}
OUT=${OUT:-docs/results/malloc.md}
# OpenMP threads wait actively (the default): with passive waiting the fp32 step on two intra-op threads takes
# about twice as long here, which would hide what the malloc changes.
unset OMP_WAIT_POLICY
tcmalloc=build/apps/tools/df_bench
log=$("$tcmalloc" --config configs/tiny_video.yaml --steps 1 --repeats 1 --warmup 0 2>&1 | grep -m1 'malloc:' || true)
[[ $log == *"malloc: tcmalloc"* ]] || { echo "malloc_bench: $tcmalloc does not run on tcmalloc ($log)"; exit 1; }

# The glibc twin: build's df_bench relinked without the tcmalloc library.
source scripts/lib/glibc_twin.sh
glibc=build/malloc_bench/df_bench_glibc
glibc_twin "$glibc"

video=(--config configs/video_mnist_cpu.yaml)
robot=(--config configs/robot_swap_cpu.yaml --set robot.demos=4 --set robot.demo_dir=runs/malloc_bench/robot_demos_4)
maze=(--config configs/bench_maze_model.yaml --set training.batch_size=64 --set model.network_size=32
  --set compositional.trajectory_length=2400 --set compositional.window=2400)
shards=(--set training.precision=bf16 --set "training.data_shards=$THREADS" --set "training.shard_threads=$THREADS")
step() {  # binary, args... -> seconds per training step
  "$1" "${@:2}" --set "experiment.threads=$THREADS" --steps 3 --repeats "$REPEATS" --warmup 1 2>/dev/null |
    sed -n 's/.*(\([0-9.]*\) s\/step.*/\1/p'
}
cases=("video_mnist_cpu fp32" "video_mnist_cpu bf16, $THREADS shard threads" "robot_swap_cpu bf16, $THREADS shard threads"
  "maze-large (bench_maze_model, batch 64 x 80 tokens) fp32")
args() {  # case index -> df_bench arguments
  case $1 in
    0) echo "${video[*]}" ;;
    1) echo "${video[*]} ${shards[*]}" ;;
    2) echo "${robot[*]} ${shards[*]}" ;;
    3) echo "${maze[*]}" ;;
  esac
}
mkdir -p runs/malloc_bench
results=runs/malloc_bench/steps.csv
echo "case,round,glibc,tcmalloc" >"$results"
for ((r = 1; r <= ROUNDS; r++)); do
  for i in "${!cases[@]}"; do
    read -r -a a <<<"$(args "$i")"
    g=$(step "$glibc" "${a[@]}")
    t=$(step "$tcmalloc" "${a[@]}")
    echo "round $r: ${cases[$i]}: glibc $g s, tcmalloc $t s"
    echo "$i,$r,$g,$t" >>"$results"
  done
done

# Where the glibc twin's video step spends its time in malloc and free: the share of perf samples in glibc's
# allocator symbols, recorded after start-up (the digits' loading) over about 50 steps. Needs perf (linux-perf).
malloc_share="not measured (perf is not installed)"
if command -v perf >/dev/null; then
  perf record -q -D 6000 -F 999 -o runs/malloc_bench/perf.data "$glibc" "${video[@]}" "${shards[@]}" \
    --set "experiment.threads=$THREADS" --steps 10 --repeats 5 --warmup 2 >/dev/null 2>&1 || true
  malloc_share=$(perf report -i runs/malloc_bench/perf.data --no-children --sort dso,symbol --stdio 2>/dev/null |
    awk '$2 ~ /^libc\.so/ && $4 ~ /^(_int_malloc|_int_free|malloc|malloc_consolidate|unlink_chunk|_mid_memalign|cfree|free|__libc_malloc|__libc_free|tcache)/ { s += $1 }
         END { printf "%.0f%%", s }')
fi

commit=$(git rev-parse --short=10 HEAD)
dirty=""
if git status --porcelain --untracked-files=no | grep -q .; then dirty=" (with uncommitted changes)"; fi
{
  echo "# Training step: glibc's malloc against tcmalloc"
  echo
  echo "Written by \`scripts/malloc_bench.sh\` on $(date -u '+%Y-%m-%d %H:%M') UTC at commit \`$commit\`$dirty, $(nproc) CPU cores"
  echo "($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $THREADS threads, LibTorch $(dpkg-query -W -f='${Version}' libtorch-dev 2>/dev/null)."
  echo "Both sides are the same object files of \`build\`: \`df_bench\` as built (linked with tcmalloc, the default of"
  echo "CMake's \`DF_MALLOC\`) and relinked without it (glibc's malloc, with the tools' heap settings,"
  echo "\`df::tune_host_allocator\`). Seconds per training step, each the median of $REPEATS windows of 3 steps after a"
  echo "warm-up step; $ROUNDS interleaved rounds, the ratio per round and its median."
  echo
  echo "| step | glibc (s) | tcmalloc (s) | glibc / tcmalloc per round | median |"
  echo "|---|---|---|---|---|"
  /usr/bin/python3 - "$results" "${cases[@]}" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
for i, name in enumerate(sys.argv[2:]):
    rs = [r for r in rows if int(r["case"]) == i and r["glibc"] and r["tcmalloc"]]
    if not rs:
        print(f"| {name} | failed | | | |")
        continue
    g = [float(r["glibc"]) for r in rs]
    t = [float(r["tcmalloc"]) for r in rs]
    ratios = [a / b for a, b in zip(g, t)]
    print(f"| {name} | {' / '.join(f'{x:.3f}' for x in g)} | {' / '.join(f'{x:.3f}' for x in t)} | "
          f"{' / '.join(f'{x:.2f}x' for x in ratios)} | **{statistics.median(ratios):.2f}x** |")
PY
  echo
  echo "Why: a CPU training step of these models builds an autograd graph of thousands of nodes and frees it"
  echo "again, on two threads (shard threads), and oneDNN creates descriptors for every convolution call; with"
  echo "glibc $malloc_share of the samples of a \`perf record\` of the video step (bf16, shard threads; this script,"
  echo "\`runs/malloc_bench/perf.data\`) fall in malloc and free (\`_int_malloc\`, \`_int_free\`, \`malloc_consolidate\`,"
  echo "\`unlink_chunk\`, ...). tcmalloc serves those from per-thread caches. The"
  echo "maze-large step allocates a few large buffers, which the glibc heap settings already keep on the heap; it"
  echo "gains least. Numbers are unchanged by the malloc (\`df_fingerprint\` is the same with both)."
} >"$OUT"
echo "wrote $OUT"
