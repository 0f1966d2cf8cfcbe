// Private: the c10d (torch.distributed C++) headers and the names that differ between LibTorch 1.13 and 2.x.
// It stays out of include/ (and of df/core/compat.h) on purpose: c10d and Gloo headers must not reach the
// library's public headers, and they need Gloo's own headers (Debian: libgloo-dev) to compile.
//
//   DF_HAVE_C10D   LibTorch was built with torch.distributed (its CMake targets define USE_DISTRIBUTED) and
//                  the build did not turn it off (-DDF_WITH_DISTRIBUTED=OFF defines DF_NO_C10D).
//   DF_HAVE_GLOO   ... with the Gloo backend (USE_C10D_GLOO) and our CMake found gloo/*.h (DF_GLOO_HEADERS).
//   DF_HAVE_NCCL   ... with the NCCL backend (USE_C10D_NCCL, set by torch_cuda on CUDA builds).
#pragma once
#include <torch/version.h>

#if defined(USE_DISTRIBUTED) && !defined(DF_NO_C10D)
#define DF_HAVE_C10D 1
#if TORCH_VERSION_MAJOR >= 2
#include <torch/csrc/distributed/c10d/Backend.hpp>
#else
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#endif
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/Types.hpp>
#endif

#if defined(DF_HAVE_C10D) && defined(USE_C10D_GLOO) && defined(DF_GLOO_HEADERS)
#define DF_HAVE_GLOO 1
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif

#if defined(DF_HAVE_C10D) && defined(USE_C10D_NCCL)
#define DF_HAVE_NCCL 1
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#if defined(DF_HAVE_C10D)
namespace df::c10d_compat {
// The object that runs collectives: in 1.13 ProcessGroupGloo / ProcessGroupNCCL derive from
// c10d::ProcessGroup; from 2.0 on they are c10d::Backend objects (a ProcessGroup dispatches to them by
// device). Both expose allreduce / broadcast with the same signatures, which is all this library uses.
#if TORCH_VERSION_MAJOR >= 2
using Collectives = ::c10d::Backend;
#else
using Collectives = ::c10d::ProcessGroup;
#endif
}  // namespace df::c10d_compat
#endif
