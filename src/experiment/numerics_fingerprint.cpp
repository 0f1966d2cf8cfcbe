#include "df/experiment/numerics_fingerprint.h"

#include <ATen/Parallel.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>

#include "df/core/error.h"
#include "df/experiment/registry.h"
#include "df/models/state_dict.h"
#include "df/training/trainer.h"

namespace df {
namespace {

// One LibTorch intra-op thread for the scope: the thread count changes how reductions are split, hence the
// order of float additions. The caller's count comes back afterwards.
class SingleThreadScope {
 public:
  SingleThreadScope() : previous_(at::get_num_threads()) { at::set_num_threads(1); }
  ~SingleThreadScope() { at::set_num_threads(previous_); }
  SingleThreadScope(const SingleThreadScope&) = delete;
  SingleThreadScope& operator=(const SingleThreadScope&) = delete;

 private:
  int previous_;
};

// A fresh folder under the system's temp directory, removed with everything in it at scope exit.
class TemporaryFolder {
 public:
  explicit TemporaryFolder(const std::string& tag) {
    static std::atomic<int> counter{0};
    path_ = (std::filesystem::temp_directory_path() /
             (tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++)))
                .string();
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TemporaryFolder() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TemporaryFolder(const TemporaryFolder&) = delete;
  TemporaryFolder& operator=(const TemporaryFolder&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace

NumericsFingerprint numerics_fingerprint(const std::string& domain_name, const FingerprintOptions& options) {
  return numerics_fingerprint(find_domain(domain_name), options);
}

NumericsFingerprint numerics_fingerprint(const Domain& domain, const FingerprintOptions& options) {
  const auto domain_name = domain.name();
  SingleThreadScope one_thread;
  TemporaryFolder work("df_fingerprint_" + domain_name);
  const FingerprintPaths paths{work.path(), options.source_dir};
  const auto runs = domain.fingerprint_runs(paths);
  check(!runs.empty(), "numerics fingerprint: domain \"" + domain_name + "\" has no fingerprint runs");

  NumericsDigest digest;
  for (size_t i = 0; i < runs.size(); ++i) {
    const auto& run = runs[i];
    const auto run_dir = work.path() + "/run" + std::to_string(i);
    auto overrides = options.overrides;
    // After the caller's overrides: what the fingerprint is defined on (fp32 CPU, one thread) and where it
    // writes. Paths never enter the hash.
    overrides.insert(overrides.end(), {"experiment.device=cpu", "experiment.threads=1", "training.precision=fp32",
                                       "experiment.run_dir=" + run_dir});
    const auto config = load_config("", overrides, run.yaml, "fingerprint run " + domain_name + "/" + run.name);
    check(config.get_string("experiment.domain") == domain_name, "fingerprint run " + domain_name + "/" + run.name +
                                                                     ": experiment.domain is \"" +
                                                                     config.get_string("experiment.domain") + "\"");
    digest.set_label_prefix(run.name + "/");

    // df_train's steps: seed, data, model, training with the domain's validation.
    torch::manual_seed(static_cast<uint64_t>(config.get_int("experiment.seed")));
    auto dataset = domain.make_dataset(config);
    auto model = make_model(config, domain.model_shape(config), torch::Device(torch::kCPU));
    if (options.after_init) options.after_init(*model);
    TrainerHooks hooks;
    hooks.validate = [&](DiffusionForcingModel& m, int64_t step) {
      auto metrics = domain.validate(m, config, step);
      digest.add("validation_at_" + std::to_string(step), metrics);
      return metrics;
    };
    Trainer trainer(*model, *dataset, read_trainer_options(config, run_dir), hooks);
    const auto summary = trainer.run();
    digest.add("losses", summary.losses);
    digest.add("weights", state_dict(*model));

    // The evaluation tools' steps: the checkpoint they read, through load_trained_model, then the domain's tools.
    const bool has_best =
        !config.get_string("training.best_metric").empty() && std::filesystem::exists(run_dir + "/best.pt");
    auto trained = load_trained_model(run_dir + (has_best ? "/best.pt" : "/checkpoint.pt"));
    digest.add("inference_weights", state_dict(*trained.model));
    domain.fingerprint_evaluation(*trained.model, trained.config, paths, digest);
  }
  NumericsFingerprint result;
  result.domain = domain_name;
  result.hex = digest.hex();
  result.runs = static_cast<int64_t>(runs.size());
  result.bytes_hashed = digest.bytes();
  result.parts = digest.explain();
  return result;
}

}  // namespace df
