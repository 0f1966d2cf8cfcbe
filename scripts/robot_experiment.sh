#!/usr/bin/env bash
# Robot imitation with memory (paper section 4.4) on the MuJoCo fruit swap, and docs/results/robot.md.
#
#   scripts/robot_experiment.sh state     # the state-observation experiment (CPU, about an hour on one core)
#   scripts/robot_experiment.sh pixels    # the pixel policy (configs/robot_swap_cpu.yaml, long on a CPU)
#   scripts/robot_experiment.sh pixels-progress  # where the pixel policy stands while it trains (its latest
#                                         # checkpoints on PROGRESS_EPISODES test episodes, archived)
#   scripts/robot_experiment.sh media     # seed 0's MP4s and shipped weights only
#   scripts/robot_experiment.sh archive   # archive what a stopped state run finished (partial), write the page
#   scripts/robot_experiment.sh report    # only rewrite the page from the archived result files (any machine:
#                                         # the runs made with state/seed0's numerics fingerprint)
#   scripts/robot_experiment.sh aim       # what each network reads when it aims (df_robot_eval
#                                         # --aim-sensitivity) for the archived runs whose checkpoints are in RUNS
#   PROBE=name MODEL=df|ctl DESC=... scripts/robot_experiment.sh probe --set key=value ...
#                                         # a seed-0 recipe probe (the state config with these overrides),
#                                         # archived in ARCHIVE/probes/name and listed on the page
#
# state (configs/robot_swap_state.yaml, ResMLP-GRU on state tokens, no renderer), for every training seed in
# SEEDS (default 0 1 2):
#   1. df_train: DF (whole demonstrations), teacher forcing (next-token diffusion), the memoryless
#      Diffusion-Policy-style model (2-token windows ending before the expert is done, robot.window_until) and
#      the positive control (the same with the start bit in its tokens);
#   2. df_robot_eval on EPISODES test episodes (env seeds TEST_SEED..): DF with memory, DF with the latent reset
#      every token, teacher forcing, the memoryless model and the positive control;
#   3. corruption around the ambiguous state: for glitch and dropout the label level k is chosen among KS on
#      VAL_EPISODES validation episodes (env seeds VAL_SEED.., disjoint from the test seeds); Gaussian noise is
#      labelled with the level matching its sigma; then DF at k, DF at k = 0 and teacher forcing on the test seeds.
# After the first seed: MP4s of one DF success and one memoryless failure at the ambiguous state and the shipped
# weights (seed 0's models), then the scripted expert and the expert picking at random at the ambiguous state
# (the chance level) under the same time limit on CHANCE_EPISODES episodes (also at the old 48-token limit), then
# the other seeds.
#
# Every state model and probe also gets df_robot_eval --aim-sensitivity (aim_sensitivity.h): how its predicted
# chunk and its predicted fruit position move with the fruit positions of a clean history, archived in aim/.
#
# Each finished seed's small result files (summaries, k selection, configs, wall times; no checkpoints) are
# archived in ARCHIVE (docs/results/robot_runs, committed) with the commit that made them
# (scripts/lib/run_archive.sh); a seed archived by the current numerics code is skipped. Runs live in RUNS
# (default /var/tmp/df-runs/robot, outside the checkout); an interrupted run continues (training from its checkpoint, finished
# evaluations are kept). The page is written by scripts/robot_report.py from ARCHIVE alone.
#
# pixels trains DF, teacher forcing and the window-restricted memoryless model on configs/robot_swap_cpu.yaml
# (STEPS overrides training.steps), evaluates them on EPISODES test episodes, and archives the summaries in
# ARCHIVE/pixels, where the page's pixel row reads them. Their training takes many sessions: pixels-progress
# snapshots the latest checkpoint of each pixel model trained so far (its step read from the checkpoint),
# evaluates it on PROGRESS_EPISODES (default EPISODES) test episodes and archives that in ARCHIVE/pixels_progress,
# which the page shows until ARCHIVE/pixels exists.
#
# Environment: BUILD (default build), RUNS, ARCHIVE, REPORT (default docs/results/robot.md), SEEDS, EPISODES
# (100), VAL_EPISODES (50), CHANCE_EPISODES (400), TEST_SEED (1000), VAL_SEED (500000), KS ("100 300 600"),
# CORRUPTION_SEEDS (the seeds that also run the corruption grid; default SEEDS), STEPS (training steps, default
# the config's), ONLY (space-separated model names of the state grid to run: df tf dp ctl; default all),
# STATE_SET (key=value overrides of every state model, below), PIXEL_SET (of the pixel models, below). One
# process at a time, one thread (unless PIXEL_SET says otherwise), niced.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${1:-state}
BUILD=${BUILD:-build}
ARCHIVE=${ARCHIVE:-docs/results/robot_runs}
REPORT=${REPORT:-docs/results/robot.md}
SEEDS=${SEEDS:-0 1 2}
EPISODES=${EPISODES:-100}
VAL_EPISODES=${VAL_EPISODES:-50}
CHANCE_EPISODES=${CHANCE_EPISODES:-400}
TEST_SEED=${TEST_SEED:-1000}
VAL_SEED=${VAL_SEED:-500000}
KS=${KS:-100 300 600}
CORRUPTION_SEEDS=${CORRUPTION_SEEDS:-$SEEDS}
ONLY=${ONLY:-df tf dp ctl}
# STATE_SET: "key=value ..." overrides for every model of the state grid: a new recipe run on all seeds
# (RUNS, ARCHIVE elsewhere) before it is written into the config; its runs stay valid when it is (the
# archive compares resolved configurations).
STATE_SET_ARGS=()
for kv in ${STATE_SET:-}; do STATE_SET_ARGS+=(--set "$kv"); done
# PIXEL_SET: "key=value ..." overrides for the three pixel trainings, recorded in their train commands: e.g.
# "training.precision=auto training.data_shards=2 training.shard_threads=2 experiment.threads=2" trains the
# U-Net on two threads, in bf16 where the CPU computes it natively (docs/results/bf16.md). Applied again when an
# interrupted run continues (a machine setting may change between parts).
PIXEL_SET_ARGS=()
for kv in ${PIXEL_SET:-}; do PIXEL_SET_ARGS+=(--set "$kv"); done
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive
# OpenBLAS's widest kernels even where the environment pins OPENBLAS_CORETYPE=Haswell (df/core/blas_kernels.h)
export DF_BLAS_KERNELS=${DF_BLAS_KERNELS:-widest}
source scripts/lib/train_resumable.sh
source scripts/lib/run_archive.sh
# What can change this experiment's numbers: the robot domain's numerics (df_fingerprint --domain robot runs
# tiny state and pixel pipelines) and its configs (by resolved configuration where a run archived its
# training command: NUMERICS_CONFIG_TOOL below).
NUMERICS_DOMAIN=robot
NUMERICS_INPUTS="configs/robot_swap_state.yaml configs/robot_swap_cpu.yaml"
TRAIN="$BUILD/apps/tools/df_train"
EVAL="$BUILD/apps/robot/df_robot_eval"
# Trained runs (their train_command.txt and config.yaml archived) are compared by resolved configuration, so
# that a comment in a config, or a recipe first run with --set and then written into the config, keeps them.
NUMERICS_CONFIG_TOOL=$TRAIN
NICE=(nice -n 10)

