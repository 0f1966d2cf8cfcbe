#!/usr/bin/env bash
# Installs the build and runtime dependencies on Debian 12 (idempotent). Needs root (or sudo).
set -euo pipefail
packages=(
  libtorch-dev libopenblas0-openmp            # LibTorch 1.13 (CPU) on OpenBLAS, not reference BLAS
  libgloo-dev                                 # Gloo's headers: c10d's Gloo backend (multi-process training)
  libyaml-cpp-dev libcli11-dev libspdlog-dev libfmt-dev libgtest-dev libgmock-dev
  libarchive-dev rapidjson-dev                # GluonTS .tar.gz / .json.gz archives, JSON lines
  libopencv-dev                               # PNG / MP4 output
  libmujoco-dev libqhull-dev libhdf5-dev      # Maze2D on the real MuJoCo engine, D4RL HDF5 files
  cmake ninja-build g++ ccache
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "setup: dependencies present"
