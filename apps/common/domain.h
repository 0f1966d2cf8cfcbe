// What the command-line tools need from a domain (data, evaluation, pictures). Each domain adds its own
// config section; df_train and df_sample dispatch on experiment.domain.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "df/core/config.h"
#include "df/data/sequence_dataset.h"
#include "df/models/diffusion_forcing_model.h"
#include "df/training/experiment.h"

namespace df::app {

class Domain {
 public:
  virtual ~Domain() = default;
  virtual std::string name() const = 0;
  virtual std::string defaults_yaml() const = 0;  // this domain's config section(s) with defaults
  virtual void add_rules(Config& config) const {}
  // Keys of this domain that fix the tokens or their normalisation at training; evaluation tools refuse
  // a --config/--set that changes them (see require_as_trained).
  virtual std::vector<std::string> trained_keys() const { return {}; }
  virtual std::unique_ptr<SequenceDataset> make_dataset(const Config& config) const = 0;
  virtual ModelShape model_shape(const Config& config, const SequenceDataset& dataset) const;
  // Metrics of a trained model during training (lower is better for training.best_metric).
  virtual std::map<std::string, double> validate(DiffusionForcingModel& model, const Config& config,
                                                 int64_t step) const {
    return {};
  }
  // Context tokens [Tc, B, ...] that df_sample conditions on when the user gives none (may be undefined).
  virtual torch::Tensor default_context(const Config& config, int64_t batch, uint64_t seed) const { return {}; }
  // Metrics of sampled tokens [N, B, ...] (including the context) and pictures written into `dir`.
  virtual std::map<std::string, double> evaluate_samples(const Config& config, const torch::Tensor& tokens,
                                                         const std::string& dir, const std::string& label) const {
    return {};
  }
};

const std::vector<std::unique_ptr<Domain>>& domains();
const Domain& find_domain(const std::string& name);

// Schema = core sections + every domain's sections; merges the file (if any) and the --set overrides,
// then validates. `text_source` merges YAML text (e.g. the config stored in a checkpoint) instead.
Config load_config(const std::string& file, const std::vector<std::string>& overrides, const std::string& text = "",
                   const std::string& text_source = "");

// Evaluation tools merge --config/--set over a checkpoint's stored config to tune sampling; what fixed the
// network and its tokens at training (core model/diffusion keys plus the domain's trained_keys) must stay
// as stored, or the model would silently see different tokens. Throws naming the key and both values.
void require_as_trained(const Config& config, const std::string& stored_yaml, const std::string& checkpoint);

}  // namespace df::app
