# shellcheck shell=bash
# Sourced by the table scripts: keeps the small result files of each finished run in the repository (a
# folder under docs/results/), so that a table of many hours can be filled in over several sessions or
# machines, and rewritten from what is committed.
#
# Every archived run holds commit.txt: the commit whose code made it. A run is *fresh* when none of the
# paths that can change its numbers (NUMERICS_PATHS, set by the caller: library, tools, its config) differ
# between that commit and the working tree; only fresh runs are reused and reported, stale ones are redone.
#
#   run_commit_stamp RUN_DIR          # at the start of a run: RUN_DIR/commit.txt <- HEAD (kept on resume)
#   archive_is_fresh DIR              # 0 when DIR/commit.txt names a commit with the same numerics code
#   archive_store RUN_DIR DEST FILES  # copy FILES (relative to RUN_DIR) and commit.txt into DEST
#
# A run started from a working tree with uncommitted changes under NUMERICS_PATHS is stamped "<sha>-dirty"
# and never counts as fresh: the code that made it is not in any commit.

run_commit_stamp() {
  local dir=$1
  mkdir -p "$dir"
  [[ -f "$dir/commit.txt" ]] && return 0
  local sha
  sha=$(git rev-parse HEAD)
  # shellcheck disable=SC2086  # NUMERICS_PATHS is a list of pathspecs
  if [[ -n "$(git status --porcelain -- $NUMERICS_PATHS)" ]]; then sha+="-dirty"; fi
  echo "$sha" >"$dir/commit.txt"
}

archive_is_fresh() {
  local dir=$1 sha
  [[ -f "$dir/commit.txt" ]] || return 1
  sha=$(cat "$dir/commit.txt")
  [[ $sha == *-dirty ]] && return 1
  git cat-file -e "$sha^{commit}" 2>/dev/null || return 1
  # shellcheck disable=SC2086
  git diff --quiet "$sha" -- $NUMERICS_PATHS
}

archive_store() {
  local run=$1 dest=$2
  shift 2
  mkdir -p "$dest"
  local f
  for f in "$@"; do
    [[ -f "$run/$f" ]] || { echo "archive_store: $run/$f is missing" >&2; return 1; }
    mkdir -p "$dest/$(dirname "$f")"
    cp "$run/$f" "$dest/$f"
  done
  cp "$run/commit.txt" "$dest/commit.txt"
}
