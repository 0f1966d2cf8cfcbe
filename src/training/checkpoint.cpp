#include "df/training/checkpoint.h"

#include <cstring>
#include <filesystem>
#include <sstream>

#include "df/core/atomic_file.h"
#include "df/core/error.h"

namespace df {

namespace {

torch::Tensor bytes_to_tensor(const std::string& bytes) {
  auto t = torch::empty({static_cast<int64_t>(bytes.size())}, torch::kUInt8);
  if (!bytes.empty()) std::memcpy(t.data_ptr<uint8_t>(), bytes.data(), bytes.size());
  return t;
}

std::string tensor_to_bytes(const torch::Tensor& t) {
  const auto c = t.contiguous();
  return std::string(reinterpret_cast<const char*>(c.data_ptr<uint8_t>()), static_cast<size_t>(c.numel()));
}

// Tensor maps are stored as t0, t1, ... plus a newline-separated list of the original names, because
// archive keys must be identifiers while parameter names contain dots.
void write_map(torch::serialize::OutputArchive& archive, const std::string& key, const TensorMap& map) {
  torch::serialize::OutputArchive sub;
  std::string names;
  int64_t i = 0;
  for (const auto& [name, tensor] : map) {
    sub.write("t" + std::to_string(i++), tensor.detach().to(torch::kCPU));
    names += name + "\n";
  }
  sub.write("names", bytes_to_tensor(names));
  archive.write(key, sub);
}

TensorMap read_map(torch::serialize::InputArchive& archive, const std::string& key) {
  torch::serialize::InputArchive sub;
  archive.read(key, sub);
  torch::Tensor names_tensor;
  sub.read("names", names_tensor);
  std::istringstream names(tensor_to_bytes(names_tensor));
  TensorMap map;
  std::string name;
  int64_t i = 0;
  while (std::getline(names, name)) {
    torch::Tensor t;
    sub.read("t" + std::to_string(i++), t);
    map[name] = t;
  }
  return map;
}

std::string encode_scalars(const std::map<std::string, double>& scalars) {
  std::ostringstream out;
  out.precision(17);
  for (const auto& [k, v] : scalars) out << k << "=" << v << "\n";
  return out.str();
}

std::map<std::string, double> decode_scalars(const std::string& text) {
  std::map<std::string, double> scalars;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const auto eq = line.find('=');
    if (eq != std::string::npos) scalars[line.substr(0, eq)] = std::stod(line.substr(eq + 1));
  }
  return scalars;
}

}  // namespace

void save_checkpoint(const std::string& path, const Checkpoint& c, const std::function<void()>& before_commit) {
  torch::serialize::OutputArchive archive;
  archive.write("format", bytes_to_tensor("diffusion-forcing-checkpoint-v1"));
  archive.write("step", torch::full({1}, c.step, torch::kLong));
  archive.write("config", bytes_to_tensor(c.config_yaml));
  write_map(archive, "model", c.model);
  write_map(archive, "ema", c.ema);
  archive.write("optimizer", bytes_to_tensor(c.optimizer_state));
  archive.write("scalars", bytes_to_tensor(encode_scalars(c.scalars)));
  write_file_atomically(
      path,
      [&](const std::string& temp) {
        try {
          archive.save_to(temp);
        } catch (const std::exception& e) {
          throw Error(path + ": cannot write checkpoint: " + e.what());
        }
      },
      before_commit);
}

Checkpoint load_checkpoint(const std::string& path) {
  check(std::filesystem::exists(path), path + ": checkpoint not found");
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path, torch::kCPU);
  } catch (const std::exception& e) {
    throw Error(path + ": not a readable checkpoint (" + std::string(e.what()).substr(0, 200) + ")");
  }
  Checkpoint c;
  // A fresh tensor per read: InputArchive::read copies into a defined tensor, keeping its dtype (reading
  // the int64 step into the uint8 tensor of the previous entry truncated it to one byte).
  const auto read = [&](const char* key) {
    torch::Tensor t;
    archive.read(key, t);
    return t;
  };
  try {
    check(tensor_to_bytes(read("format")) == "diffusion-forcing-checkpoint-v1", path + ": unknown checkpoint format");
    c.step = read("step").reshape({-1})[0].item<int64_t>();
    c.config_yaml = tensor_to_bytes(read("config"));
    c.model = read_map(archive, "model");
    c.ema = read_map(archive, "ema");
    c.optimizer_state = tensor_to_bytes(read("optimizer"));
    c.scalars = decode_scalars(tensor_to_bytes(read("scalars")));
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(path + ": incomplete checkpoint (" + std::string(e.what()).substr(0, 200) + ")");
  }
  return c;
}

void load_inference_weights(torch::nn::Module& module, const Checkpoint& checkpoint, const std::string& source,
                            bool prefer_ema) {
  load_state_dict(module, checkpoint.model, source);
  if (!prefer_ema || checkpoint.ema.empty()) return;
  torch::NoGradGuard no_grad;
  for (auto& p : module.named_parameters(true)) {
    const auto it = checkpoint.ema.find(p.key());
    check(it != checkpoint.ema.end(), source + ": EMA weights lack \"" + p.key() + "\"");
    p.value().copy_(it->second);
  }
}

Checkpoint inference_checkpoint(const Checkpoint& checkpoint, bool half, bool prefer_ema) {
  Checkpoint c;
  c.step = checkpoint.step;
  c.config_yaml = checkpoint.config_yaml;
  c.model = checkpoint.model;
  if (prefer_ema)
    for (const auto& [name, value] : checkpoint.ema) c.model[name] = value;
  if (half)
    for (auto& [name, value] : c.model)
      if (value.is_floating_point()) value = value.to(torch::kHalf);
  return c;
}

std::string serialize_optimizer(const torch::optim::Optimizer& optimizer) {
  torch::serialize::OutputArchive archive;
  optimizer.save(archive);
  std::ostringstream out;
  archive.save_to(out);
  return out.str();
}

void deserialize_optimizer(torch::optim::Optimizer& optimizer, const std::string& bytes, const std::string& source) {
  torch::serialize::InputArchive archive;
  std::istringstream in(bytes);
  try {
    archive.load_from(in);
    optimizer.load(archive);
  } catch (const std::exception& e) {
    throw Error(source + ": cannot restore the optimizer state (" + std::string(e.what()).substr(0, 200) + ")");
  }
}

}  // namespace df
