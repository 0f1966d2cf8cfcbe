#!/usr/bin/env bash
# Training speed of df_train with one process against two data-parallel processes on this machine (c10d Gloo
# over 127.0.0.1), median of repeated runs.
#   scripts/distributed_bench.sh [REPEATS (5)] [STEPS (200)] [CONFIG (configs/compositional.yaml)]
# LibTorch threads: THREADS_PER_PROCESS (default 1) for every process, so --nproc 2 uses twice the cores of
# --nproc 1 (data-parallel scaling); or TOTAL_THREADS=T: --nproc 1 gets T threads, --nproc 2 T / 2 each (the
# same cores for both; meaningful only on an otherwise idle machine, OpenMP threads suffer badly from sharing).
# Both runs use training.data_shards=2 and the config's global batch, so they train on the same data (and
# end with the same weights to float rounding). steps/s is rank 0's rate over the training loop (last row of
# metrics.csv: steps / loop time; process start, rendezvous and the final checkpoint are not counted), and
# "wall" is the whole command. Needs a Release build in ./build (scripts/build.sh). The machine should be
# otherwise idle: these are timings, compare only numbers of one run of this script.
set -euo pipefail
cd "$(dirname "$0")/.."
REPEATS=${1:-5}
STEPS=${2:-200}
CONFIG=${3:-configs/compositional.yaml}
THREADS_PER_PROCESS=${THREADS_PER_PROCESS:-1}
TOTAL_THREADS=${TOTAL_THREADS:-}
train=build/apps/tools/df_train
[[ -x $train ]] || { echo "no $train: run scripts/build.sh first" >&2; exit 1; }
[[ -z $TOTAL_THREADS ]] || (( TOTAL_THREADS >= 2 )) || { echo "TOTAL_THREADS must be >= 2" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/df_distributed_bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

if [[ -n $TOTAL_THREADS ]]; then threads_label="$TOTAL_THREADS in all"; else threads_label="$THREADS_PER_PROCESS per process"; fi
common=(--config "$CONFIG" --set "training.steps=$STEPS" --set training.data_shards=2
        --set training.validate_every=0 --set training.checkpoint_every=0 --set training.log_every=0)

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

run_once() {  # nproc threads_per_process -> "steps_per_s wall_s"
  local n=$1 t=$2 dir="$work/run" start end
  rm -rf "$dir"
  start=$(date +%s.%N)
  OMP_NUM_THREADS=$t "$train" --nproc "$n" "${common[@]}" --run-dir "$dir" > "$work/log" 2>&1 \
    || { cat "$work/log" >&2; echo "df_train --nproc $n failed" >&2; exit 1; }
  end=$(date +%s.%N)
  echo "$(tail -1 "$dir/metrics.csv" | cut -d, -f4) $(echo "$end - $start" | bc -l)"
}

echo "config $CONFIG, $STEPS steps, batch $(grep -m1 'batch_size:' "$CONFIG" | awk '{print $2}'), data_shards 2," \
     "$REPEATS repeats, threads: $threads_label, commit $(git rev-parse --short HEAD), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-8s %-18s %-12s %-10s\n' nproc threads/process steps/s wall_s
declare -A rates
for n in 1 2; do
  t=$(( ${TOTAL_THREADS:-0} > 0 ? TOTAL_THREADS / n : THREADS_PER_PROCESS ))
  : > "$work/rates"; : > "$work/walls"
  for ((r = 0; r < REPEATS; ++r)); do
    out=$(run_once "$n" "$t")
    read -r rate wall <<< "$out"
    echo "$rate" >> "$work/rates"; echo "$wall" >> "$work/walls"
  done
  rates[$n]=$(median < "$work/rates")
  printf '%-8s %-18s %-12.2f %-10.2f\n' "$n" "$t" "${rates[$n]}" "$(median < "$work/walls")"
done
echo "speed-up of 2 processes: $(echo "${rates[2]} / ${rates[1]}" | bc -l | xargs printf '%.2f')x (medians of steps/s)"
