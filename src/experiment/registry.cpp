#include "df/experiment/registry.h"

#include <spdlog/spdlog.h>

#include <cstdlib>

#include "df/core/blas_kernels.h"
#include "df/core/device.h"
#include "df/core/error.h"
#include "df/training/checkpoint.h"
#ifdef DF_HAVE_COMPOSITIONAL
#include "df/compositional/compositional_domain.h"
#endif
#ifdef DF_HAVE_TIMESERIES
#include "df/timeseries/timeseries_domain.h"
#endif
#ifdef DF_HAVE_PLANNING
#include "df/planning/maze_domain.h"
#endif
#ifdef DF_HAVE_VIDEO
#include "df/video/video_domain.h"
#endif
#ifdef DF_HAVE_ROBOT
#include "df/robot/robot_domain.h"
#endif

namespace df {

const std::vector<std::unique_ptr<Domain>>& domains() {
  static const auto list = [] {
    std::vector<std::unique_ptr<Domain>> d;
#ifdef DF_HAVE_COMPOSITIONAL
    d.push_back(compositional::make_compositional_domain());
#endif
#ifdef DF_HAVE_TIMESERIES
    d.push_back(timeseries::make_timeseries_domain());
#endif
#ifdef DF_HAVE_PLANNING
    d.push_back(planning::make_maze_domain());
#endif
#ifdef DF_HAVE_VIDEO
    d.push_back(video::make_video_domain());
#endif
#ifdef DF_HAVE_ROBOT
    d.push_back(robot::make_robot_domain());
#endif
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
  std::vector<std::string> keys = {"model.kind",           "model.network_size",   "model.z_dim",
                                   "model.z_channels",     "model.num_mlp_layers", "model.num_gru_layers",
                                   "model.initial_latent", "model.attn_heads",     "model.attn_dim_head",
                                   "model.head_channels",  "diffusion.schedule",   "diffusion.objective",
                                   "diffusion.timesteps",  "diffusion.frame_stack", "model.level_embedding_dim",
                                   "diffusion.input_scale", "model.level_film"};
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

torch::Device setup_runtime(const Config& config) {
  const auto device = resolve_device(config.get_string("experiment.device"));
  const int threads = configure_cpu_threads(config.get_int("experiment.threads"));
  const bool tuned = tune_host_allocator();
  spdlog::info("device {}, {} CPU thread{}; malloc: {}{}; {}", describe_device(device), threads,
               threads == 1 ? "" : "s", host_malloc(), tuned ? ", heap kept for large tensors" : "",
               describe_blas_kernels());
  return device;
}

TrainedModel load_trained_model(const std::string& checkpoint, const LoadOptions& options) {
  const auto ckpt = load_checkpoint(checkpoint);
  TrainedModel t;
  t.config = load_config(options.config_file, options.overrides, ckpt.config_yaml, checkpoint + " (stored config)");
  require_as_trained(t.config, ckpt.config_yaml, checkpoint);
  t.domain = &find_domain(t.config.get_string("experiment.domain"));
  t.device = setup_runtime(t.config);
  t.model = make_model(t.config, t.domain->model_shape(t.config), t.device);
  load_inference_weights(*t.model, ckpt, checkpoint, options.prefer_ema);
  t.model->eval();
  t.step = ckpt.step;
  return t;
}

}  // namespace df
