#!/usr/bin/env bash
# Downloads the Debian packages the GPU machine lacks (it has PyTorch/LibTorch, CMake and nvcc but no
# package manager and no internet) into .gpu-deps/ (git-ignored). Run here, then carry .gpu-deps there.
# Where the authors' benchmark sits beside the checkout (../shared/bench, MIT, for measuring only: it is not
# part of this repository), a copy goes to .gpu-deps/authors_bench for scripts/gpu_performance.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .gpu-deps
cd .gpu-deps
apt-get update -qq
# libxml2, libicu72 and libnettle8: libarchive13's runtime libraries that a minimal image may lack (the
# linker needs them to resolve libarchive.so); its other ones (zlib, bz2, lzma, lz4, zstd, acl) are in any base.
apt-get download libyaml-cpp-dev libyaml-cpp0.7 libcli11-dev libspdlog-dev libspdlog1.10 libfmt-dev libfmt9 \
  libgtest-dev libgmock-dev googletest libarchive-dev libarchive13 rapidjson-dev libxml2 libicu72 libnettle8 \
  2>&1 | tail -1
ls -1 *.deb
cd ..
if [[ -f ../shared/bench/authors_bench.py ]]; then
  rm -rf .gpu-deps/authors_bench && mkdir -p .gpu-deps/authors_bench
  cp -r ../shared/bench/authors_bench.py ../shared/bench/dfmodels ../shared/bench/einops_shim .gpu-deps/authors_bench/
  echo "authors' benchmark copied to .gpu-deps/authors_bench"
fi
