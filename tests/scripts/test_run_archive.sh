#!/usr/bin/env bash
# scripts/lib/run_archive.sh: an archived run is fresh while the numerics paths are unchanged since the
# commit that made it; a change there (committed or not) makes it stale, a change elsewhere does not; a run
# started from uncommitted numerics code is never fresh; an unknown commit is stale; archive_store copies
# the named files with the commit and names a missing one. Works in a throwaway git repository.
set -euo pipefail
source "$1/scripts/lib/run_archive.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
cd "$work"
git init -q repo && cd repo
git config user.email t@t && git config user.name t
mkdir -p src/core src/robot docs
echo a >src/core/a.cpp && echo r >src/robot/r.cpp && echo d >docs/page.md
git add . && git commit -qm one
NUMERICS_PATHS="src :(exclude)src/robot"

# A run made at the first commit, archived with two files.
run_commit_stamp runs/x
mkdir -p runs/x/forecast && echo "crps_sum,0.1" >runs/x/forecast/metrics.csv && echo 12 >runs/x/seconds.txt
archive_store runs/x archive/x forecast/metrics.csv seconds.txt
[[ $(cat archive/x/forecast/metrics.csv) == "crps_sum,0.1" && -f archive/x/seconds.txt ]] || fail "files not archived"
[[ $(cat archive/x/commit.txt) == "$(git rev-parse HEAD)" ]] || fail "commit not recorded"
archive_is_fresh archive/x || fail "fresh run reported stale"

# The stamp is kept on resume.
first=$(cat runs/x/commit.txt)
echo b >docs/page.md && git commit -qam two
run_commit_stamp runs/x
[[ $(cat runs/x/commit.txt) == "$first" ]] || fail "resume overwrote the stamp"

# Changes outside the numerics paths, or in an excluded domain, keep it fresh.
archive_is_fresh archive/x || fail "a docs commit made the run stale"
echo r2 >src/robot/r.cpp && git commit -qam three
archive_is_fresh archive/x || fail "an excluded path made the run stale"

# An uncommitted change to the numerics code makes it stale; undone, fresh again; committed, stale.
echo a2 >src/core/a.cpp
archive_is_fresh archive/x && fail "uncommitted numerics change not seen"
git checkout -q src/core/a.cpp
archive_is_fresh archive/x || fail "reverted change still stale"
echo a3 >src/core/a.cpp && git commit -qam four
archive_is_fresh archive/x && fail "committed numerics change not seen"

# A run started from a dirty numerics tree is stamped -dirty and never fresh.
echo a4 >src/core/a.cpp
run_commit_stamp runs/y
[[ $(cat runs/y/commit.txt) == *-dirty ]] || fail "dirty tree not stamped"
git commit -qam five
archive_is_fresh runs/y && fail "a dirty run counted as fresh"

# An unknown commit, or no commit.txt, is stale.
mkdir -p runs/z && echo 0123456789abcdef0123456789abcdef01234567 >runs/z/commit.txt
archive_is_fresh runs/z && fail "unknown commit counted as fresh"
archive_is_fresh runs/none && fail "missing commit.txt counted as fresh"

# A missing file is named.
msg=$(archive_store runs/x archive/x2 nothing.csv 2>&1) && fail "missing file archived"
[[ $msg == *"runs/x/nothing.csv is missing"* ]] || fail "unclear error: $msg"
echo "run_archive ok"
