#!/usr/bin/env bash
# Robot imitation with memory (paper section 4.4) on the MuJoCo fruit swap, end to end:
#   1. df_train: the DF policy, the teacher-forcing (next-frame diffusion) baseline and a
#      Diffusion-Policy-style model (trained on 2-token windows: no history), same network, data and steps
#      (the 100 expert demonstrations are generated into robot.demo_dir on first use);
#   2. df_robot_eval: EPISODES seeded episodes for DF, DF without memory (latent reset every token),
#      teacher forcing and the DP-style model, without corruption, with a distractor bag thrown on the
#      table and (DF, teacher forcing, DF without memory) with both cameras black for some tokens;
#   3. the task video generated from one first frame (Figure 4(c));
#   4. docs/results/robot.md with the numbers next to the paper's, failure counts, budgets, commands.
#
#   scripts/robot_experiment.sh                      # CPU budget: configs/robot_swap_cpu.yaml
#   CONFIG=configs/robot_swap.yaml scripts/robot_experiment.sh   # the paper's budget (GPU)
#   TINY=1 scripts/robot_experiment.sh               # the whole pipeline on a tiny budget (minutes)
#   REPORT_ONLY=1 scripts/robot_experiment.sh        # only rewrite the report from finished runs
#   STEPS=2400 scripts/robot_experiment.sh           # every model trained for 2400 steps (runs/robot_2400steps)
# Environment: BUILD (default build: needs df_train and df_robot_eval), CONFIG, STEPS (training steps per
# model, default the config's), RUNS (default runs/robot, or runs/robot_<STEPS>steps with STEPS),
# EPISODES (default 100), REPORT (default docs/results/robot.md), SETTINGS (evaluations to run, default
# all), JOBS (runs at a time, default 2: each run uses one thread, which on a shared 2-core machine is far
# faster than two threads per run). Finished steps are skipped, so an interrupted run continues.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/train_resumable.sh
BUILD=${BUILD:-build}
CONFIG=${CONFIG:-configs/robot_swap_cpu.yaml}
RUNS=${RUNS:-runs/robot${STEPS:+_${STEPS}steps}}
EPISODES=${EPISODES:-100}
REPORT=${REPORT:-docs/results/robot.md}
EXTRA=()
if [[ -n ${TINY:-} ]]; then
  # Tiny: the smoke-test config, a few episodes; the report goes next to the runs, not into docs/.
  CONFIG=configs/tiny_robot.yaml
  RUNS=${RUNS_TINY:-runs/robot_tiny}
  EPISODES=${EPISODES_TINY:-4}
  REPORT=$RUNS/robot.md
  EXTRA=(--set "robot.demo_dir=$RUNS/demos")
fi
JOBS=${JOBS:-2}
export OMP_NUM_THREADS=1
EXTRA+=(--set experiment.threads=1)
[[ -n ${STEPS:-} ]] && EXTRA+=(--set "training.steps=$STEPS")
TRAIN="$BUILD/apps/tools/df_train"
demo_dir() {  # robot.demo_dir of the config after the overrides
  "$TRAIN" --config "$CONFIG" "${EXTRA[@]}" --print-config | awk '/^robot:/ { r = 1; next } /^[^ ]/ { r = 0 }
    r && $1 == "demo_dir:" { print $2 }'
}
EVAL="$BUILD/apps/robot/df_robot_eval"
ALL_SETTINGS="df_memory_none df_memory_distractor df_memory_blackout df_memoryless_none df_memoryless_distractor \
df_memoryless_blackout tf_memory_none tf_memory_distractor tf_memory_blackout dp_memoryless_none dp_memoryless_distractor"
SETTINGS=${SETTINGS:-$ALL_SETTINGS}
mkdir -p "$RUNS"

running=0
spawn() {  # runs "$@" in the background, at most JOBS at a time
  if (( running >= JOBS )); then wait -n || exit 1; running=$((running - 1)); fi
  "$@" &
  running=$((running + 1))
}
wait_all() { while (( running > 0 )); do wait -n || exit 1; running=$((running - 1)); done; }

timed() {  # seconds-file, command...: runs the command, records its wall time
  local out=$1; shift
  local start; start=$(date +%s)
  "$@"
  echo $(( $(date +%s) - start )) > "$out"
}

