#include <gtest/gtest.h>

#include "golden.h"

#include <cstdlib>
#include <filesystem>
#include <sstream>

namespace fs = std::filesystem;

namespace df::test {

std::string golden_dir() {
  if (const char* env = std::getenv("DF_GOLDEN_DIR")) return env;
  return std::string(DF_SOURCE_DIR) + "/tests/data/golden";
}

std::vector<std::string> discover_golden_cases() {
  std::vector<std::string> cases;
  const fs::path dir(golden_dir());
  if (!fs::is_directory(dir)) return cases;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".json") continue;
    const auto stem = entry.path().stem().string();
    if (fs::exists(dir / (stem + ".pt"))) cases.push_back(stem);
  }
  std::sort(cases.begin(), cases.end());
  return cases;
}

std::map<std::string, torch::Tensor> load_fixture(const std::string& path) {
  auto module = torch::jit::load(path, torch::kCPU);
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& b : module.named_buffers()) tensors[b.name] = b.value;
  return tensors;
}

::testing::AssertionResult close(const std::string& name, const torch::Tensor& ours, const torch::Tensor& ref,
                                 double rel, double abs) {
  if (!ours.defined()) return ::testing::AssertionFailure() << name << ": our tensor is undefined";
  if (ours.sizes() != ref.sizes())
    return ::testing::AssertionFailure() << name << ": shape " << ours.sizes() << " vs reference " << ref.sizes();
  const auto o = ours.detach().to(torch::kCPU, torch::kDouble);
  const auto r = ref.detach().to(torch::kCPU, torch::kDouble);
  const double err = (o - r).abs().max().item<double>();
  const double scale = r.abs().max().item<double>();
  const double bound = rel * scale + abs;
  if (err <= bound) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << name << ": max|ours - ref| = " << err << " > bound " << bound
                                       << " (max|ref| = " << scale << ")";
}

}  // namespace df::test
