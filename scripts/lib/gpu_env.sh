# shellcheck shell=bash
# Sourced by scripts/gpu_check.sh and scripts/gpu_performance.sh on the GPU machine (PyTorch with CUDA,
# CMake and nvcc, but no package manager and no internet): picks the Python that has torch, unpacks the
# Debian packages carried in .gpu-deps/ (scripts/fetch_gpu_deps.sh) into .gpu-deps/root once, and exports
# what the build and the tools need: PY, TORCH_PREFIX, DEPS_PREFIX, GPU_LINK_FLAGS, LD_LIBRARY_PATH.
if [ -z "${PY:-}" ]; then  # PY=/usr/bin/python3 chooses another one
  PY=python3
  [ -x /opt/torch/.venv/bin/python ] && PY=/opt/torch/.venv/bin/python
fi
DEPS_PREFIX="$PWD/.gpu-deps/root"
if [ ! -d "$DEPS_PREFIX/usr/lib/x86_64-linux-gnu/cmake" ]; then
  mkdir -p "$DEPS_PREFIX"
  for deb in .gpu-deps/*.deb; do
    if ! dpkg -x "$deb" "$DEPS_PREFIX" 2>/dev/null; then  # no dpkg: unpack the ar archive by hand
      tmp=$(mktemp -d); (cd "$tmp" && ar x "$OLDPWD/$deb" && tar -xf data.tar.* -C "$DEPS_PREFIX"); rm -rf "$tmp"
    fi
  done
fi
ls "$DEPS_PREFIX/usr/lib/x86_64-linux-gnu/cmake" >/dev/null ||
  { echo "no CMake configs in .gpu-deps: run scripts/fetch_gpu_deps.sh here and carry .gpu-deps"; exit 1; }
TORCH_PREFIX=$($PY -c 'import torch;print(torch.utils.cmake_prefix_path)')
nv_libs=$($PY - <<'PYEOF'
import glob, os, site
dirs = set()
for s in site.getsitepackages():
    for d in glob.glob(os.path.join(s, "nvidia", "*", "lib")):
        dirs.add(d)
print(":".join(sorted(dirs)))
PYEOF
)
export LD_LIBRARY_PATH="$DEPS_PREFIX/usr/lib/x86_64-linux-gnu:${nv_libs}:${LD_LIBRARY_PATH:-}"
GPU_LINK_FLAGS=""
[ -n "$nv_libs" ] && GPU_LINK_FLAGS="-Wl,-rpath-link,${nv_libs//:/ -Wl,-rpath-link,}"
export PY TORCH_PREFIX DEPS_PREFIX GPU_LINK_FLAGS
