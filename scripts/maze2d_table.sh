#!/usr/bin/env bash
# docs/results/maze2d.md: the paper's Table 1 (section 4.2) with our cells beside the paper's.
#   scripts/maze2d_table.sh cpu       # reduced CPU runs of all three mazes (hours on 2 cores), then the page
#   scripts/maze2d_table.sh paper     # the paper-scale configs (needs a GPU for hours), then the page
#   scripts/maze2d_table.sh report    # only rewrite the page from the finished runs
#   MAZES="umaze" scripts/maze2d_table.sh cpu                       # only some mazes
# For every maze it trains two models on the same data and budget:
#   * Diffusion Forcing (configs/maze2d_<maze>_cpu.yaml): evaluated as DF (MCG), DF without MCG, DF with PD
#     tracking, and sampled Diffuser's way (full-sequence, "same network" columns);
#   * the trained Diffuser stand-in: the same config with diffusion.training_noise=full_sequence (one shared
#     level per sequence, as Diffuser trains), planned Diffuser's way: one full-sequence plan of Diffuser's
#     length (maze.diffuser_horizon), start = the current observation, goal = [goal, 0, 0] at the last frame,
#     tracked by PD or executing its diffused actions.
# U-Maze trains four seeds of each and keeps the best on validation episodes (scripts/maze2d_train_select.sh:
# env seeds 1000.., never the reported ones); Medium and Large one seed each. Every model is evaluated on the
# single-goal and the random-goal ("multi") env, EPISODES (default 32) episodes, env seeds 0..; Large for 600
# steps as the reference does (maze.eval_steps=600; its env allows 800: LARGE_STEPS=800 evaluates that).
# BUILD (default build) must hold df_train and df_maze_eval. Runs go to runs/maze2d_<maze>_<mode>{,_fs}.
# The table is filled in maze by maze, over several sessions if need be: when a maze is finished, its runs'
# small result files (summaries, seed selection, config, wall times, pictures) are archived in ARCHIVE
# (default docs/results/maze2d_runs, committed) with the commit and the numerics fingerprint that made them
# (scripts/lib/run_archive.sh). An archived maze is skipped while this build's maze numerics fingerprint
# (df_fingerprint) equals its runs' and the maze configs are unchanged since their commit, and redone
# otherwise; the page reads only such fresh archived runs.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${1:-cpu}
BUILD=${BUILD:-build}
EPISODES=${EPISODES:-32}
MAZES=${MAZES:-umaze medium large}
LARGE_STEPS=${LARGE_STEPS:-600}
REPORT=${REPORT:-docs/results/maze2d.md}
ARCHIVE=${ARCHIVE:-docs/results/maze2d_runs}
case "$MODE" in
  cpu) suffix=_cpu ;;
  paper) suffix="" ;;
  report) suffix=${SUFFIX:-_cpu} ;;
  *) sed -n '2,6p' "$0" >&2; exit 1 ;;
esac
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
source scripts/lib/train_resumable.sh
source scripts/lib/run_archive.sh
# What can change a maze's numbers: the maze numerics of this build (its fingerprint) and its configs.
NUMERICS_DOMAIN=maze
NUMERICS_INPUTS="configs/maze2d_*"
numerics_fingerprint || exit 1  # a build without df_fingerprint must not make every archived run look stale

archive_maze() {  # maze, run dir (DF or full-sequence): its small result files into ARCHIVE
  local maze=$1 run=$2 dest="$ARCHIVE/$(basename "$2")" files=(config.yaml) f
  # A seed-selected run (U-Maze) trained in RUN_seed<s>/: its wall time is the sum over the seeds.
  [[ -f "$run/train_seconds.txt" ]] ||
    cat "${run}"_seed*/train_seconds.txt | awk '{ s += $1 } END { print s }' >"$run/train_seconds.txt"
  files+=(train_seconds.txt)
  for f in selection.csv selected_seed.txt; do [[ -f "$run/$f" ]] && files+=("$f"); done
  # the page's pictures: the first single-goal episode of DF and of the trained full-sequence model
  for f in "$run"/eval*/summary.csv "$run"/eval/maze2d-"$maze"-v1_df_ep0.png \
           "$run"/eval_diffuser/maze2d-"$maze"-v1_diffuser_ep0.png; do
    [[ -f "$f" ]] && files+=("${f#"$run"/}")
  done
  rm -rf "$dest"
  archive_store "$run" "$dest" "${files[@]}"
}
train() {  # maze, run dir, select method, extra df_train args...
  local maze=$1 run=$2 method=$3; shift 3
  local config="configs/maze2d_${maze}${suffix}.yaml"
  if [[ $maze == umaze ]]; then
    [[ -f "$run/selected_seed.txt" ]] ||
      SELECT_METHOD=$method BUILD=$BUILD /usr/bin/time -f "train + select wall %e s" \
        scripts/maze2d_train_select.sh "$config" "$run" 0 1 2 3 ${1+-- "$@"} 2>&1 | tee "$run.select.log"
  else  # an interrupted training continues from its checkpoint; $run/train_seconds.txt sums the parts
    train_resumable "$run" "$run.train.log" "$BUILD/apps/tools/df_train" --config "$config" --run-dir "$run" "$@" ||
      { tail -20 "$run.train.log"; exit 1; }
  fi
}

