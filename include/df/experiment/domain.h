// What the generic tools (df_train, df_sample, df_bench) need from an application domain: its config
// section, its data, the model shape, and how to validate, condition and score samples. Each domain
// library (compositional, timeseries, planning, video, robot) implements one Domain and exposes a
// factory; the registry (df/experiment/registry.h) lists the domains that were built.
#pragma once
#include <torch/torch.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "df/core/config.h"
#include "df/data/sequence_dataset.h"
#include "df/experiment/experiment_config.h"
#include "df/experiment/numerics_digest.h"
#include "df/models/diffusion_forcing_model.h"

namespace df {

// Receives sampled tokens chunk by chunk, so a rollout of any length need not be held in memory.
class SampleWriter {
 public:
  virtual ~SampleWriter() = default;
  // The context tokens [Tc, B, ...token] the samples continue (given before any sampled token, at most once).
  virtual void write_context(const torch::Tensor& tokens) { write(tokens); }
  // tokens [n, B, ...token]: the next n sampled tokens of every sequence.
  virtual void write(const torch::Tensor& tokens) = 0;
  // Called once after the last token; returns the metrics of the samples.
  virtual std::map<std::string, double> finish() = 0;
};

// One tiny fixed run of a domain's numerics fingerprint (df/experiment/numerics_fingerprint.h).
struct FingerprintRun {
  std::string name;  // shown by df_fingerprint --explain
  std::string yaml;  // merged over the defaults (built in, so that editing configs/ does not move the fingerprint)
};

// Where a fingerprint's runs find and put files; neither path enters the hash.
struct FingerprintPaths {
  std::string work_dir;    // an empty folder for this fingerprint (generated data, checkpoints), removed after
  std::string source_dir;  // the repository root, for the data it ships (data/timeseries)
};

class Domain {
 public:
  virtual ~Domain() = default;
  virtual std::string name() const = 0;
  // This domain's config section(s) with their defaults (they are the schema of those keys).
  virtual std::string defaults_yaml() const = 0;
  // Range and choice rules of this domain's keys.
  virtual void add_rules(Config& config) const {}
  // Keys that fix the tokens or their normalisation at training; evaluation tools refuse a --config or
  // --set that changes them (require_as_trained).
  virtual std::vector<std::string> trained_keys() const { return {}; }

  virtual std::unique_ptr<SequenceDataset> make_dataset(const Config& config) const = 0;
  // Token shape, condition and observation sizes of the model (without building the training set where
  // the config alone determines them).
  virtual ModelShape model_shape(const Config& config) const = 0;

  // Metrics of a model during training (lower is better for training.best_metric).
  virtual std::map<std::string, double> validate(DiffusionForcingModel& model, const Config& config,
                                                 int64_t step) const {
    return {};
  }
  // Context tokens [Tc, B, ...] that df_sample conditions on when the user gives none (may be undefined).
  virtual torch::Tensor default_context(const Config& config, int64_t batch, uint64_t seed) const { return {}; }
  // Context tokens [Tc, B, ...] from a file the user gives (df_sample --context). The default reads a .npy of
  // tokens; domains may accept their own files (video: a video file or an .npy of frames).
  virtual torch::Tensor read_context(const Config& config, const std::string& path, int64_t batch) const;
  // Per-token conditions [N, B, C] for sampling N tokens (context included) when the model is conditioned;
  // undefined otherwise.
  virtual torch::Tensor sampling_condition(const Config& config, int64_t tokens, int64_t batch,
                                           uint64_t seed) const {
    return {};
  }
  // Metrics of sampled tokens [N, B, ...] (context included) and pictures written into `dir`.
  virtual std::map<std::string, double> evaluate_samples(const Config& config, const torch::Tensor& tokens,
                                                         const std::string& dir, const std::string& label) const {
    return {};
  }
  // Sampling benchmarks of this domain for df_bench (e.g. planning latency, forecast time): name ->
  // seconds, each the median of `repeats` runs after a warm-up. Empty when the domain has none.
  virtual std::map<std::string, double> benchmark_sampling(DiffusionForcingModel& model, const Config& config,
                                                           int repeats) const {
    return {};
  }
  // Where df_sample streams its tokens. The default collects them, writes `<label>.npy` and calls
  // evaluate_samples at the end; domains with long outputs (video) stream them to files instead.
  virtual std::unique_ptr<SampleWriter> make_sample_writer(const Config& config, const std::string& dir,
                                                           const std::string& label, int64_t batch,
                                                           uint64_t seed) const;

  // The numerics fingerprint of this domain: tiny fixed runs (seconds in all) that together take the code
  // paths of the domain's experiments (their options: covariates, training noise, planners, ...). Runs may
  // write data into paths.work_dir (shared by the runs, in order). Empty: the domain has no fingerprint.
  virtual std::vector<FingerprintRun> fingerprint_runs(const FingerprintPaths& paths) const { return {}; }
  // What the domain's evaluation tools compute from a trained model of a fingerprint run, added to `digest`
  // (samples, plans, metrics; no wall times). The default is df_sample's rollout after the domain's context
  // and the metrics of evaluate_samples.
  virtual void fingerprint_evaluation(DiffusionForcingModel& model, const Config& config,
                                      const FingerprintPaths& paths, NumericsDigest& digest) const;
};

}  // namespace df
