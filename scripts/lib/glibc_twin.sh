# shellcheck shell=bash
# Sourced by scripts/malloc_bench.sh and scripts/performance_table.sh: df_bench of ./build relinked without
# tcmalloc, so that glibc's malloc can be measured against it with the same object files.
#
#   glibc_twin OUT   # writes OUT (a path under build/); fails when ./build is not a Ninja build
glibc_twin() {
  local out=$1 link
  mkdir -p "$(dirname "$out")"
  link=$(cd build && ninja -t commands apps/tools/df_bench | tail -1)
  link=${link/-Wl,--push-state,--no-as-needed/}
  link=$(sed -E "s# [^ ]*libtcmalloc_minimal[^ ]*# #; s#-Wl,--pop-state##; s# -o apps/tools/df_bench # -o $(realpath -m "$out") #" <<<"$link")
  (cd build && eval "$link")
  if ldd "$out" | grep -q tcmalloc; then echo "glibc_twin: $out still links tcmalloc" >&2; return 1; fi
}
