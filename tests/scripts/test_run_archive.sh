#!/usr/bin/env bash
# scripts/lib/run_archive.sh: an archived run is fresh while the current build's numerics fingerprint of its
# domain equals the one it was made with and its inputs (config, data) are unchanged since its commit. A
# change of the code that keeps the fingerprint (a speed-up) keeps it fresh; a new fingerprint, or a change of
# its inputs (committed or not), makes it stale; a run started from uncommitted inputs, an unknown commit, or
# a run without fingerprint.txt is never fresh. The fingerprint is computed once per invocation and cached per
# tool binary. archive_store copies the named files with the stamps and names a missing one. Works in a
# throwaway git repository with a stand-in df_fingerprint. With NUMERICS_CONFIG_TOOL (a stand-in df_train), an
# archive of runs that recorded their training command is fresh while each command resolves to its stored
# config: a comment or an override written into the config keeps it, a changed value does not.
set -euo pipefail
source "$1/scripts/lib/run_archive.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
cd "$work"
git init -q repo && cd repo
git config user.email t@t && git config user.name t
mkdir -p src configs docs
echo a >src/a.cpp && echo c >configs/ts.yaml && echo o >configs/other.yaml && echo d >docs/page.md
git add . && git commit -qm one

# A stand-in for df_fingerprint: prints "<domain> <the hash in $work/fp>" and counts its calls.
mkdir -p "$work/bin"
cat >"$work/bin/df_fingerprint" <<EOF
#!/usr/bin/env bash
echo call >>"$work/calls"
[[ \$1 == --domain ]] && echo "\$2 \$(cat "$work/fp")"
EOF
chmod +x "$work/bin/df_fingerprint"
echo 0123456789abcdef >"$work/fp"
export FINGERPRINT_TOOL="$work/bin/df_fingerprint" FINGERPRINT_CACHE="$work/cache"
calls() { if [[ -f "$work/calls" ]]; then wc -l <"$work/calls"; else echo 0; fi; }
new_invocation() { unset NUMERICS_FINGERPRINT; }
NUMERICS_DOMAIN=timeseries
NUMERICS_INPUTS="configs/ts.yaml"

# A run made at the first commit, archived with two files and both stamps.
run_commit_stamp runs/x
mkdir -p runs/x/forecast && echo "crps_sum,0.1" >runs/x/forecast/metrics.csv && echo 12 >runs/x/seconds.txt
archive_store runs/x archive/x forecast/metrics.csv seconds.txt
[[ $(cat archive/x/forecast/metrics.csv) == "crps_sum,0.1" && -f archive/x/seconds.txt ]] || fail "files not archived"
[[ $(cat archive/x/commit.txt) == "$(git rev-parse HEAD)" ]] || fail "commit not recorded"
[[ $(cat archive/x/fingerprint.txt) == "timeseries 0123456789abcdef" ]] || fail "fingerprint not recorded"
archive_is_fresh archive/x || fail "fresh run reported stale"

# Computed once per invocation, then read from the cache of this tool binary.
for _ in 1 2 3; do archive_is_fresh archive/x || fail "fresh run reported stale"; done
[[ $(calls) == 1 ]] || fail "fingerprint computed $(calls) times in one invocation"
new_invocation
archive_is_fresh archive/x || fail "fresh run reported stale after a new invocation"
[[ $(calls) == 1 ]] || fail "the cached fingerprint of the same binary was recomputed"

# The stamp is kept on resume.
first=$(cat runs/x/commit.txt)
echo b >docs/page.md && git commit -qam two
run_commit_stamp runs/x
[[ $(cat runs/x/commit.txt) == "$first" ]] || fail "resume overwrote the stamp"

# Code changes that keep the fingerprint (a speed-up, a refactor), committed or not, keep it fresh; so does
# another config.
echo a2 >src/a.cpp
archive_is_fresh archive/x || fail "an uncommitted code change with the same fingerprint made the run stale"
git commit -qam three
echo o2 >configs/other.yaml && git commit -qam four
archive_is_fresh archive/x || fail "a code commit with the same fingerprint, or another config, made the run stale"

# Its config changed: stale while uncommitted, fresh when undone, stale when committed.
echo c2 >configs/ts.yaml
archive_is_fresh archive/x && fail "uncommitted config change not seen"
git checkout -q configs/ts.yaml
archive_is_fresh archive/x || fail "reverted config still stale"
echo c3 >configs/ts.yaml && git commit -qam five
archive_is_fresh archive/x && fail "committed config change not seen"

