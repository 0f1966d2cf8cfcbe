#include "df/experiment/domain.h"

#include <spdlog/spdlog.h>

#include "df/core/compat.h"
#include "df/core/error.h"
#include "df/data/npy.h"
#include "df/sampling/sampler.h"

namespace df {
namespace {

// Collects every token, then writes `<label>.npy` ([N, B, ...token], context included) and scores it.
class CollectingSampleWriter : public SampleWriter {
 public:
  CollectingSampleWriter(const Domain& domain, const Config& config, std::string dir, std::string label)
      : domain_(domain), config_(config), dir_(std::move(dir)), label_(std::move(label)) {}
  void write(const torch::Tensor& tokens) override { chunks_.push_back(tokens.detach().to(torch::kCPU)); }
  std::map<std::string, double> finish() override {
    const auto samples = torch::cat(chunks_);
    const auto npy = dir_ + "/" + label_ + ".npy";
    write_npy(npy, samples);
    spdlog::info("wrote {} ({})", npy, shape_str(samples));
    return domain_.evaluate_samples(config_, samples, dir_, label_);
  }

 private:
  const Domain& domain_;
  const Config& config_;
  std::string dir_, label_;
  std::vector<torch::Tensor> chunks_;
};

}  // namespace

torch::Tensor Domain::read_context(const Config&, const std::string& path, int64_t batch) const {
  const auto context = read_npy(path).to(torch::kFloat);
  check(context.dim() >= 2 && context.size(1) == batch,
        path + ": context must be [Tc, " + std::to_string(batch) + ", ...token], got " + shape_str(context));
  return context;
}

std::unique_ptr<SampleWriter> Domain::make_sample_writer(const Config& config, const std::string& dir,
                                                         const std::string& label, int64_t, uint64_t) const {
  return std::make_unique<CollectingSampleWriter>(*this, config, dir, label);
}

void Domain::fingerprint_evaluation(DiffusionForcingModel& model, const Config& config, const FingerprintPaths& paths,
                                    NumericsDigest& digest) const {
  // df_sample's defaults: the training length, the domain's context and conditions, the config's plan.
  const int64_t batch = 4, tokens = make_dataset(config)->num_tokens();
  const uint64_t seed = 0;
  auto context = default_context(config, batch, seed);
  context = context.defined() && context.size(0) > 0 ? context.to(model.device()) : torch::Tensor();
  const int64_t n_context = context.defined() ? context.size(0) : 0;
  auto cond = sampling_condition(config, tokens, batch, seed);
  if (cond.defined()) cond = cond.to(model.device());
  Sampler sampler(model, read_sampler_options(config));
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  torch::manual_seed(seed);
  const auto samples =
      rollout_after_context(sampler, read_chunk_plan(config), context, batch, tokens - n_context, cond, gen);
  digest.add("sample.tokens", samples);
  const auto all = (n_context > 0 ? torch::cat({context, samples}) : samples).to(torch::kCPU);
  digest.add("sample.metrics", evaluate_samples(config, all, paths.work_dir, "fingerprint_samples"));
}

}  // namespace df
