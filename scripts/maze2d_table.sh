#!/usr/bin/env bash
# Maze2D results (paper Table 1 layout): trains one model per maze and evaluates DF, DF without MCG,
# Diffuser-style and Diffuser with diffused actions on the single-goal and "multi" variants.
#   scripts/maze2d_table.sh cpu            # reduced runs on 2 CPU cores (configs/maze2d_{umaze,medium,large}_cpu.yaml)
#   MAZES="umaze" scripts/maze2d_table.sh cpu   # only some mazes (U-Maze: 4 seeds, 2 at a time, ~30 min
#                                               # + ~8 min eval; medium / large: one seed, ~31 min train
#                                               # + 12 / 17 min eval, one core)
#   scripts/maze2d_table.sh paper [GPU]    # paper-scale configs for umaze, medium, large (needs a GPU)
# BUILD (default build-maze2) must contain df_train and df_maze_eval. Results go to runs/<name>/maze_eval.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-maze2}
MODE=${1:-cpu}
EPISODES=${EPISODES:-32}

train_and_eval() {  # config, run dir, env ids...
  local config=$1 run=$2; shift 2
  local envs=()
  mkdir -p "$(dirname "$run")"
  for e in "$@"; do envs+=(--env "$e"); done
  if [[ -n ${SELECT_SEEDS:-} ]]; then
    # several seeds, the best on validation episodes (scripts/maze2d_train_select.sh)
    /usr/bin/time -f "train + select wall %e s" scripts/maze2d_train_select.sh "$config" "$run" $SELECT_SEEDS \
      2>&1 | tee "$run.select.log"
  elif [[ ! -f "$run/checkpoint.pt" ]] || ! grep -q "done:" "$run.train.log" 2>/dev/null; then
    /usr/bin/time -f "train wall %e s" "$BUILD/apps/tools/df_train" --config "$config" --run-dir "$run" \
      2>&1 | tee "$run.train.log"
  fi
  /usr/bin/time -f "eval wall %e s" "$BUILD/apps/planning/df_maze_eval" --config "$config" \
    --checkpoint "$run/checkpoint.pt" --episodes "$EPISODES" --method all "${envs[@]}" 2>&1 | tee "$run.eval.log"
  # DF executed by PD tracking of its own plan (the Diffuser* protocol applied to the DF planner)
  for m in df df_no_mcg; do
    /usr/bin/time -f "eval wall %e s" "$BUILD/apps/planning/df_maze_eval" --config "$config" \
      --checkpoint "$run/checkpoint.pt" --episodes "$EPISODES" --method $m --pd-tracking "${envs[@]}" \
      --out "$run/eval_pd_$m" 2>&1 | tee "$run.eval_pd_$m.log"
  done
  if [[ ${LATENCY:-1} == 1 ]]; then
    "$BUILD/apps/planning/df_maze_eval" --config "$config" --checkpoint "$run/checkpoint.pt" --episodes 1 \
      --env "${1}" --latency-sweep 2>&1 | tee "$run.latency.log"
  fi
}

case "$MODE" in
  cpu)
    export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
    for m in ${MAZES:-umaze medium large}; do
      # the latency sweep (horizon up to the whole episode, up to 8 futures) only for U-Maze
      # U-Maze: the best of 4 training seeds on validation episodes (single runs vary too much to
      # reliably clear the CPU target); Medium / Large: one seed (4 would not fit in an hour)
      LATENCY=$([[ $m == umaze ]] && echo 1 || echo 0) SELECT_SEEDS=$([[ $m == umaze ]] && echo "0 1 2 3" || echo "") \
        train_and_eval "configs/maze2d_${m}_cpu.yaml" "runs/maze2d_${m}_cpu" "maze2d-$m-v1" "maze2d-$m-multi-v1"
    done
    ;;
  paper)
    for m in umaze medium large; do
      train_and_eval "configs/maze2d_$m.yaml" "runs/maze2d_$m" "maze2d-$m-v1" "maze2d-$m-multi-v1"
    done
    ;;
  *)
    echo "usage: $0 cpu|paper" >&2
    exit 1
    ;;
esac
