#include "df/robot/demonstrations.h"

#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <sstream>

#include "df/core/compat.h"
#include "df/core/error.h"
#include "df/data/npy.h"
#include "df/robot/state_tokens.h"

namespace df::robot {
namespace fs = std::filesystem;

namespace {

constexpr const char* kFormatHeader = "df-robot-demos 2";
constexpr const char* kOldFormatHeader = "df-robot-demos 1";

std::string demo_name(int64_t index) {
  std::ostringstream s;
  s << "demo_" << std::setw(4) << std::setfill('0') << index;
  return s.str();
}

std::vector<std::string> split(const std::string& line, char separator) {
  std::vector<std::string> parts;
  std::stringstream s(line);
  std::string part;
  while (std::getline(s, part, separator)) parts.push_back(part);
  if (!line.empty() && line.back() == separator) parts.emplace_back();
  return parts;
}

int64_t parse_int(const std::string& text, const std::string& where) {
  try {
    size_t used = 0;
    const long long v = std::stoll(text, &used);
    if (used == text.size()) return v;
  } catch (const std::exception&) {
  }
  throw Error(where + ": expected an integer, got \"" + text + "\"");
}

uint64_t parse_seed(const std::string& text, const std::string& where) {
  try {
    size_t used = 0;
    const unsigned long long v = std::stoull(text, &used);
    if (used == text.size() && !text.empty() && text[0] != '-') return v;
  } catch (const std::exception&) {
  }
  throw Error(where + ": expected an unsigned 64-bit integer, got \"" + text + "\"");
}

}  // namespace

uint64_t demonstration_seed(uint64_t seed, int64_t index) {
  return kDemonstrationSeedBit | ((seed * 1000003ULL + static_cast<uint64_t>(index) + 1) & ~kDemonstrationSeedBit);
}

void check_evaluation_seeds(uint64_t first_seed, int64_t episodes) {
  check(episodes >= 0 && first_seed < kDemonstrationSeedBit &&
            static_cast<uint64_t>(episodes) <= kDemonstrationSeedBit - first_seed,
        "robot.eval_seed: evaluation seeds " + std::to_string(first_seed) + " .. " + std::to_string(first_seed) +
            " + " + std::to_string(episodes) + " must stay below 2^63 (seeds with the top bit set are the "
            "demonstrations')");
}

int64_t expert_done_step(const torch::Tensor& actions) {
  check(actions.dim() == 2 && actions.size(1) == 4,
        "expert_done_step: expected actions [steps, 4], got " + shape_str(actions));
  const int64_t steps = actions.size(0);
  if (steps < 2) return steps;
  const auto changed = (actions.slice(0, 1) != actions.slice(0, 0, steps - 1)).any(1);  // [steps - 1]
  const auto where = changed.nonzero();
  return where.numel() == 0 ? 0 : where.max().item<int64_t>() + 2;
}

Demonstration record_expert_episode(SwapEnv& env, SceneRenderer* renderer, SwapExpert& expert, int64_t frames,
                                    int64_t frame_every, int64_t resolution, bool require_success) {
  check(frames >= 2 && frame_every >= 1, "record_expert_episode: frames >= 2 and frame_every >= 1 required");
  Demonstration d;
  d.start = env.start();
  expert.reset(env);
  const int64_t steps = (frames - 1) * frame_every;
  d.actions = torch::empty({steps, 4}, torch::kFloat);
  std::vector<torch::Tensor> pictures, states{observe_state(env)};
  if (renderer != nullptr) pictures.push_back(renderer->observe(env, static_cast<int>(resolution)));
  auto actions = d.actions.accessor<float, 2>();
  for (int64_t t = 0; t < steps; ++t) {
    const Action a = expert.act(env);
    env.step(expert.execute(a));  // recorded: the expert's action (DART: a shifted execution is not labelled)
    for (int64_t k = 0; k < 4; ++k) actions[t][k] = static_cast<float>(a[static_cast<size_t>(k)]);
    if (d.success_step < 0 && env.success()) d.success_step = t + 1;
    if ((t + 1) % frame_every == 0) {
      states.push_back(observe_state(env));
      if (renderer != nullptr) pictures.push_back(renderer->observe(env, static_cast<int>(resolution)));
    }
  }
  check(!require_success || (env.success() && expert.finished()),
        "record_expert_episode: the expert did not finish the swap within " + std::to_string(steps) +
            " control steps (apple starting in " + to_string(d.start.apple_slot) +
            "); use more frames per demonstration (robot.n_frames)");
  d.states = torch::stack(states);
  if (renderer != nullptr) d.frames = torch::stack(pictures);
  return d;
}

DemoSet generate_demonstrations(const DemoGenerationOptions& o) {
  check(o.num_demos >= 1, "generate_demonstrations: num_demos must be >= 1");
  DemoSet set;
  set.pixels = o.pixels;
  set.resolution = o.resolution;
  set.frame_every = o.frame_every;
  set.missed_grasp_share = o.expert.missed_grasp_share;
  auto model = std::make_shared<const SwapModel>();
  std::unique_ptr<SceneRenderer> renderer;
  if (o.pixels) renderer = std::make_unique<SceneRenderer>(*model);
  for (int64_t i = 0; i < o.num_demos; ++i) {
    const uint64_t seed = demonstration_seed(o.seed, i);
    SwapEnv env(model, seed);
    env.reset();  // draws the jitter
    StartState start = env.start();
    start.apple_slot = i % 2 == 0 ? Slot::A : Slot::B;
    env.reset_to(start);
    SwapExpert expert(o.expert, seed ^ 0x9E3779B97F4A7C15ULL);
    auto demo = record_expert_episode(env, renderer.get(), expert, o.frames, o.frame_every, o.resolution);
    demo.name = demo_name(i);
    demo.seed = seed;
    set.demos.push_back(std::move(demo));
    if (o.progress) o.progress(i + 1);
  }
  return set;
}

void write_demonstrations(const DemoSet& set, const std::string& dir) {
  fs::create_directories(dir);
  {
    std::ofstream format(dir + "/format.txt");
    format << kFormatHeader << "\nframe_every " << set.frame_every << "\nobservations state"
           << (set.pixels ? " pixels" : "") << "\n";
    if (set.pixels) format << "resolution " << set.resolution << "\n";
    format << "missed_grasps " << set.missed_grasp_share << "\n";
    check(format.good(), dir + "/format.txt: write failed");
  }
  std::ofstream csv(dir + "/demos.csv");
  csv << "name,apple_slot,seed,frames,success_step\n";
  for (const auto& d : set.demos) {
    fs::create_directories(dir + "/" + d.name);
    write_npy(dir + "/" + d.name + "/states.npy", d.states);
    if (set.pixels) write_npy(dir + "/" + d.name + "/frames.npy", d.frames);
    write_npy(dir + "/" + d.name + "/actions.npy", d.actions);
    csv << d.name << "," << to_string(d.start.apple_slot) << "," << d.seed << "," << d.states.size(0) << ","
        << d.success_step << "\n";
  }
  check(csv.good(), dir + "/demos.csv: write failed");
}

DemoSet read_demonstrations(const std::string& dir) {
  check(fs::is_directory(dir), dir + ": no such demonstration folder (generate one with df_robot_eval --make-demos)");
  DemoSet set;
  const std::string format_path = dir + "/format.txt";
  std::ifstream format(format_path);
  check(format.good(), format_path + ": missing (every demonstration folder starts with it)");
  std::string line;
  std::getline(format, line);
  check(line != kOldFormatHeader,
        format_path + ": \"" + std::string(kOldFormatHeader) + "\" folders hold no states and were recorded by the "
            "expert whose placements leaked the start; delete the folder (robot.demo_dir) to regenerate it");
  check(line == kFormatHeader,
        format_path + ": first line must be \"" + std::string(kFormatHeader) + "\", got \"" + line + "\"");
  std::map<std::string, std::vector<std::string>> fields;
  while (std::getline(format, line)) {
    if (line.empty()) continue;
    auto parts = split(line, ' ');
    check(parts.size() >= 2, format_path + ": expected \"key value\" lines, got \"" + line + "\"");
    fields[parts[0]] = std::vector<std::string>(parts.begin() + 1, parts.end());
  }
  auto integer = [&](const std::string& key) {
    check(fields.count(key) == 1 && fields[key].size() == 1, format_path + ": missing \"" + key + "\"");
    const int64_t v = parse_int(fields[key][0], format_path + ": " + key);
    check(v > 0, format_path + ": \"" + key + "\" must be positive");
    return v;
  };
  set.frame_every = integer("frame_every");
  const auto observations = fields["observations"];
  check(observations == std::vector<std::string>{"state"} ||
            observations == std::vector<std::string>{"state", "pixels"},
        format_path + ": \"observations\" must be \"state\" or \"state pixels\"");
  set.pixels = observations.size() == 2;
  set.resolution = set.pixels ? integer("resolution") : 0;
  if (fields.count("missed_grasps") == 1) {
    const auto& v = fields["missed_grasps"];
    double share = -1;
    try {
      size_t used = 0;
      share = v.size() == 1 ? std::stod(v[0], &used) : -1;
      if (used != v[0].size()) share = -1;
    } catch (const std::exception&) {
    }
    check(share >= 0 && share <= 1, format_path + ": \"missed_grasps\" must be one number in [0, 1]");
    set.missed_grasp_share = share;
  }
  const int64_t R = set.resolution, s = set.frame_every;

  const std::string csv_path = dir + "/demos.csv";
  std::ifstream csv(csv_path);
  check(csv.good(), csv_path + ": missing (the list of demonstrations)");
  std::getline(csv, line);
  check(line == "name,apple_slot,seed,frames,success_step",
        csv_path + ": header must be \"name,apple_slot,seed,frames,success_step\", got \"" + line + "\"");
  int64_t row = 1;
  while (std::getline(csv, line)) {
    ++row;
    if (line.empty()) continue;
    const std::string where = csv_path + ":" + std::to_string(row);
    const auto cells = split(line, ',');
    check(cells.size() == 5, where + ": expected 5 comma-separated fields, got " + std::to_string(cells.size()));
    Demonstration d;
    d.name = cells[0];
    d.start.apple_slot = parse_enum<Slot>(cells[1]);
    check(d.start.apple_slot != Slot::C, where + ": apple_slot must be A or B");
    d.seed = parse_seed(cells[2], where + ": seed");
    const int64_t frames = parse_int(cells[3], where + ": frames");
    d.success_step = parse_int(cells[4], where + ": success_step");
    const std::string states_path = dir + "/" + d.name + "/states.npy";
    const std::string frames_path = dir + "/" + d.name + "/frames.npy";
    const std::string actions_path = dir + "/" + d.name + "/actions.npy";
    std::vector<std::string> needed{states_path, actions_path};
    if (set.pixels) needed.push_back(frames_path);
    for (const auto& p : needed) check(fs::exists(p), p + ": missing (listed in " + where + ")");
    d.states = read_npy(states_path);
    check(d.states.dim() == 2 && d.states.size(0) == frames && d.states.size(1) == kStateDim,
          states_path + ": expected states [" + std::to_string(frames) + ", " + std::to_string(kStateDim) +
              "] (demos.csv frames), got " + shape_str(d.states));
    d.states = d.states.to(torch::kFloat);
    check(torch::isfinite(d.states).all().item<bool>(), states_path + ": contains NaN or infinite values");
    if (set.pixels) {
      d.frames = read_npy(frames_path);
      const std::vector<int64_t> frame_shape{frames, 2, R, R, 3};
      check(d.frames.scalar_type() == torch::kUInt8 && d.frames.sizes().vec() == frame_shape,
            frames_path + ": expected uint8 " + shape_str(frame_shape) + " (demos.csv frames, format.txt resolution), got " +
                std::string(c10::toString(d.frames.scalar_type())) + " " + shape_str(d.frames));
    }
    d.actions = read_npy(actions_path);
    check(d.actions.dim() == 2 && d.actions.size(1) == 4,
          actions_path + ": expected actions [steps, 4] (x, y, z, grasp), got " + shape_str(d.actions));
    check(d.actions.size(0) == (frames - 1) * s,
          actions_path + ": " + std::to_string(d.actions.size(0)) + " actions, but " + std::to_string(frames) +
              " frames every " + std::to_string(s) + " steps need " + std::to_string((frames - 1) * s));
    d.actions = d.actions.to(torch::kFloat);
    check(torch::isfinite(d.actions).all().item<bool>(), actions_path + ": contains NaN or infinite values");
    set.demos.push_back(std::move(d));
  }
  check(!set.demos.empty(), csv_path + ": lists no demonstrations");
  return set;
}

}  // namespace df::robot