train() {  # name, extra df_train arguments...
  local name=$1; shift
  local dir="$RUNS/$name"
  mkdir -p "$dir"
  local cmd=("$TRAIN" --config "$CONFIG" --run-dir "$dir" "${EXTRA[@]}" "$@")
  [[ -f "$dir/train_command.sh" ]] || echo "${cmd[*]}" >"$dir/train_command.sh"  # the first part's command
  cat "$dir/train_command.sh"
  # An interrupted training continues from its checkpoint; train_seconds.txt sums the parts.
  train_resumable "$dir" "$dir/train.log" "${cmd[@]}" || { tail -20 "$dir/train.log"; exit 1; }
}

evaluate() {  # setting = <model>_<policy>_<corruption>
  local setting=$1 model policy corruption
  IFS=_ read -r model policy corruption <<< "$setting"
  local dir="$RUNS/eval/$setting"
  if [[ -f "$dir/summary.csv" && -f "$dir/eval_seconds.txt" ]]; then echo "skip $dir (done)"; return; fi
  mkdir -p "$dir"
  local cmd=("$EVAL" --checkpoint "$RUNS/$model/checkpoint.pt" --policy "$policy" --corruption "$corruption"
             --episodes "$EPISODES" --out "$dir" --label "$setting" --set experiment.threads=1)
  echo "${cmd[*]}" | tee "$dir/eval_command.sh"
  timed "$dir/eval_seconds.txt" "${cmd[@]}" > "$dir/eval.log" 2>&1 || { tail -20 "$dir/eval.log"; exit 1; }
}

if [[ -z ${REPORT_ONLY:-} ]]; then
  # The demonstrations first (one process writes the cache), then the models side by side.
  if [[ ! -d $(demo_dir) ]]; then
    "$EVAL" --make-demos "$(demo_dir)" --config "$CONFIG" > "$RUNS/demos.log" 2>&1 || { tail -20 "$RUNS/demos.log"; exit 1; }
  fi
  spawn train df
  spawn train tf --set diffusion.training_noise=teacher_forcing
  if [[ " $SETTINGS " == *" dp_"* ]]; then spawn train dp --set robot.n_frames=2; fi
  wait_all
  for setting in $SETTINGS; do spawn evaluate "$setting"; done
  if [[ ! -f "$RUNS/task_video/task_video.png" ]]; then
    spawn bash -c "'$EVAL' --checkpoint '$RUNS/df/checkpoint.pt' --task-video --out '$RUNS/task_video' --set experiment.threads=1 > '$RUNS/task_video.log' 2>&1 || { tail -20 '$RUNS/task_video.log'; exit 1; }"
  fi
  wait_all
fi

# ---- report ----
field() {  # summary.csv, column name -> value
  awk -F, -v k="$2" 'NR == 1 { for (i = 1; i <= NF; ++i) c[$i] = i } NR == 2 { print $c[k] }' "$1"
}
percent() { awk -v x="$1" 'BEGIN { printf "%.0f", 100 * x }'; }
row() {  # setting, description, paper number
  local s="$RUNS/eval/$1/summary.csv"
  if [[ ! -f $s ]]; then echo "| $2 | not run | | | $3 |"; return; fi
  local n k
  n=$(field "$s" episodes); k=$(field "$s" successes)
  echo "| $2 | $k / $n = **$(percent "$(field "$s" success_rate)")%** | $(percent "$(field "$s" ci95_low)")-$(percent "$(field "$s" ci95_high)")% | $(field "$s" failed_at_stage0) / $(field "$s" failed_at_stage1) / $(field "$s" failed_at_stage2) | $3 |"
}
picks_row() {  # setting, description
  local s="$RUNS/eval/$1/summary.csv"
  [[ -f $s ]] || { echo "| $2 | not run | | |"; return; }
  echo "| $2 | $(field "$s" wrong_picks_stage1) of $(field "$s" picks_stage1) | $(field "$s" wrong_picks_stage2) of $(field "$s" picks_stage2) | $(field "$s" wrong_pick_episodes) of $(field "$s" episodes) |"
}
seconds() { [[ -f $1 ]] && awk '{ printf "%.1f min", $1 / 60 }' "$1" || echo "?"; }
config_value() {  # section.key from a run's stored config
  awk -v s="${2%%.*}" -v k="${2#*.}" '$0 ~ "^" s ":" { in_s = 1; next } /^[^ ]/ { in_s = 0 }
       in_s && $1 == k ":" { print $2; exit }' "$1"
}
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git status --porcelain 2>/dev/null | grep -qv '^??' && echo " (with uncommitted changes)" || true)
media=$(dirname "$REPORT")/robot
mkdir -p "$media"
for f in task_video.png task_video.mp4; do [[ -f "$RUNS/task_video/$f" ]] && cp "$RUNS/task_video/$f" "$media/"; done
for s in df_memory_none df_memoryless_none df_memory_distractor tf_memory_distractor df_memory_blackout; do
  v=$(ls "$RUNS/eval/$s"/episode_*.mp4 2>/dev/null | head -1 || true)
  [[ -n $v ]] && cp "$v" "$media/${s}_$(basename "$v")"
