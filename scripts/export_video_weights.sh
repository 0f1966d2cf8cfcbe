#!/usr/bin/env bash
# Exports the trained video models of scripts/video_mnist_experiment.sh as weights to ship in the repository:
# for each model m, DEST/m.pt (df_export_weights: the inference weights only -- EMA when the run kept them --
# in half precision, no optimizer state, a few MB; beside EMA weights also DEST/m_training.pt, the training
# weights they average, for the page's comparison of the two), DEST/m.yaml (its resolved config) and DEST/m.provenance
# (the command, commit, budget and arithmetic that made it, and each part's machine settings).
# `FROM_WEIGHTS=DEST bash scripts/video_mnist_experiment.sh` then rewrites the page from them, and
# `df_sample --checkpoint DEST/df.pt` rolls out on a fresh clone.
#
#   bash scripts/export_video_weights.sh                   # WORLD=mnist1: the runs in /var/tmp/df-runs/video_mnist1
#   HALF=0 bash scripts/export_video_weights.sh            # single precision (if half precision rolls out worse)
#
# Environment: BUILD (default build), WORLD (default mnist1), RUNS (default ${DF_RUNS:-/var/tmp/df-runs}/video_<WORLD>),
# DEST (default weights/video_<WORLD>), MODELS (default "df tf fs"), HALF (default 1), WEIGHTS (ema, the
# default, or training), COMMIT (the commit that trained a run started before the experiment script stamped
# it into <run>/train_commit.txt). Only finished runs (<run>/train_seconds.txt) are exported. The provenance
# also records the video domain's numerics fingerprint (df_fingerprint) at export.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
WORLD=${WORLD:-mnist1}
RUNS=${RUNS:-${DF_RUNS:-/var/tmp/df-runs}/video_${WORLD}}
DEST=${DEST:-weights/video_${WORLD}}
MODELS=${MODELS:-"df tf fs"}
HALF=${HALF:-1}
WEIGHTS=${WEIGHTS:-ema}
EXPORT="$BUILD/apps/tools/df_export_weights"
[ -x "$EXPORT" ] || { echo "export_video_weights: $EXPORT missing (bash scripts/build.sh)" >&2; exit 1; }
key() { awk -v k="  $2:" 'index($0, k) == 1 { print $2; exit }' "$1"; }
source scripts/lib/train_resumable.sh  # trained_precisions, trained_overrides
mkdir -p "$DEST"
for m in $MODELS; do
  run="$RUNS/$m"
  [ -f "$run/train_seconds.txt" ] && [ -f "$run/checkpoint.pt" ] ||
    { echo "export_video_weights: $run has not finished training (no train_seconds.txt); not exported" >&2; exit 1; }
  commit=${COMMIT:-$(cat "$run/train_commit.txt" 2>/dev/null || true)}
  [ -n "$commit" ] || { echo "export_video_weights: $run/train_commit.txt missing: name the commit that trained it with COMMIT=" >&2; exit 1; }
  flags=()
  [ "$HALF" = 1 ] && flags+=(--half)
  [ "$WEIGHTS" = training ] && flags+=(--no-ema)
  "$EXPORT" --checkpoint "$run/checkpoint.pt" --out "$DEST/$m.pt" ${flags[@]+"${flags[@]}"}
  ema=$(key "$run/config.yaml" ema_decay)
  rm -f "$DEST/${m}_training.pt"
  if [ "$WEIGHTS" = training ] || [ "$ema" = 0 ] || [ "$ema" = 0.0 ]; then kind="training weights"; else
    kind="EMA weights (decay $ema)"
    # The training weights beside their EMA, so that the page's comparison of the two is redrawn from the
    # shipped files too.
    "$EXPORT" --checkpoint "$run/checkpoint.pt" --out "$DEST/${m}_training.pt" --no-ema ${flags[@]+"${flags[@]}"}
  fi
  {
    # The experiment script's train_command.txt, else the first command df_train recorded (command.txt).
    echo "train_command: $(head -1 "$run/train_command.txt" 2>/dev/null || head -1 "$run/command.txt")"
    echo "commit: $commit"
    [ -f "$run/train_part_commits.txt" ] && echo "part_commits: $(awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $1, substr($2, 1, 12) }' "$run/train_part_commits.txt")"
    echo "part_overrides: $(trained_overrides "$run")"
    echo "steps: $(key "$run/config.yaml" steps)"
    echo "batch_size: $(key "$run/config.yaml" batch_size)"
    echo "train_seconds: $(cat "$run/train_seconds.txt")"
    echo "precision: $(trained_precisions "$run")"
    echo "parameters: $(grep -m1 -o '[0-9.]* M parameters' "$run/train.log" || echo '?')"
    echo "weights: $kind, $([ "$HALF" = 1 ] && echo "half precision" || echo "single precision")"
    echo "numerics_fingerprint: $("$BUILD/apps/tools/df_fingerprint" --domain video 2>/dev/null || echo '?')"
    echo "export_command: $EXPORT --checkpoint $run/checkpoint.pt --out $DEST/$m.pt ${flags[*]:-}"
    echo "exported: $(date -u +%Y-%m-%d) at commit $(git rev-parse HEAD)"
    echo "sha256: $(sha256sum "$DEST/$m.pt" | cut -d' ' -f1)"
    if [ -f "$DEST/${m}_training.pt" ]; then
      echo "training_weights: $DEST/${m}_training.pt, the training weights without the EMA, $([ "$HALF" = 1 ] && echo "half precision" || echo "single precision")"
      echo "training_weights_sha256: $(sha256sum "$DEST/${m}_training.pt" | cut -d' ' -f1)"
    fi
  } > "$DEST/$m.provenance"
  echo "export_video_weights: $DEST/$m.pt ($(stat -c %s "$DEST/$m.pt") bytes), $DEST/$m.yaml, $DEST/$m.provenance"
done