evaluate() {  # maze, checkpoint dir, out name, df_maze_eval args...
  local maze=$1 run=$2 name=$3; shift 3
  [[ -f "$run/$name/summary.csv" ]] && return 0
  local steps=0
  [[ $maze == large ]] && steps=$LARGE_STEPS
  /usr/bin/time -f "eval wall %e s" "$BUILD/apps/planning/df_maze_eval" --checkpoint "$run/checkpoint.pt" \
    --episodes "$EPISODES" --env "maze2d-$maze-v1" --env "maze2d-$maze-multi-v1" --set maze.eval_steps=$steps \
    --out "$run/$name" "$@" >"$run.$name.log" 2>&1
}

if [[ $MODE != report ]]; then
  for maze in $MAZES; do
    df="runs/maze2d_${maze}${suffix}" fs="runs/maze2d_${maze}${suffix}_fs"
    if archive_is_fresh "$ARCHIVE/$(basename "$df")" && archive_is_fresh "$ARCHIVE/$(basename "$fs")"; then
      echo "skip $maze (archived in $ARCHIVE)"
      continue
    fi
    for r in "$df" "$fs"; do  # runs made by other code (or unknown) start again
      if [[ -d "$r" ]] && ! archive_is_fresh "$r"; then
        echo "$r was made by another build or from other configs: redoing it"
        rm -rf "$r.stale" && mv "$r" "$r.stale"
        for seed_dir in "$r"_seed*; do [[ -d "$seed_dir" ]] && { rm -rf "$seed_dir.stale"; mv "$seed_dir" "$seed_dir.stale"; }; done
      fi
      run_commit_stamp "$r"
    done
    # Two trainings side by side (one thread each) for Medium / Large; U-Maze's selection runs two seeds
    # at a time itself.
    if [[ $maze == umaze ]]; then
      train "$maze" "$df" df
      train "$maze" "$fs" diffuser --set diffusion.training_noise=full_sequence
    else
      train "$maze" "$df" df &
      train "$maze" "$fs" diffuser --set diffusion.training_noise=full_sequence &
      wait
    fi
    evaluate "$maze" "$df" eval --method df &
    evaluate "$maze" "$df" eval_no_mcg --method df_no_mcg &
    wait
    evaluate "$maze" "$df" eval_pd --method df --pd-tracking &
    evaluate "$maze" "$df" eval_same_network_diffuser --method diffuser &
    wait
    evaluate "$maze" "$df" eval_same_network_diffuser_actions --method diffuser_actions &
    evaluate "$maze" "$fs" eval_diffuser --method diffuser &
    wait
    evaluate "$maze" "$fs" eval_diffuser_actions --method diffuser_actions
    archive_maze "$maze" "$df"
    archive_maze "$maze" "$fs"
    echo "$maze: done, archived in $ARCHIVE"
  done
fi
numerics_args=()
if [[ $MODE == report ]]; then
  # Only the archive is read: the page pools the runs made with the U-Maze DF run's numerics, on whatever
  # machine it is rewritten, and says whether this build's fingerprint agrees.
  archive_reference_fingerprint "$ARCHIVE/maze2d_umaze${suffix}"
  numerics_args=(--numerics "$NUMERICS_FINGERPRINT" --build-numerics "$ARCHIVE_BUILD_FINGERPRINT")
fi
fresh=()
for maze in umaze medium large; do
  for r in "maze2d_${maze}${suffix}" "maze2d_${maze}${suffix}_fs"; do
    archive_is_fresh "$ARCHIVE/$r" && fresh+=("$r")
  done
done
/usr/bin/python3 scripts/maze2d_report.py --suffix "$suffix" --episodes "$EPISODES" --large-steps "$LARGE_STEPS" \
  --runs-root "$ARCHIVE" --fresh "${fresh[*]:-}" --out "$REPORT" ${numerics_args[@]+"${numerics_args[@]}"}
