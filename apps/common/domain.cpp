#include "domain.h"

#include <cstdlib>

#include "df/core/error.h"

namespace df::app {

std::unique_ptr<Domain> make_compositional_domain();
#ifdef DF_HAVE_TIMESERIES
std::unique_ptr<Domain> make_timeseries_domain();
#endif
#ifdef DF_HAVE_PLANNING
std::unique_ptr<Domain> make_maze_domain();
#endif
std::unique_ptr<Domain> make_video_domain();
std::unique_ptr<Domain> make_robot_domain();

ModelShape Domain::model_shape(const Config& config, const SequenceDataset& dataset) const {
  ModelShape s;
  s.x_shape = dataset.token_shape();
  s.cond_dim = dataset.cond_dim();
  s.observation_dim = dataset.observation_dim();
  return s;
}

const std::vector<std::unique_ptr<Domain>>& domains() {
  static const auto list = [] {
    std::vector<std::unique_ptr<Domain>> d;
    d.push_back(make_compositional_domain());
#ifdef DF_HAVE_TIMESERIES
    d.push_back(make_timeseries_domain());
#endif
#ifdef DF_HAVE_PLANNING
    d.push_back(make_maze_domain());
#endif
    d.push_back(make_video_domain());
    d.push_back(make_robot_domain());
    return d;
  }();
  return list;
}

const Domain& find_domain(const std::string& name) {
  std::string known;
  for (const auto& d : domains()) {
    if (d->name() == name) return *d;
    known += (known.empty() ? "" : ", ") + d->name();
  }
  throw Error("experiment.domain: unknown domain \"" + name + "\" (built: " + known + ")");
}

Config load_config(const std::string& file, const std::vector<std::string>& overrides, const std::string& text,
                   const std::string& text_source) {
  std::string sections;
  for (const auto& d : domains()) sections += d->defaults_yaml() + "\n";
  auto config = make_experiment_config(sections);
  for (const auto& d : domains()) d->add_rules(config);
  if (!text.empty()) config.merge_text(text, text_source);
  if (!file.empty()) config.merge_file(file);
  for (const auto& o : overrides) config.set(o);
  config.validate();
  find_domain(config.get_string("experiment.domain"));  // fails early on an unknown domain
  return config;
}

void require_as_trained(const Config& config, const std::string& stored_yaml, const std::string& checkpoint) {
  const auto stored = load_config("", {}, stored_yaml, checkpoint + " (stored config)");
  std::vector<std::string> keys = {"model.kind",          "model.network_size",   "model.z_dim",
                                   "model.z_channels",    "model.num_mlp_layers", "model.num_gru_layers",
                                   "model.initial_latent", "diffusion.schedule",  "diffusion.objective",
                                   "diffusion.timesteps", "diffusion.frame_stack"};
  const auto extra = find_domain(stored.get_string("experiment.domain")).trained_keys();
  keys.insert(keys.end(), extra.begin(), extra.end());
  // Scalars compare as text, or as numbers when both parse as numbers ("2" == "2.0").
  auto as_number = [](const std::string& s, double& v) {
    char* end = nullptr;
    v = std::strtod(s.c_str(), &end);
    return !s.empty() && end == s.c_str() + s.size();
  };
  for (const auto& key : keys) {
    const auto now = config.get_string(key), then = stored.get_string(key);
    double a = 0, b = 0;
    if (now == then || (as_number(now, a) && as_number(then, b) && a == b)) continue;
    throw Error(key + " is \"" + now + "\" after --config/--set, but " + checkpoint + " was trained with \"" + then +
                "\"; it is fixed at training");
  }
}

}  // namespace df::app
