#!/usr/bin/env bash
# scripts/lib/train_resumable.sh: a run killed after a checkpoint continues with --resume and the command's
# --set overrides (a new value of a machine setting, e.g. training.precision, reaches the next part), the wall time
# sums the parts (a killed part counts up to its checkpoint), a finished run is not trained again, and a
# run that failed before any checkpoint starts from scratch; trained_precisions and trained_overrides read what each
# part ran with. A stand-in trainer records how it was called.
set -euo pipefail
source "$1/scripts/lib/train_resumable.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# The stand-in: MODE=kill writes a checkpoint dated 5 s after its start and exits like a killed job;
# MODE=crash exits before any checkpoint; otherwise it finishes (writes a checkpoint, exits 0).
cat >"$work/trainer" <<'T'
#!/usr/bin/env bash
echo "$*" >>"$CALLS"
dir=""
while [[ $# -gt 0 ]]; do [[ $1 == --run-dir ]] && dir=$2; shift; done
case "${MODE:-finish}" in
  kill) touch -d "@$(( $(date +%s) + 5 ))" "$dir/checkpoint.pt"; exit 143 ;;
  crash) exit 1 ;;
  *) touch "$dir/checkpoint.pt"; echo "done: trained" ;;
esac
T
chmod +x "$work/trainer"
export CALLS="$work/calls"
run="$work/run"

# 1. Killed after a checkpoint: non-zero status, not finished.
rc=0; MODE="kill" train_resumable "$run" "$work/log" "$work/trainer" --config c.yaml --run-dir "$run" \
  --set training.precision=fp32 --set training.steps=9 || rc=$?
[[ $rc == 143 ]] || fail "killed part returned $rc, expected 143"
[[ ! -f "$run/train_seconds.txt" ]] || fail "a killed run was marked finished"
# 2. The rerun continues from the checkpoint with the stored config and this command's overrides (here another
#    precision, as on another machine), appending to the log.
MODE="finish" train_resumable "$run" "$work/log" "$work/trainer" --config c.yaml --run-dir "$run" \
  --set training.precision=auto --set training.steps=9
[[ "$(sed -n 2p "$CALLS")" == "--resume --run-dir $run --set training.precision=auto --set training.steps=9" ]] ||
  fail "second call was: $(sed -n 2p "$CALLS")"
grep -q "done: trained" "$work/log" || fail "the resumed part did not append to the log"
total=$(cat "$run/train_seconds.txt")
(( total >= 5 && total <= 7 )) || fail "train_seconds.txt is $total, expected 5-7 (5 s to the checkpoint + the rest)"
# 3. Finished: the trainer is not called again.
train_resumable "$run" "$work/log" "$work/trainer" --config c.yaml --run-dir "$run"
[[ $(wc -l <"$CALLS") == 2 ]] || fail "a finished run was trained again"
# 4. A crash before any checkpoint: the next call starts from scratch, with the original arguments.
run2="$work/run2"
MODE="crash" train_resumable "$run2" "$work/log2" "$work/trainer" --config c.yaml --run-dir "$run2" && fail "crash returned 0"
train_resumable "$run2" "$work/log2" "$work/trainer" --config c.yaml --run-dir "$run2"
[[ "$(tail -1 "$CALLS")" == "--config c.yaml --run-dir $run2" ]] || fail "after a crash the call was: $(tail -1 "$CALLS")"
# 5. What each part ran with: the arithmetic df_train resolved (its log) and the --set overrides of every call
#    (command.txt), grouped by value with the parts as ranges.
run3="$work/run3"
mkdir -p "$run3"
cat >"$run3/train.log" <<'L'
[t] [info] c.yaml: domain video, model m (0.6 M parameters), precision bf16, run dir r
[t] [info] r/config.yaml: domain video, model m (0.6 M parameters), precision auto: bf16 (native), run dir r
[t] [info] r/config.yaml: domain video, model m (0.6 M parameters), precision auto: fp32 (emulated bf16 is slower), run dir r
[t] [info] r/config.yaml: domain video, model m (0.6 M parameters), precision fp32, run dir r
L
[[ "$(trained_precisions "$run3")" == "bf16, then fp32" ]] || fail "trained_precisions: $(trained_precisions "$run3")"
cat >"$run3/command.txt" <<'C'
df_train --config c.yaml --run-dir r --set a=1
df_train --resume --run-dir r --set p=auto --set a=1
df_train --resume --run-dir r --set p=auto --set a=1
df_train --resume --run-dir r --set p=auto --set a=2
df_train --resume --run-dir r --set p=auto --set a=1
df_train --resume --run-dir r
C
expected="part 1: a=1; parts 2-3, 5: p=auto a=1; part 4: p=auto a=2; part 6: (none)"
[[ "$(trained_overrides "$run3")" == "$expected" ]] || fail "trained_overrides: $(trained_overrides "$run3")"
[[ "$(trained_overrides "$work/none")" == "?" && "$(trained_precisions "$work/none")" == "?" ]] ||
  fail "a run without command.txt / train.log is not '?'"
echo "train_resumable ok"