# A new build whose numerics differ: another fingerprint makes it stale.
run_commit_stamp runs/w
echo "# rebuilt" >>"$work/bin/df_fingerprint" && echo fedcba9876543210 >"$work/fp"
new_invocation
archive_is_fresh runs/w && fail "a changed fingerprint not seen"
[[ $(calls) == 2 ]] || fail "a new binary's fingerprint was not computed (calls: $(calls))"
run_commit_stamp runs/v
archive_is_fresh runs/v || fail "a run of the new build reported stale"
# Another domain's fingerprint never matches.
NUMERICS_DOMAIN=maze
archive_is_fresh runs/v && fail "a time-series run counted as fresh for the maze domain"
NUMERICS_DOMAIN=timeseries

# A run started from an uncommitted config is stamped -dirty and never fresh.
echo c4 >configs/ts.yaml
run_commit_stamp runs/y
[[ $(cat runs/y/commit.txt) == *-dirty ]] || fail "dirty inputs not stamped"
git commit -qam six
archive_is_fresh runs/y && fail "a dirty run counted as fresh"

# An unknown commit, no commit.txt, or no fingerprint.txt (an archive of the old rule) is stale.
mkdir -p runs/z && git rev-parse HEAD >runs/z/commit.txt
archive_is_fresh runs/z && fail "a run without fingerprint.txt counted as fresh"
cp runs/v/fingerprint.txt runs/z/ && archive_is_fresh runs/z || fail "a stamped run at HEAD reported stale"
echo 0123456789abcdef0123456789abcdef01234567 >runs/z/commit.txt
archive_is_fresh runs/z && fail "unknown commit counted as fresh"
archive_is_fresh runs/none && fail "missing commit.txt counted as fresh"

# Without the tool the fingerprint fails with its path (the table scripts stop instead of redoing everything).
new_invocation
msg=$(FINGERPRINT_TOOL="$work/bin/missing" numerics_fingerprint 2>&1) && fail "missing tool accepted"
[[ $msg == *"$work/bin/missing is missing"* ]] || fail "unclear error: $msg"

# By resolved configuration (NUMERICS_CONFIG_TOOL): a stand-in df_train whose --print-config "resolves" a
# config as its lines without comments with the --set values replacing theirs, sorted, with the default
# "k: 0" added when no line sets k.
new_invocation
echo 0123456789abcdef >"$work/fp" && sed -i '$d' "$work/bin/df_fingerprint"
cat >"$work/bin/df_train" <<'EOF2'
#!/usr/bin/env bash
config="" sets=()
while (( $# )); do
  case $1 in
    --config) config=$2; shift 2 ;;
    --set) sets+=("$2"); shift 2 ;;
    --print-config) shift ;;
    *) shift 2 ;;
  esac