done
dfc="$RUNS/df/config.yaml"
{
  echo "# Robot imitation with memory: the fruit swap in MuJoCo (paper section 4.4)"
  echo
  echo "Generated by \`scripts/robot_experiment.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'), commit \`$commit\`$dirty,"
  echo "config \`$CONFIG\`, runs in \`$RUNS\`, $EPISODES seeded episodes per setting (env seeds"
  echo "$(config_value "$dfc" robot.eval_seed 2>/dev/null || echo 1000) + i)."
  echo
  echo "The paper's real-robot data is not public; the task is rebuilt in simulation (see \"The task\" below)."
  echo "Success: within $(config_value "$dfc" robot.eval_tokens 2>/dev/null || echo 48) tokens of 15 control steps (20 Hz), each fruit rests in"
  echo "the other's start slot. Intervals: 95% Wilson. Failures by stage: failed episodes whose furthest"
  echo "stage was 0 (nothing moved) / 1 (apple in C) / 2 (orange moved too). Corruption starts at token"
  echo "$(config_value "$dfc" robot.corrupt_start 2>/dev/null || echo 10) for $(config_value "$dfc" robot.corrupt_tokens 2>/dev/null || echo 6) tokens; DF labels those observations with noise level"
  echo "k = $(config_value "$dfc" robot.corrupt_level 2>/dev/null || echo 600), the teacher-forced model takes them as truth (k = 0)."
  echo
  echo "| policy | success | 95% CI | failed at stage 0 / 1 / 2 | paper |"
  echo "|---|---|---|---|---|"
  row df_memory_none "Diffusion Forcing (memory in the latent)" "80%"
  row df_memory_distractor "DF, distractor bag on the table, labelled k > 0" "76% (visual distractor)"
  row df_memory_blackout "DF, both cameras black, labelled k > 0" "(occlusion: no number)"
  row df_memoryless_none "DF network without memory (z reset every token)" "Diffusion Policy: fails"
  row df_memoryless_distractor "without memory, distractor" ""
  row df_memoryless_blackout "without memory, cameras black" ""
  row tf_memory_none "next-frame diffusion (teacher forcing)" ""
  row tf_memory_distractor "next-frame diffusion, distractor taken as truth" "48%"
  row tf_memory_blackout "next-frame diffusion, black frames taken as truth" ""
  row dp_memoryless_none "Diffusion-Policy-style (trained on 2-token windows, no history)" "fails"
  row dp_memoryless_distractor "Diffusion-Policy-style, distractor" ""
  echo
  echo "## Why the memoryless policy fails: wrong fruit at the ambiguous state"
  echo
  echo "Stage 1 (apple in C, orange in its start slot) and stage 2 (apple in C, orange in the apple's start"
  echo "slot) of the two starts look alike: a policy that does not remember the start must guess which fruit"
  echo "to move next. Grasps at those states, and how many took the wrong fruit (stage 1: the apple back out"
  echo "of C; stage 2: the orange again):"
  echo
  echo "| policy | wrong picks at stage 1 | wrong picks at stage 2 | episodes with a wrong pick |"
  echo "|---|---|---|---|"
  for s in df_memory_none df_memoryless_none dp_memoryless_none tf_memory_none df_memory_distractor tf_memory_distractor; do
    picks_row "$s" "$s"
  done
  echo
  echo "## Generated task video (Figure 4(c))"
  echo
  echo "From the first frame of an episode alone, the DF model rolls out the remaining tokens (its own"
  echo "actions and both cameras). Rows: expert overview, generated overview, expert hand camera, generated"
  echo "hand camera; columns: evenly spaced tokens. MP4: [robot/task_video.mp4](robot/task_video.mp4)."
  echo
  echo "![generated task video](robot/task_video.png)"
  echo
  echo "Episode videos (overview | hand camera, 20 fps):"
  for v in "$media"/*_episode_*.mp4; do [[ -f $v ]] && echo "[$(basename "$v")](robot/$(basename "$v"))"; done
  echo
  echo "## Budgets and commands"
  echo
  echo "| run | steps | batch | wall time | command |"
  echo "|---|---|---|---|---|"
  for m in df tf dp; do
    c="$RUNS/$m/config.yaml"
    [[ -f $c ]] || continue
    echo "| $m | $(config_value "$c" training.steps) | $(config_value "$c" training.batch_size) | $(seconds "$RUNS/$m/train_seconds.txt") | \`$(cat "$RUNS/$m/train_command.sh")\` |"
  done
  for s in $ALL_SETTINGS; do
    [[ -f "$RUNS/eval/$s/eval_command.sh" ]] || continue
    echo "| eval $s | | | $(seconds "$RUNS/eval/$s/eval_seconds.txt") | \`$(cat "$RUNS/eval/$s/eval_command.sh")\` |"
  done
  if [[ -f $dfc ]]; then
    echo
    echo "Model: U-Net + ConvGRU, network_size $(config_value "$dfc" model.network_size), z $(config_value "$dfc" model.z_channels) channels,"
    echo "$(config_value "$dfc" diffusion.objective) objective, $(config_value "$dfc" diffusion.schedule) schedule, $(config_value "$dfc" diffusion.sampling_steps) DDIM steps,"
    echo "first token clean with probability $(config_value "$dfc" diffusion.first_token_clean_prob); tokens $(config_value "$dfc" robot.resolution)x$(config_value "$dfc" robot.resolution), $(config_value "$dfc" robot.n_frames) per demonstration."
  fi
  if [[ -f "$RUNS/df/validation.csv" ]]; then
    echo
    echo "Held-out validation (last row of \`validation.csv\`): DF \`$(tail -1 "$RUNS/df/validation.csv")\`,"
    echo "teacher forcing \`$(tail -1 "$RUNS/tf/validation.csv" 2>/dev/null)\` (columns: $(head -1 "$RUNS/df/validation.csv"))."
  fi
  echo
  echo "## The task"
  echo
  echo "- Scene (MJCF written by \`df_robot\`, stepped by MuJoCo $(ls /usr/lib/x86_64-linux-gnu/libmujoco.so.* 2>/dev/null | sed 's/.*so\.//' | head -1)): a table with slots A, B (front) and C"
  echo "  (back), an apple (r 2.8 cm) and an orange (r 3.1 cm) as free spheres jittered up to 2 cm inside their"
  echo "  slots, a mocap gripper moved towards each action's target at most 0.3 m/s and holding a fruit by a"
  echo "  weld when it closes within 2 cm of the fruit's centre. Start: apple in A or B, orange in the other."
  echo "- Cameras: an overview of the three slots and a camera on the hand, $(config_value "$dfc" robot.resolution)x$(config_value "$dfc" robot.resolution), rendered by MuJoCo's own"
  echo "  renderer on an off-screen EGL context ($(grep -h -m1 -o 'cameras by .*' "$RUNS"/eval/*/eval.log 2>/dev/null | head -1 | sed 's/cameras by //'))."
  echo "- Expert: apple to C, orange into the apple's start slot, apple into the orange's; back home and a pause"
  echo "  of 31-40 steps after each move, so that some tokens show only the resting hand: at those, the next"
  echo "  fruit depends on the start, which the picture does not show. $(config_value "$dfc" robot.demos) demonstrations (half per"
  echo "  start), $(awk -v f="$(config_value "$dfc" robot.validation_fraction)" 'BEGIN { printf "%g", 100 * f }')% held out."
  echo "- Tokens: [both cameras at step 15j | the 15 actions before it], actions (target x, y, z, grasp) packed"
  echo "  as quadrant blocks of one channel each: 21 channels as in the reference. Details:"
  echo "  [robot_env.md](robot_env.md)."
} > "$REPORT"
echo "wrote $REPORT"
