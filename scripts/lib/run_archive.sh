# shellcheck shell=bash
# Sourced by the table scripts: keeps the small result files of each finished run in the repository (a
# folder under docs/results/), so that a table of many hours can be filled in over several sessions or
# machines, and rewritten from what is committed.
#
# Every archived run holds commit.txt (the commit it was started from) and fingerprint.txt: the numerics
# fingerprint of its domain ("<domain> <16 hex digits>") computed by the build that made it. The fingerprint
# hashes the exact outputs of tiny fixed training and sampling runs of the domain's pipeline (df_fingerprint,
# include/df/experiment/numerics_fingerprint.h), so a speed-up or a refactor that keeps every bit keeps it,
# and any change of the domain's numbers moves it. A run is *fresh* when
#   * its fingerprint.txt equals the current build's fingerprint of NUMERICS_DOMAIN, and
#   * none of its inputs (NUMERICS_INPUTS, set by the caller: its config files, its data) differ between its
#     commit and the working tree;
# only fresh runs are reused and reported, stale ones are redone. A fingerprint depends on the CPU kind and
# the LibTorch build (their vector kernels round differently): on another kind of machine every archived run
# may read as stale, which is conservative.
#
#   numerics_fingerprint              # NUMERICS_FINGERPRINT <- the current build's line for NUMERICS_DOMAIN
#   run_commit_stamp RUN_DIR          # at the start of a run: commit.txt <- HEAD, fingerprint.txt (kept on resume)
#   archive_is_fresh DIR              # 0 when DIR was made with today's fingerprint from today's inputs
#                                     # (or today's resolved configs: NUMERICS_CONFIG_TOOL below)
#   archive_store RUN_DIR DEST FILES  # copy FILES (relative to RUN_DIR), commit.txt and fingerprint.txt to DEST
#   archive_reference_fingerprint DIR # report-only: judge archived runs against the archived run DIR, not the build
#
# The fingerprint is computed once per invocation (seconds) and cached in $BUILD/numerics_fingerprints/ (or
# FINGERPRINT_CACHE), keyed by a hash of the tool (FINGERPRINT_TOOL, default $BUILD/apps/tools/df_fingerprint:
# the library is linked into it statically), the shared libraries it loads (LibTorch), the CPU model and the
# data of data/timeseries.
# A run started while its inputs had uncommitted changes is stamped "<sha>-dirty" and never counts as fresh.
#
# Inputs by resolved configuration (NUMERICS_CONFIG_TOOL=<df_train>, set by the caller): an archive or run
# folder whose runs recorded their training command (train_command.txt, or train_command.sh, beside the
# config.yaml df_train wrote, at any depth) is compared by configuration instead of by input files. It is
# fresh while each command, replayed today with --print-config, resolves to exactly what its stored
# config.yaml resolves to (a key added since then takes its default in both). So a comment, a reordering, or
# a key added with the old behaviour as its default keeps the runs; a changed value, in a config file or in
# the defaults, makes them stale; and a run trained with `--set` overrides stays fresh when its config file
# takes those values. Archives without such commands keep the file rule. Verdicts are cached beside the
# fingerprints, keyed by the tool, the stored configs, the commands and the input files.