done
[[ -f $config ]] || { echo "no config $config" >&2; exit 1; }
resolved=$(mktemp)
# the --set values first: sort -u keeps the first line of each key
{ for s in "${sets[@]}"; do echo "${s%%=*}: ${s#*=}"; done; grep -v '^#' "$config"; } | sort -s -u -t: -k1,1 >"$resolved"
grep -q '^k:' "$resolved" || echo "k: 0" >>"$resolved"
sort "$resolved" && rm -f "$resolved"
EOF2
chmod +x "$work/bin/df_train"
NUMERICS_DOMAIN=robot NUMERICS_INPUTS="configs/r.yaml"
printf 'a: 1\nb: 2\n' >configs/r.yaml && git add configs/r.yaml && git commit -qm seven
# A run trained from configs/r.yaml with --set b=3, archived with its command and the config it wrote.
train_run() {  # run dir, --set args...
  local dir=$1; shift
  mkdir -p "$dir"
  echo "build/apps/tools/df_train --config configs/r.yaml --run-dir $dir $*" >"$dir/train_command.txt"
  local -a cmd; read -r -a cmd <"$dir/train_command.txt"
  "$work/bin/df_train" "${cmd[@]:1}" --print-config >"$dir/config.yaml"
}
run_commit_stamp runs/r && train_run runs/r/m --set b=3
archive_store runs/r archive/r m/train_command.txt m/config.yaml
NUMERICS_CONFIG_TOOL="$work/bin/df_train"
archive_is_fresh archive/r || fail "config rule: a fresh run reported stale"
# A comment in the config, committed: the file rule would call it stale, the config rule keeps it.
printf '# why b\na: 1\nb: 2\n' >configs/r.yaml && git commit -qam eight
(unset NUMERICS_CONFIG_TOOL; archive_is_fresh archive/r) && fail "file rule: a committed config edit not seen"
archive_is_fresh archive/r || fail "config rule: a comment made the run stale"
# The --set value written into the config keeps it; a key added with the old default keeps it.
printf 'a: 1\nb: 3\n' >configs/r.yaml && git commit -qam nine
archive_is_fresh archive/r || fail "config rule: the run's override moved into its config made it stale"
printf 'a: 1\nb: 3\nk: 0\n' >configs/r.yaml
archive_is_fresh archive/r || fail "config rule: a key added with its default made the run stale"
# A changed value, committed or not, makes it stale; so does a stored config that no longer resolves.
printf 'a: 5\nb: 3\n' >configs/r.yaml
archive_is_fresh archive/r && fail "config rule: a changed value not seen"
printf 'a: 1\nb: 3\n' >configs/r.yaml
archive_is_fresh archive/r || fail "config rule: reverted value still stale"
mv archive/r/m/config.yaml archive/r/m/config.yml
archive_is_fresh archive/r && fail "config rule: an archive whose command has no config beside it used the config rule"
mv archive/r/m/config.yml archive/r/m/config.yaml
# A run folder (train_command.sh, as the experiment scripts write it) is judged the same way.
mv runs/r/m/train_command.txt runs/r/m/train_command.sh
archive_is_fresh runs/r || fail "config rule: a run folder with train_command.sh reported stale"
printf 'a: 7\nb: 3\n' >configs/r.yaml
archive_is_fresh runs/r && fail "config rule: a run folder's train_command.sh not read"
printf 'a: 1\nb: 3\n' >configs/r.yaml
# The rule keeps the fingerprint's: another fingerprint is stale whatever the configs.
echo fedcba9876543210 >"$work/fp" && echo "# rebuilt again" >>"$work/bin/df_fingerprint"
new_invocation
archive_is_fresh archive/r && fail "config rule: a changed fingerprint not seen"
unset NUMERICS_CONFIG_TOOL
NUMERICS_DOMAIN=timeseries NUMERICS_INPUTS="configs/ts.yaml"

# Report-only (archive_reference_fingerprint): archived runs are judged against an archived run's fingerprint,
# so a build whose fingerprint differs (another CPU kind) still rewrites the page from runs made alike, and
# leaves out one made with other numerics; ARCHIVE_BUILD_FINGERPRINT keeps the build's line for the page.
new_invocation
echo 0123456789abcdef >"$work/fp" && echo "# third build" >>"$work/bin/df_fingerprint"
run_commit_stamp runs/ref && run_commit_stamp runs/alike && run_commit_stamp runs/other
echo "timeseries 1111111111111111" >runs/ref/fingerprint.txt && cp runs/ref/fingerprint.txt runs/alike/
archive_is_fresh runs/ref && fail "report: a run of another build counted as fresh before the reference was set"
archive_reference_fingerprint runs/ref
[[ $ARCHIVE_BUILD_FINGERPRINT == "timeseries 0123456789abcdef" ]] || fail "report: build line $ARCHIVE_BUILD_FINGERPRINT"
archive_is_fresh runs/ref && archive_is_fresh runs/alike || fail "report: runs made like the reference reported stale"
archive_is_fresh runs/other && fail "report: a run of the build's numerics pooled with the reference's"
new_invocation
archive_reference_fingerprint runs/none_here
[[ $NUMERICS_FINGERPRINT == "$ARCHIVE_BUILD_FINGERPRINT" ]] || fail "report: no reference did not keep the build's"
archive_is_fresh runs/other || fail "report: without a reference the build's run reported stale"
echo "maze 1111111111111111" >runs/ref/fingerprint.txt
new_invocation
msg=$(archive_reference_fingerprint runs/ref 2>&1) && fail "report: another domain's reference accepted"
[[ $msg == *"runs/ref/fingerprint.txt is not a timeseries fingerprint"* ]] || fail "unclear error: $msg"
new_invocation

# A missing file is named.
msg=$(archive_store runs/x archive/x2 nothing.csv 2>&1) && fail "missing file archived"
[[ $msg == *"runs/x/nothing.csv is missing"* ]] || fail "unclear error: $msg"
echo "run_archive ok"
