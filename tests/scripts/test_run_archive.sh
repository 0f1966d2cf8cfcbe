#!/usr/bin/env bash
# scripts/lib/run_archive.sh: an archived run is fresh while the current build's numerics fingerprint of its
# domain equals the one it was made with and its inputs (config, data) are unchanged since its commit. A
# change of the code that keeps the fingerprint (a speed-up) keeps it fresh; a new fingerprint, or a change of
# its inputs (committed or not), makes it stale; a run started from uncommitted inputs, an unknown commit, or
# a run without fingerprint.txt is never fresh. The fingerprint is computed once per invocation and cached per
# tool binary. archive_store copies the named files with the stamps and names a missing one. Works in a
# throwaway git repository with a stand-in df_fingerprint.
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

# A missing file is named.
msg=$(archive_store runs/x archive/x2 nothing.csv 2>&1) && fail "missing file archived"
[[ $msg == *"runs/x/nothing.csv is missing"* ]] || fail "unclear error: $msg"
echo "run_archive ok"
