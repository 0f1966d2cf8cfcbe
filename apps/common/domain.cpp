#include "domain.h"

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

}  // namespace df::app
