# shellcheck shell=bash
# Sourced by the experiment scripts: trains one run to its end across interruptions, so that a run of
# hours can be done in parts (a session that ends, Ctrl-C: df_train writes a checkpoint on SIGTERM/SIGINT).
#
#   train_resumable RUN_DIR LOG DF_TRAIN ARGS...
#
# RUN_DIR/train_seconds.txt present: the run finished, nothing to do. RUN_DIR/checkpoint.pt present without
# it: an interrupted run, continued with `DF_TRAIN --resume --run-dir RUN_DIR --set K=V...` (the run's stored
# config with the `--set` overrides of ARGS applied again: the same ones are a no-op, and settings of the
# machine -- training.precision, threads, shards -- may change between parts), appending to LOG. Otherwise
# DF_TRAIN ARGS... writes LOG from the start. Returns df_train's exit status.
#
# Wall time: each part adds its seconds to RUN_DIR/train_seconds.parts; a part that was killed counts up to
# its last checkpoint (the work the next part builds on; anything after it is redone and counted then).
# train_seconds.txt gets the sum when the run finishes, so tables report the whole training time.
train_resumable() {
  local dir=$1 log=$2 train=$3
  shift 3
  if [[ -f "$dir/train_seconds.txt" && -f "$dir/checkpoint.pt" ]]; then
    echo "train_resumable: $dir already trained"
    return 0
  fi
  mkdir -p "$dir"
  local parts="$dir/train_seconds.parts" marker="$dir/train_part_started"
  if [[ -f "$marker" ]]; then  # the previous part was killed
    local began last
    began=$(cat "$marker")
    if [[ -f "$dir/checkpoint.pt" ]]; then
      last=$(stat -c %Y "$dir/checkpoint.pt")
      (( last > began )) && echo $(( last - began )) >>"$parts"
    fi
    rm -f "$marker"
  fi
  local start rc=0
  start=$(date +%s)
  echo "$start" >"$marker"
  if [[ -f "$dir/checkpoint.pt" ]]; then
    local sets=() args=("$@") i
    for ((i = 0; i + 1 < ${#args[@]}; ++i)); do
      [[ ${args[i]} == --set ]] && sets+=(--set "${args[i + 1]}")
    done
    echo "train_resumable: continuing $dir from its checkpoint (log $log)"
    "$train" --resume --run-dir "$dir" "${sets[@]}" >>"$log" 2>&1 || rc=$?
  else
    rm -f "$parts"
    "$train" "$@" >"$log" 2>&1 || rc=$?
  fi
  (( rc == 0 )) || return "$rc"  # the marker stays: the next call counts this part up to its checkpoint
  echo $(( $(date +%s) - start )) >>"$parts"
  rm -f "$marker"
  awk '{ s += $1 } END { print s }' "$parts" >"$dir/train_seconds.txt"
}

# Seconds RUN_DIR has trained up to its checkpoint, by the same accounting: train_seconds.txt once finished;
# before that the finished parts, and a running (or killed) part up to its checkpoint's write.
trained_seconds() {
  local dir=$1 seconds began last
  if [[ -f "$dir/train_seconds.txt" ]]; then cat "$dir/train_seconds.txt"; return; fi
  seconds=$(cat "$dir/train_seconds.parts" 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
  if [[ -f "$dir/train_part_started" && -f "$dir/checkpoint.pt" ]]; then
    began=$(cat "$dir/train_part_started")
    last=$(stat -c %Y "$dir/checkpoint.pt")
    (( last > began )) && seconds=$(( seconds + last - began ))
  fi
  echo "$seconds"
}

# The arithmetic RUN_DIR trained in, as df_train resolved it at the start of each part (its train.log:
# "precision fp32", or "precision auto: bf16 (...)"): the distinct values in order, e.g. "fp32" or
# "bf16, then fp32" for a run continued on a machine without native bf16; "?" without a log.
trained_precisions() {
  awk '{ if (match($0, /precision (auto: )?(fp32|bf16|fp16)/)) { p = substr($0, RSTART, RLENGTH); sub(/.* /, "", p)
           if (p != last) { out = out (out == "" ? "" : ", then ") p; last = p } } }
       END { print (out == "" ? "?" : out) }' "$1/train.log" 2>/dev/null || echo "?"
}

# The --set overrides of each part of RUN_DIR, from the command of every df_train call (its command.txt, one
# line per call: the first command, then each --resume), grouped by value in order of first use, e.g.
# "part 1: training.threads=2; parts 2-3, 5: training.precision=auto training.threads=2; part 4: ...": which
# machine settings each part ran with (a resumed part may change them: train_resumable above). "?" without it.
trained_overrides() {
  awk '{ s = ""; for (i = 1; i < NF; ++i) if ($i == "--set") s = s (s == "" ? "" : " ") $(i + 1)
         if (s == "") s = "(none)"
         if (!(s in parts)) order[++n] = s
         parts[s] = parts[s] (parts[s] == "" ? "" : " ") NR }
       END { if (n == 0) { print "?"; exit }
             for (k = 1; k <= n; ++k) {
               m = split(parts[order[k]], p, " "); list = ""
               for (i = 1; i <= m; i = j + 1) {
                 for (j = i; j < m && p[j + 1] == p[j] + 1; ++j) {}
                 list = list (list == "" ? "" : ", ") p[i] (j > i ? "-" p[j] : "")
               }
               out = out (k > 1 ? "; " : "") (m > 1 ? "parts " : "part ") list ": " order[k]
             }
             print out }' "$1/command.txt" 2>/dev/null || echo "?"
}
