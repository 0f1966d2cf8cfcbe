#!/usr/bin/env bash
# Guidance-scale selection for the reduced U-Maze model on held-out episode seeds (1000..1031, disjoint
# from the reported seeds 0..31): DF without MCG, executing its diffused actions and by PD tracking.
#   scripts/maze2d_guidance_sweep.sh [checkpoint]     (default runs/maze2d_umaze_cpu/checkpoint.pt)
# Prints one line per (protocol, scale) and writes runs/maze2d_guidance_sweep/<protocol>_g<scale>/.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-maze2}
CKPT=${1:-runs/maze2d_umaze_cpu/checkpoint.pt}
OUT=${OUT:-runs/maze2d_guidance_sweep}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
for protocol in actions pd; do
  flag=""; [[ $protocol == pd ]] && flag="--pd-tracking"
  for g in ${SCALES:-5 10 20 40 80 160 320}; do
    "$BUILD/apps/planning/df_maze_eval" --config configs/maze2d_umaze_cpu.yaml --checkpoint "$CKPT" \
      --episodes 32 --seed 1000 --method df_no_mcg $flag --env maze2d-umaze-v1 --plots 2 \
      --set sampling.guidance_scale=$g --out "$OUT/${protocol}_g$g" 2>&1 | grep "^maze2d-umaze-v1 " |
      sed "s/^/$protocol g=$g  /"
  done
done
