// Access to the parity fixtures of the authors' model (tests/data/golden, or $DF_GOLDEN_DIR).
#pragma once
#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

namespace df::test {

std::string golden_dir();                          // $DF_GOLDEN_DIR or <repo>/tests/data/golden
std::vector<std::string> discover_golden_cases();  // case names with a .json and a .pt; empty if none
std::map<std::string, torch::Tensor> load_fixture(const std::string& path);  // buffers of a TorchScript file

// max|ours - ref| <= rel * max|ref| + abs, with a message naming the tensor.
::testing::AssertionResult close(const std::string& name, const torch::Tensor& ours, const torch::Tensor& ref,
                                 double rel, double abs);

}  // namespace df::test
