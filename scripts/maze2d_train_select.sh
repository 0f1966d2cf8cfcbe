#!/usr/bin/env bash
# Trains several seeds of one Maze2D config and keeps the one that plans best on validation episodes.
#   scripts/maze2d_train_select.sh CONFIG RUN [SEED ...] [-- --set KEY=VALUE ...]   (default seeds: 0 1 2 3)
# Single CPU runs of the reduced configs differ a lot from seed to seed (U-Maze: 32-51 on the same
# held-out episodes), so the reduced recipe trains JOBS (default 2) seeds at a time, one thread each, scores
# every model with SELECT_METHOD (default df; the trained Diffuser stand-in is selected with diffuser) on
# VALIDATION_EPISODES (default 64) episodes seeded from VALIDATION_SEED (default 1000; the reported
# episodes use seeds 0..99, never these), and copies the best checkpoint to RUN/checkpoint.pt. Seed s
# trains in RUN_seed<s>/ (skipped when it already finished); the scores go to RUN/selection.csv. BUILD
# (default build) must contain df_train and df_maze_eval. Arguments after `--` go to both df_train and
# df_maze_eval (config overrides of a variant).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/train_resumable.sh
if [[ $# -lt 2 ]]; then
  sed -n '2,3p' "$0" >&2
  exit 1
fi
CONFIG=$1 RUN=$2; shift 2
SEEDS=() EXTRA=()
while [[ $# -gt 0 && $1 != -- ]]; do SEEDS+=("$1"); shift; done
[[ $# -gt 0 ]] && { shift; EXTRA=("$@"); }
[[ ${#SEEDS[@]} -gt 0 ]] || SEEDS=(0 1 2 3)
BUILD=${BUILD:-build}
SELECT_METHOD=${SELECT_METHOD:-df}
JOBS=${JOBS:-2}
VALIDATION_EPISODES=${VALIDATION_EPISODES:-64}
VALIDATION_SEED=${VALIDATION_SEED:-1000}
ENV_ID=${ENV_ID:-$(sed -n 's/^ *env: *\([^ #]*\).*/\1/p' "$CONFIG" | head -1)}
export OMP_NUM_THREADS=1  # JOBS runs side by side, one thread each
mkdir -p "$RUN"

train_and_validate() {  # seed
  local seed=$1 dir="${RUN}_seed$1"
  # An interrupted training continues from its checkpoint; $dir/train_seconds.txt sums the parts.
  train_resumable "$dir" "$dir.train.log" "$BUILD/apps/tools/df_train" --config "$CONFIG" --run-dir "$dir" \
    --set experiment.seed="$seed" ${EXTRA[@]+"${EXTRA[@]}"} || return 1
  "$BUILD/apps/planning/df_maze_eval" --config "$CONFIG" --checkpoint "$dir/checkpoint.pt" --method "$SELECT_METHOD" \
    --env "$ENV_ID" --episodes "$VALIDATION_EPISODES" --seed "$VALIDATION_SEED" --out "$dir/validation" \
    ${EXTRA[@]+"${EXTRA[@]}"} >"$dir.validation.log" 2>&1
}

start=$(date +%s)
running=0
for seed in "${SEEDS[@]}"; do
  echo "seed $seed: training ${RUN}_seed$seed (log ${RUN}_seed$seed.train.log)"
  train_and_validate "$seed" &
  running=$((running + 1))
  if [[ $running -ge $JOBS ]]; then
    wait -n || true  # a failed seed is reported below, with its log
    running=$((running - 1))
  fi
done
wait || true
for seed in "${SEEDS[@]}"; do
  [[ -s "${RUN}_seed$seed/validation/summary.csv" ]] || { echo "seed $seed failed: see ${RUN}_seed$seed.*.log" >&2; exit 1; }
done

# summary.csv: env,method,episodes,return_mean,return_se,score_mean,score_se,...
echo "seed,validation_score,validation_se" >"$RUN/selection.csv"
best_seed="" best_score=""
for seed in "${SEEDS[@]}"; do
  read -r score se < <(awk -F, 'NR == 2 {print $6, $7}' "${RUN}_seed$seed/validation/summary.csv")
  echo "$seed,$score,$se" >>"$RUN/selection.csv"
  printf 'seed %s: validation score %.1f +- %.1f\n' "$seed" "$score" "$se"
  if [[ -z $best_score ]] || awk -v a="$score" -v b="$best_score" 'BEGIN {exit !(a > b)}'; then
    best_seed=$seed best_score=$score
  fi
done
cp "${RUN}_seed$best_seed/checkpoint.pt" "$RUN/checkpoint.pt.tmp" && mv "$RUN/checkpoint.pt.tmp" "$RUN/checkpoint.pt"
cp "${RUN}_seed$best_seed/config.yaml" "$RUN/config.yaml"
echo "$best_seed" >"$RUN/selected_seed.txt"
echo "selected seed $best_seed (validation score $best_score) -> $RUN/checkpoint.pt; $(( $(date +%s) - start )) s in all"
