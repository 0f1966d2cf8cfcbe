// A program that selects its BLAS kernels as the tools do and prints what it runs, one line:
// "<core>|<DF_BLAS_KERNELS_CHOSEN, or - when it did not restart>". Run by test_blas_kernels.cpp.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "df/core/blas_kernels.h"

int main(int argc, char** argv) {
  const std::string pin = argc > 1 ? argv[1] : "";
  df::select_blas_kernels(argv, pin);
  const char* chosen = std::getenv("DF_BLAS_KERNELS_CHOSEN");
  std::printf("%s|%s\n", df::loaded_blas_kernels().core.c_str(), chosen ? chosen : "-");
  return 0;
}