numerics_fingerprint() {
  local domain=${NUMERICS_DOMAIN:?NUMERICS_DOMAIN is not set}
  [[ ${NUMERICS_FINGERPRINT:-} == "$domain "* ]] && return 0
  local tool=${FINGERPRINT_TOOL:-${BUILD:-build}/apps/tools/df_fingerprint} key cache line
  [[ -x $tool ]] || { echo "numerics_fingerprint: $tool is missing (build df_fingerprint)" >&2; return 1; }
  key=$({
    sha256sum <"$tool"
    # the shared libraries it loads, by path, size and time (hashing LibTorch's 0.5 GB every time is slow)
    ldd "$tool" 2>/dev/null | awk '$3 ~ /^\// { print $3 }' | sort | xargs -r stat -L -c '%n %s %Y'
    grep -m1 '^model name' /proc/cpuinfo
    echo "${ATEN_CPU_CAPABILITY:-} ${MKL_CBWR:-}"
    cat data/timeseries/* 2>/dev/null | sha256sum
  } | sha256sum | cut -c1-16)
  cache="${FINGERPRINT_CACHE:-${BUILD:-build}/numerics_fingerprints}/$key/$domain"
  if [[ -s $cache ]]; then
    line=$(cat "$cache")
  else
    echo "numerics_fingerprint: computing the $domain fingerprint with $tool" >&2
    line=$(OMP_NUM_THREADS=1 "$tool" --domain "$domain" | awk -v d="$domain" '$1 == d') || return 1
    [[ $line == "$domain "* ]] || { echo "numerics_fingerprint: $tool gave no fingerprint for $domain" >&2; return 1; }
    mkdir -p "$(dirname "$cache")" && echo "$line" >"$cache"
  fi
  export NUMERICS_FINGERPRINT=$line  # background jobs of the script reuse it
}

# For a page rewritten from the committed archive alone (a report-only mode): archived runs are judged
# against the archived run REF_DIR (its fingerprint.txt) instead of against this build, so the page can be
# rewritten on any machine -- a fingerprint also moves with the CPU kind -- and still pools only runs made
# with the same numerics. Sets ARCHIVE_BUILD_FINGERPRINT to this build's line, for the page to say whether the
# two agree. Without REF_DIR/fingerprint.txt the build's fingerprint stays the reference.
archive_reference_fingerprint() {
  numerics_fingerprint || return 1
  ARCHIVE_BUILD_FINGERPRINT=$NUMERICS_FINGERPRINT
  [[ -f $1/fingerprint.txt ]] || return 0
  NUMERICS_FINGERPRINT=$(cat "$1/fingerprint.txt")
  [[ $NUMERICS_FINGERPRINT == "$NUMERICS_DOMAIN "* ]] ||
    { echo "archive_reference_fingerprint: $1/fingerprint.txt is not a $NUMERICS_DOMAIN fingerprint" >&2; return 1; }
  export NUMERICS_FINGERPRINT
}

run_commit_stamp() {
  local dir=$1
  mkdir -p "$dir"
  [[ -f "$dir/commit.txt" ]] && return 0
  local sha
  sha=$(git rev-parse HEAD)
  # shellcheck disable=SC2086  # NUMERICS_INPUTS is a list of pathspecs
  if [[ -n "$(git status --porcelain -- $NUMERICS_INPUTS)" ]]; then sha+="-dirty"; fi
  numerics_fingerprint || return 1
  echo "$NUMERICS_FINGERPRINT" >"$dir/fingerprint.txt"
  echo "$sha" >"$dir/commit.txt"
}

archive_is_fresh() {
  local dir=$1 sha
  [[ -f "$dir/commit.txt" && -f "$dir/fingerprint.txt" ]] || return 1
  sha=$(cat "$dir/commit.txt")
  [[ $sha == *-dirty ]] && return 1
  git cat-file -e "$sha^{commit}" 2>/dev/null || return 1
  numerics_fingerprint || return 1
  [[ $(cat "$dir/fingerprint.txt") == "$NUMERICS_FINGERPRINT" ]] || return 1
  if [[ -n ${NUMERICS_CONFIG_TOOL:-} && -n $(archive_train_commands "$dir") ]]; then
    archive_configs_match "$dir"
  else
    # shellcheck disable=SC2086
    git diff --quiet "$sha" -- $NUMERICS_INPUTS
  fi
}

# The training commands under DIR that have a config.yaml beside them, sorted: train_command.txt (archives)
# or, where there is none, train_command.sh (the run folders the experiment scripts write).
archive_train_commands() {
  local f d
  find "$1" \( -name train_command.txt -o -name train_command.sh \) 2>/dev/null | sort | while IFS= read -r f; do
    d=$(dirname "$f")
    [[ -f $d/config.yaml ]] || continue
    [[ $f == *.sh && -f $d/train_command.txt ]] && continue
    echo "$f"
  done
}

archive_configs_match() {
  local dir=$1 tool=$NUMERICS_CONFIG_TOOL key cache f run replay stored
  local -a cmd
  [[ -x $tool ]] || { echo "archive_configs_match: $tool is missing (build df_train)" >&2; return 1; }
  key=$({
    stat -L -c '%n %s %Y' "$tool"
    while IFS= read -r f; do cat "$f" "$(dirname "$f")/config.yaml"; done < <(archive_train_commands "$dir")
    # shellcheck disable=SC2086  # NUMERICS_INPUTS is a list of pathspecs
    git ls-files -z -- $NUMERICS_INPUTS | xargs -0 -r cat
  } | sha256sum | cut -c1-16)
  cache="${FINGERPRINT_CACHE:-${BUILD:-build}/numerics_fingerprints}/configs/$key"
  if [[ ! -s $cache ]]; then
    local verdict=match
    while IFS= read -r f; do
      run=$(dirname "$f")
      read -r -a cmd <"$f"
      replay=$("$tool" "${cmd[@]:1}" --print-config 2>/dev/null) || { verdict="differ: $f does not replay"; break; }
      stored=$("$tool" --config "$run/config.yaml" --print-config 2>/dev/null) ||
        { verdict="differ: $run/config.yaml"; break; }
      [[ $replay == "$stored" ]] || { verdict="differ: $f"; break; }
    done < <(archive_train_commands "$dir")
    mkdir -p "$(dirname "$cache")" && echo "$verdict" >"$cache"
  fi
  [[ $(cat "$cache") == match ]]
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
  cp "$run/fingerprint.txt" "$dest/fingerprint.txt"
}