if (( TEST_SEED + EPISODES > VAL_SEED && VAL_SEED + VAL_EPISODES > TEST_SEED )); then
  echo "validation seeds $VAL_SEED.. overlap the test seeds $TEST_SEED.." >&2
  exit 1
fi

timed() {  # seconds-file, command...: runs the command, records its wall time
  local out=$1 start
  shift
  start=$(date +%s)
  "$@"
  echo $(( $(date +%s) - start )) >"$out"
}

evaluate() {  # out dir, df_robot_eval args...: skipped when finished
  local dir=$1
  shift
  [[ -f "$dir/summary.csv" ]] && return 0
  mkdir -p "$dir"
  timed "$dir/eval_seconds.txt" "${NICE[@]}" "$EVAL" "$@" --out "$dir" --set experiment.threads=1 >"$dir/eval.log" 2>&1 ||
    { tail -20 "$dir/eval.log"; rm -f "$dir/summary.csv"; exit 1; }
  grep -h "success" "$dir/eval.log" | tail -1
}

# What a state model reads when it aims (df_robot_eval --aim-sensitivity) into RUN/aim/MODEL, with the
# commit that computed it; skipped when done or when the checkpoint is not here.
aim_sensitivity() {  # run dir, model, policy (memory | memoryless)
  local run=$1 m=$2 dir="$1/aim/$2"
  [[ -f "$dir/aim_sensitivity.csv" || ! -f "$run/$m/checkpoint.pt" ]] && return 0
  mkdir -p "$dir"
  "${NICE[@]}" "$EVAL" --checkpoint "$run/$m/checkpoint.pt" --aim-sensitivity --policy "$3" --out "$dir" \
    --set experiment.threads=1 >"$dir/aim.log" 2>&1 || { tail -20 "$dir/aim.log"; exit 1; }
  git rev-parse HEAD >"$dir/commit.txt"
  grep -h "level" "$dir/aim.log" | head -1
}
aim_files() {  # run dir: the aim files to archive, relative to it
  local f
  for f in "$1"/aim/*/aim_sensitivity.csv "$1"/aim/*/command.txt "$1"/aim/*/commit.txt; do
    [[ -f $f ]] && echo "${f#"$1"/}"
  done
  return 0
}

niced_train() { "${NICE[@]}" "$TRAIN" "$@"; }  # train_resumable calls it again with --resume

train() {  # run dir, config, df_train args...
  local dir=$1 config=$2
  shift 2
  mkdir -p "$dir"
  local cmd=("$TRAIN" --config "$config" --run-dir "$dir" --set experiment.threads=1 ${STEPS:+--set training.steps=$STEPS} "$@")
  [[ -f "$dir/train_command.sh" ]] || echo "${cmd[*]}" >"$dir/train_command.sh"
  echo "train $dir"
  train_resumable "$dir" "$dir/train.log" niced_train "${cmd[@]:1}" || { tail -20 "$dir/train.log"; exit 1; }
}

# A demonstration folder made once per config (generated by the expert on first use).
demos() {  # config, folder, extra df_robot_eval arguments (--set ...)
  local config=$1 dir=$2
  shift 2
  [[ -d $dir ]] && return 0
  "${NICE[@]}" "$EVAL" --make-demos "$dir" --config "$config" "$@" >"$dir.log" 2>&1 || { tail -20 "$dir.log"; exit 1; }
}

# The training recipe of each model of the state grid: df_train arguments after the config.
model_args() {
  case $1 in
    df) ;;
    tf) echo "--set diffusion.training_noise=teacher_forcing" ;;
    dp) echo "--set robot.window=2 --set robot.window_until=expert_done" ;;
    ctl) echo "--set robot.window=2 --set robot.window_until=expert_done --set robot.start_bit=true" ;;
  esac
}

# The validation level of a corruption: the k in KS with the most successes, then the most right first picks at
# the ambiguous state, then the smaller k, written with all candidates to DIR/k_selection_KIND.csv.
choose_level() {  # seed dir, corruption
  local run=$1 kind=$2 out="$1/eval/k_selection_$2.csv" k
  echo "k,successes,episodes,right_first_picks,first_picks" >"$out.tmp"
  for k in $KS; do
    evaluate "$run/eval/val_df_${kind}_k$k" --checkpoint "$run/df/checkpoint.pt" --corruption "$kind" \
      --set robot.corrupt_level="$k" --episodes "$VAL_EPISODES" --seed "$VAL_SEED" --videos 0 --label "validation $kind k=$k" >&2
    awk -F, -v k="$k" 'NR == 2 { print k "," $3 "," $2 "," $16 "," $15 }' "$run/eval/val_df_${kind}_k$k/summary.csv" >>"$out.tmp"
  done
  mv "$out.tmp" "$out"
  awk -F, 'NR > 1 && (k == "" || $2 > s || ($2 == s && $4 > r)) { s = $2; r = $4; k = $1 } END { print k }' "$out"
}

state_seed() {  # training seed [phase: memory = the models and evaluations of the memory table only; all]
  local s=$1 phase=${2:-all} run="$RUNS/seed$1" config=configs/robot_swap_state.yaml m
  if archive_is_fresh "$ARCHIVE/state/seed$s" && [[ ! -f "$ARCHIVE/state/seed$s/partial.txt" ]]; then
    echo "skip seed $s (archived in $ARCHIVE/state/seed$s)"
    return 0
  fi
  if [[ -d $run ]] && ! archive_is_fresh "$run"; then
    echo "$run was made by other code: redoing it"
    rm -rf "$run.stale" && mv "$run" "$run.stale"
  fi
  run_commit_stamp "$run"
  # The memory table first (DF, the memoryless model, the control), then teacher forcing and the corruptions:
  # a run cut short has the main claim.
  for m in dp ctl df; do
    [[ " $ONLY " == *" $m "* ]] || continue
    # shellcheck disable=SC2046  # model_args is a list of words
    train "$run/$m" "$config" --set robot.demo_dir="$STATE_DEMOS" --set experiment.seed="$s" $(model_args "$m") \
      "${STATE_SET_ARGS[@]}"
  done
  local test=(--episodes "$EPISODES" --seed "$TEST_SEED" --videos 0)
  [[ " $ONLY " == *" df "* ]] && evaluate "$run/eval/df_memory" --checkpoint "$run/df/checkpoint.pt" "${test[@]}" --label "DF, memory"
  [[ " $ONLY " == *" dp "* ]] && evaluate "$run/eval/dp_memoryless" --checkpoint "$run/dp/checkpoint.pt" --policy memoryless "${test[@]}" --label "memoryless (2-token windows)"
  [[ " $ONLY " == *" df "* ]] && evaluate "$run/eval/df_reset" --checkpoint "$run/df/checkpoint.pt" --policy memoryless "${test[@]}" --label "DF, latent reset every token"
  [[ " $ONLY " == *" ctl "* ]] && evaluate "$run/eval/ctl_memoryless" --checkpoint "$run/ctl/checkpoint.pt" --policy memoryless "${test[@]}" --label "memoryless + start bit"
  for m in df dp ctl; do
    [[ " $ONLY " == *" $m "* ]] && aim_sensitivity "$run" "$m" "$([[ $m == df ]] && echo memory || echo memoryless)"
  done
  [[ $phase == memory ]] && return 0
  if [[ " $ONLY " == *" tf "* ]]; then
    train "$run/tf" "$config" --set robot.demo_dir="$STATE_DEMOS" --set experiment.seed="$s" $(model_args tf) \
      "${STATE_SET_ARGS[@]}"
    evaluate "$run/eval/tf_memory" --checkpoint "$run/tf/checkpoint.pt" "${test[@]}" --label "teacher forcing"
    aim_sensitivity "$run" tf memory
  fi
  if [[ " $ONLY " == *" df "* && " $CORRUPTION_SEEDS " == *" $s "* ]]; then
    local kind k
    for kind in glitch dropout noise; do
      if [[ $kind == noise ]]; then k=1; else k=$(choose_level "$run" "$kind"); fi  # noise: any k > 0 = the matching level
      evaluate "$run/eval/df_${kind}_k" --checkpoint "$run/df/checkpoint.pt" --corruption "$kind" --set robot.corrupt_level="$k" "${test[@]}" --label "DF, $kind, labelled k > 0"
      evaluate "$run/eval/df_${kind}_k0" --checkpoint "$run/df/checkpoint.pt" --corruption "$kind" --set robot.corrupt_level=0 "${test[@]}" --label "DF, $kind, k = 0"
      [[ " $ONLY " == *" tf "* ]] || continue
      evaluate "$run/eval/tf_${kind}" --checkpoint "$run/tf/checkpoint.pt" --corruption "$kind" "${test[@]}" --label "teacher forcing, $kind"
    done
  fi
  [[ $ONLY == "df tf dp ctl" ]] || { echo "seed $s: ONLY=$ONLY, not archived"; return 0; }
  archive_seed "$s"
}

# Copies a seed's small result files (configs, wall times, commands, summaries, per-episode rows, k selections;
# no checkpoints)
# into ARCHIVE/state/seedS. With "partial" (mode archive: a run stopped before the end) it takes the models and
# evaluations that finished and writes partial.txt, which lets a later state run continue the seed.
archive_seed() {  # training seed [partial]
  local s=$1 run="$RUNS/seed$1" files=() f m
  for m in df tf dp ctl; do
    [[ -f "$run/$m/train_seconds.txt" ]] || continue
    cp "$run/$m/train_command.sh" "$run/$m/train_command.txt"
    files+=("$m/config.yaml" "$m/train_seconds.txt" "$m/train_command.txt")
    [[ -f "$run/$m/validation.csv" ]] && files+=("$m/validation.csv")
  done
  for f in "$run"/eval/*/summary.csv "$run"/eval/*/episodes.csv "$run"/eval/*/command.txt "$run"/eval/*/eval_seconds.txt \
           "$run"/eval/k_selection_*.csv; do
    [[ -f $f && $f != */val_* && $f != */shipped_check/* && $f != */df_memory_half/* ]] && files+=("${f#"$run"/}")
  done
  mapfile -t -O "${#files[@]}" files < <(aim_files "$run")
  rm -rf "$ARCHIVE/state/seed$s"
  archive_store "$run" "$ARCHIVE/state/seed$s" "${files[@]}"
  if [[ ${2:-} == partial ]]; then
    echo "stopped before the end: the models and evaluations present are those that finished" >"$ARCHIVE/state/seed$s/partial.txt"
  fi
  echo "seed $s: archived in $ARCHIVE/state/seed$s${2:+ ($2)}"
}

scripted() {  # the expert and the random picker under the state config's limit (and the old 48 tokens)
  local dir="$RUNS/scripted" c=configs/robot_swap_state.yaml
  if archive_is_fresh "$ARCHIVE/state/scripted"; then return 0; fi
  run_commit_stamp "$dir"
  local n=(--episodes "$CHANCE_EPISODES" --seed "$TEST_SEED" --videos 0)
  evaluate "$dir/expert" --scripted expert --config "$c" "${n[@]}" --label "scripted expert"
  evaluate "$dir/random_pick" --scripted random_pick --config "$c" "${n[@]}" --label "random pick at the ambiguous state"
  evaluate "$dir/random_pick_48" --scripted random_pick --config "$c" --set robot.eval_tokens=48 "${n[@]}" --label "random pick, 48 tokens"
  # The expert's own lengths: the time limit is set from them (configs/robot_swap_state.yaml).
  awk -F, 'NR > 1 && $4 > m { m = $4 } NR > 1 { s += $4; n++ } END { printf "success_step_max,%d\nsuccess_step_mean,%.1f\n", m, s / n }' \
    "$dir/expert/episodes.csv" >"$dir/expert_lengths.csv"
  rm -rf "$ARCHIVE/state/scripted"
  archive_store "$dir" "$ARCHIVE/state/scripted" expert/summary.csv random_pick/summary.csv random_pick_48/summary.csv \
    expert/command.txt random_pick/command.txt random_pick_48/command.txt expert_lengths.csv
}

# MP4s (overview | hand camera, rendered from the state episode) of one DF success and one memoryless failure
# whose first pick at the ambiguous state was wrong: the test evaluation rerun whole (same batches, so the same
# episodes) with --video-seeds recording the first such episode.
videos() {
  local run="$RUNS/seed0" media="$ARCHIVE/state/videos" want name seed setting policy
  [[ -f "$run/eval/df_memory/episodes.csv" && -f "$run/eval/dp_memoryless/episodes.csv" ]] || return 0
  mkdir -p "$media"
  # The MP4s of another seed-0 run (older code or configs) are replaced.
  local source
  source="$(cat "$run/commit.txt" "$run/fingerprint.txt")"
  if [[ ! -f "$media/made_from.txt" || "$(cat "$media/made_from.txt")" != "$source" ]]; then
    rm -f "$media"/*.mp4 "$media"/*.csv "$media"/*.command.txt
    echo "$source" >"$media/made_from.txt"
  fi
  for want in df dp; do
    case $want in
      df) name=df_success setting=df_memory policy=memory ;;
      dp) name=memoryless_wrong_pick setting=dp_memoryless policy=memoryless ;;
    esac
    [[ -f "$media/$name.mp4" ]] && continue
    seed=$(awk -F, -v w="$want" 'NR > 1 && ((w == "df" && $3 == 1) || (w == "dp" && $11 == 0)) { print $1; exit }' \
           "$run/eval/$setting/episodes.csv")
    [[ -n $seed ]] || { echo "no $name episode in $setting"; continue; }
    rm -rf "$run/video_$want"
    evaluate "$run/video_$want" --checkpoint "$run/$want/checkpoint.pt" --policy "$policy" --episodes "$EPISODES" \
      --seed "$TEST_SEED" --videos 0 --video-seeds "$seed" --label "video $setting" >/dev/null
    cmp -s "$run/eval/$setting/episodes.csv" "$run/video_$want/episodes.csv" ||
      { echo "video run of $setting differs from its evaluation"; continue; }
    cp "$run/video_$want/episode_$seed.mp4" "$media/$name.mp4"
    awk -F, -v s="$seed" 'NR == 1 || $1 == s' "$run/video_$want/episodes.csv" >"$media/$name.csv"
    cp "$run/video_$want/command.txt" "$media/$name.command.txt"
  done
}

# The seed-0 DF policy ships in the repository (weights only) in half precision, to stay well under 1 MB; its
# own test evaluation stands beside the float weights'. WEIGHTS/README.md says how it was made.
# "successes / episodes, first pick right r / p" of a summary.csv (its label may hold commas).
counts() {
  /usr/bin/python3 - "$1" <<'PY'
import csv, sys
r = next(csv.DictReader(open(sys.argv[1])))
print(f"{r['successes']} / {r['episodes']} successes, first pick at the ambiguous state right "
      f"{r['right_first_picks']} / {r['first_picks']}")
PY
}

ship_weights() {
  local run="$RUNS/seed0" dest=${WEIGHTS:-weights/robot_state_df}
  [[ -f "$run/eval/df_memory/episodes.csv" ]] || return 0
  mkdir -p "$dest"
  "$EVAL" --checkpoint "$run/df/checkpoint.pt" --export-weights "$run/policy_half.pt" --half >/dev/null 2>&1
  evaluate "$run/eval/df_memory_half" --checkpoint "$run/policy_half.pt" --episodes "$EPISODES" --seed "$TEST_SEED" --videos 0 --label "DF, memory, half-precision weights"
  cp "$run/policy_half.pt" "$dest/policy.pt"
  # The replay check of tests/robot (robot_shipped_state_policy): the first 4 test episodes of the shipped file.
  rm -rf "$run/eval/shipped_check"
  "$EVAL" --checkpoint "$dest/policy.pt" --episodes 4 --seed "$TEST_SEED" --videos 0 --out "$run/eval/shipped_check" \
    --set experiment.threads=1 >/dev/null 2>&1
  cp "$run/eval/shipped_check/episodes.csv" "$dest/check_episodes.csv"
  local c="$run/df/config.yaml"
  {
    echo "# State DF policy of the fruit swap (seed 0)"
    echo
    echo "\`policy.pt\`: the weights (no optimizer state) of the Diffusion Forcing policy on state observations that"
    echo "\`scripts/robot_experiment.sh state\` trained for [docs/results/robot.md](../../docs/results/robot.md), in"
    echo "half precision ($(stat -c %s "$dest/policy.pt") bytes), with its resolved config inside. Evaluate it on a fresh clone"
    echo "(no training, no demonstrations):"
    echo
    echo '```bash'
    echo "bash scripts/build.sh"
    echo "build/apps/robot/df_robot_eval --checkpoint weights/robot_state_df/policy.pt --episodes 100 --seed 1000 --out runs/shipped_df"
    echo '```'
    echo
    echo "- made by: \`$(cat "$run/df/train_command.sh")\`"
    echo "- at commit: \`$(cat "$run/commit.txt")\`"
    echo "- budget: $(awk '/^training:/ { t = 1 } t && /steps:/ { print $2; exit }' "$c") steps x batch $(awk '/^training:/ { t = 1 } t && /batch_size:/ { print $2; exit }' "$c"), $(awk '{ printf "%.1f", $1 / 60 }' "$run/df/train_seconds.txt") min of wall time on one thread of the shared 2-core machine"
    echo "- exported by: \`df_robot_eval --checkpoint $run/df/checkpoint.pt --export-weights weights/robot_state_df/policy.pt --half\`"
    echo "- \`check_episodes.csv\`: its first 4 test episodes (\`df_robot_eval --checkpoint weights/robot_state_df/policy.pt --episodes 4 --seed $TEST_SEED --videos 0\`), replayed by the test robot_shipped_state_policy; on another CPU kind or LibTorch build, rounding may differ: rewrite it with that command"
    echo "- on test seeds $TEST_SEED-$((TEST_SEED + EPISODES - 1)): these half-precision weights $(counts "$run/eval/df_memory_half/summary.csv"), the float weights they were cast from $(counts "$run/eval/df_memory/summary.csv")"
  } >"$dest/README.md"
  echo "shipped $dest/policy.pt (half)"
}

pixels_progress() {
  local run="$RUNS" m step snap files=()
  rm -f "$run/progress/commit.txt" "$run/progress/fingerprint.txt"  # made anew at this code
  run_commit_stamp "$run/progress"
  for m in df tf dp; do
    [[ -f "$run/$m/checkpoint.pt" ]] || continue
    snap="$run/progress/$m"
    rm -rf "$snap" "$run/progress/eval/$m"
    mkdir -p "$snap"
    # A snapshot (the weights the evaluation uses, EMA where kept) whose training step the export reports.
    "$EVAL" --checkpoint "$run/$m/checkpoint.pt" --export-weights "$snap/weights.pt" >"$snap/export.log" 2>&1 ||
      { tail -5 "$snap/export.log"; exit 1; }
    step=$(grep -o 'weights of step [0-9]*' "$snap/export.log" | awk '{ print $4 }')
    [[ -n $step ]] || { echo "pixels-progress: no step in $snap/export.log"; exit 1; }
    echo "$step" >"$snap/step.txt"
    sed -E 's#^[^ ]*/apps/tools/df_train #build/apps/tools/df_train #' "$run/$m/train_command.sh" \
      >"$snap/train_command.txt"
    cp "$run/$m/config.yaml" "$snap/config.yaml"
    evaluate "$run/progress/eval/$m" --checkpoint "$snap/weights.pt" $([[ $m == dp ]] && echo --policy memoryless) \
      --episodes "${PROGRESS_EPISODES:-$EPISODES}" --seed "$TEST_SEED" --videos 0 --label "pixels: $m at step $step"
    files+=("$m/step.txt" "$m/train_command.txt" "$m/config.yaml" "eval/$m/summary.csv" "eval/$m/command.txt")
  done
  ((${#files[@]})) || { echo "pixels-progress: no pixel checkpoint in $run"; return 0; }
  rm -rf "$ARCHIVE/pixels_progress"
  archive_store "$run/progress" "$ARCHIVE/pixels_progress" "${files[@]}"
}
pixels() {
  local run="$RUNS" config=configs/robot_swap_cpu.yaml m
  run_commit_stamp "$run"
  demos "$config" "$run/demos"
  # Hours per model: a checkpoint every 10 minutes of wall time too, so a session that ends loses little (set
  # here, not in the config, which is an input of every archived robot run).
  local shared_args=(--set robot.demo_dir="$run/demos" --set training.checkpoint_minutes=10 "${PIXEL_SET_ARGS[@]}")
  train "$run/df" "$config" "${shared_args[@]}"
  train "$run/tf" "$config" "${shared_args[@]}" --set diffusion.training_noise=teacher_forcing
  train "$run/dp" "$config" "${shared_args[@]}" --set robot.window=2 --set robot.window_until=expert_done
  local test=(--episodes "$EPISODES" --seed "$TEST_SEED" --videos 0)
  evaluate "$run/eval/df_memory" --checkpoint "$run/df/checkpoint.pt" "${test[@]}" --label "pixels: DF, memory"
  evaluate "$run/eval/tf_memory" --checkpoint "$run/tf/checkpoint.pt" "${test[@]}" --label "pixels: teacher forcing"
  evaluate "$run/eval/dp_memoryless" --checkpoint "$run/dp/checkpoint.pt" --policy memoryless "${test[@]}" --label "pixels: memoryless"
  local files=()
  for m in df tf dp; do
    cp "$run/$m/train_command.sh" "$run/$m/train_command.txt"
    files+=("$m/config.yaml" "$m/train_seconds.txt" "$m/train_command.txt" "eval/${m}_$([[ $m == dp ]] && echo memoryless || echo memory)/summary.csv")
  done
  rm -rf "$ARCHIVE/pixels"
  archive_store "$run" "$ARCHIVE/pixels" "${files[@]}"
}

case "$MODE" in
  state)
    RUNS=${RUNS:-/var/tmp/df-runs/robot}
    mkdir -p "$RUNS"
    # One folder per demonstration count and missed-grasp share: a folder recorded otherwise is never read in
    # its place.
    STATE_DEMOS="$RUNS/demos_$(awk '$1 == "demos:" { print $2; exit }' configs/robot_swap_state.yaml)"
    missed=$(awk '$1 == "missed_grasps:" { print $2; exit }' configs/robot_swap_state.yaml)
    [[ -n $missed && $missed != 0 && $missed != 0.0 ]] && STATE_DEMOS+="_dart$missed"
    demos configs/robot_swap_state.yaml "$STATE_DEMOS"
    # The first seed's memory table, its videos and shipped weights, the rest of that seed (teacher forcing, the
    # corruptions), then the chance levels and the other seeds: a run cut short still has the main claim.
    first=${SEEDS%% *}
    state_seed "$first" memory
    if [[ $first == 0 ]]; then
      videos
      ship_weights
    fi
    state_seed "$first"
    scripted
    for s in $SEEDS; do [[ $s == "$first" ]] || state_seed "$s"; done
    ;;
  pixels)
    RUNS=${RUNS:-/var/tmp/df-runs/robot/pixels}
    pixels
    ;;
  pixels-progress)
    RUNS=${RUNS:-/var/tmp/df-runs/robot/pixels}
    pixels_progress
    ;;
  archive)  # a state run stopped before its end: archive what finished (partial), then write the page
    RUNS=${RUNS:-/var/tmp/df-runs/robot}
    for s in $SEEDS; do
      if [[ -f "$RUNS/seed$s/commit.txt" ]] && ! { archive_is_fresh "$ARCHIVE/state/seed$s" && [[ ! -f "$ARCHIVE/state/seed$s/partial.txt" ]]; }; then
        archive_is_fresh "$RUNS/seed$s" && archive_seed "$s" partial
      fi
    done
    ;;
  media)  # only the first seed's videos (VIDEOS=0: none) and the shipped weights (after its memory table)
    RUNS=${RUNS:-/var/tmp/df-runs/robot}
    if [[ ${VIDEOS:-1} == 1 ]]; then videos; fi
    ship_weights
    ;;
  probe)  # one seed-0 model of the state config with extra --set overrides; demonstrations: PROBE_DEMOS
    RUNS=${RUNS:-/var/tmp/df-runs/robot}
    : "${PROBE:?PROBE=name}" "${MODEL:?MODEL=df or ctl}" "${DESC:?DESC=what the probe changes}"
    shift
    STATE_DEMOS="$RUNS/demos_$(awk '$1 == "demos:" { print $2; exit }' configs/robot_swap_state.yaml)"
    demos_dir=${PROBE_DEMOS:-$STATE_DEMOS}
    run="$RUNS/probes/$PROBE"
    [[ -d $demos_dir ]] || demos configs/robot_swap_state.yaml "$demos_dir" "$@"
    run_commit_stamp "$run"
    # shellcheck disable=SC2046  # model_args is a list of words
    train "$run/$MODEL" configs/robot_swap_state.yaml --set robot.demo_dir="$demos_dir" --set experiment.seed=0 $(model_args "$MODEL") "$@"
    policy=memory
    [[ $MODEL == ctl ]] && policy=memoryless
    evaluate "$run/eval" --checkpoint "$run/$MODEL/checkpoint.pt" --policy "$policy" --episodes "$EPISODES" \
      --seed "$TEST_SEED" --videos 0 --label "$PROBE"
    aim_sensitivity "$run" "$MODEL" "$policy"
    cp "$run/$MODEL/train_command.sh" "$run/$MODEL/train_command.txt"
    echo "$DESC" >"$run/description.txt"
    rm -rf "$ARCHIVE/probes/$PROBE"
    probe_extra=()
    [[ -f "$run/$MODEL/validation.csv" ]] && probe_extra+=("$MODEL/validation.csv")
    mapfile -t -O "${#probe_extra[@]}" probe_extra < <(aim_files "$run")
    archive_store "$run" "$ARCHIVE/probes/$PROBE" description.txt "$MODEL/train_command.txt" "$MODEL/train_seconds.txt" \
      "$MODEL/config.yaml" eval/summary.csv eval/episodes.csv eval/command.txt "${probe_extra[@]}"
    ;;
  aim)  # the aim diagnostic of archived runs whose checkpoints are in RUNS (the same run: same commit and configs)
    RUNS=${RUNS:-/var/tmp/df-runs/robot}
    add_aim() {  # run dir, archive dir, model, policy
      local run=$1 dest=$2 f
      [[ -f "$run/$3/checkpoint.pt" && -f "$dest/$3/config.yaml" ]] || return 0
      if ! cmp -s "$run/commit.txt" "$dest/commit.txt" || ! cmp -s "$run/$3/config.yaml" "$dest/$3/config.yaml"; then
        echo "$run/$3 is not the run archived in $dest: skipped"
        return 0
      fi
      aim_sensitivity "$run" "$3" "$4"
      for f in aim_sensitivity.csv command.txt commit.txt; do
        mkdir -p "$dest/aim/$3" && cp "$run/aim/$3/$f" "$dest/aim/$3/$f"
      done
    }
    for s in $SEEDS; do
      for m in df tf dp ctl; do
        policy=memoryless
        [[ $m == df || $m == tf ]] && policy=memory
        add_aim "$RUNS/seed$s" "$ARCHIVE/state/seed$s" "$m" "$policy"
      done
    done
    for d in "$ARCHIVE"/probes/*/; do
      d=${d%/}
      for m in df ctl; do
        add_aim "$RUNS/probes/$(basename "$d")" "$d" "$m" "$([[ $m == df ]] && echo memory || echo memoryless)"
      done
    done
    ;;
  report) ;;
  *) sed -n '2,16p' "$0" >&2; exit 1 ;;
esac
numerics_args=()
if [[ $MODE == report ]]; then
  # Only the archive is read: the page pools the runs made with the main results' numerics (state/seed0's), on
  # whatever machine it is rewritten, and says whether this build's fingerprint agrees.
  archive_reference_fingerprint "$ARCHIVE/state/seed0"
  numerics_args=(--numerics "$NUMERICS_FINGERPRINT" --build-numerics "$ARCHIVE_BUILD_FINGERPRINT")
fi
fresh=()
for d in state/scripted state/seed0 state/seed1 state/seed2 pixels pixels_progress; do
  archive_is_fresh "$ARCHIVE/$d" && fresh+=("$d")
done
/usr/bin/python3 scripts/robot_report.py --archive "$ARCHIVE" --fresh "${fresh[*]:-}" --out "$REPORT" --eval "$EVAL" \
  ${numerics_args[@]+"${numerics_args[@]}"}
