#!/usr/bin/env bash
# The built-in demo: the paper's compositional experiment (section 4.3, appendix E.2), end to end on the CPU.
# Installs what is missing, builds, trains on cross-shaped trajectories, then samples (1) with full memory and
# (2) as MPC without memory (the latent reset every few tokens), and writes numbers + plots to
# runs/compositional/report.md (this is what docs/results/compositional.md records).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
run=${RUN_DIR:-runs/compositional}
bin=build/apps/tools
start=$(date +%s)
$bin/df_train --config configs/compositional.yaml --run-dir "$run" "$@"
trained=$(date +%s)
tokens=$(grep -A3 "^compositional:" "$run/config.yaml" | awk '/trajectory_length/ {print $2}')
common=(--checkpoint "$run/checkpoint.pt" --out "$run/samples" --batch 256 --seed 1 --tokens "$tokens")
$bin/df_sample "${common[@]}" --label full_memory
$bin/df_sample "${common[@]}" --label mpc_no_memory --memory 1 --replan-every 6
sampled=$(date +%s)

metric() { awk -F, -v k="$2" '$1 == k {printf "%.3f", $2}' "$run/samples/$1_metrics.csv"; }
{
  echo "# Compositional generation (paper section 4.3 / appendix E.2)"
  echo
  echo "Produced by \`bash scripts/demo.sh\` on $(nproc) CPU cores: training $((trained - start)) s, sampling $((sampled - trained)) s."
  echo "Config: \`configs/compositional.yaml\` ($(awk '/^training:/ {f=1} f && /steps:/ {print $2; exit}' "$run/config.yaml") steps, batch $(awk '/^training:/ {f=1} f && /batch_size:/ {print $2; exit}' "$run/config.yaml")); 256 sampled trajectories of $tokens points each, seed 1, starting at a left corner."
  echo
  echo "| sampling | ends at the opposite corner (cross) | changed diagonal (V / Λ) | back to start | ends elsewhere | mean distance to the cross |"
  echo "|---|---|---|---|---|---|"
  for label in full_memory mpc_no_memory; do
    echo "| $label | $(metric $label cross_share) | $(metric $label changed_diagonal_share) | $(metric $label back_to_start_share) | $(metric $label nowhere_share) | $(metric $label distance_to_diagonal) |"
  done
  echo
  echo "- full_memory: \`df_sample ${common[*]} --label full_memory\` (the latent carries the whole history)."
  echo "- mpc_no_memory: \`df_sample ${common[*]} --label mpc_no_memory --memory 1 --replan-every 6\` (every 6 tokens the latent is reset and only the current point is fed back)."
  echo
  echo "![full memory](full_memory.png)"
  echo "![MPC without memory](mpc_no_memory.png)"
} > "$run/report.md"
cp "$run/samples/full_memory.png" "$run/samples/mpc_no_memory.png" "$run/" 2>/dev/null || true
cat "$run/report.md"
