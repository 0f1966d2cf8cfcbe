#include "df/robot/evaluation.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "df/core/error.h"
#include "df/plot/plot.h"
#include "df/plot/video_writer.h"
#include "df/robot/demonstrations.h"
#include "df/robot/task_monitor.h"

namespace df::robot {
namespace fs = std::filesystem;

std::pair<double, double> wilson_interval(int64_t successes, int64_t trials, double z) {
  if (trials <= 0) return {0.0, 1.0};
  const double n = static_cast<double>(trials), p = static_cast<double>(successes) / n, z2 = z * z;
  const double centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const double half = z * std::sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n);
  return {std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

namespace {

// Records the first `count` envs of a batch: both cameras side by side after every control step, cameras
// black while the policy's were blacked out.
class EpisodeVideos {
 public:
  // wanted[i]: env i of the batch is recorded.
  EpisodeVideos(SceneRenderer* renderer, std::vector<bool> wanted, int64_t resolution, CameraSet dark_cameras)
      : renderer_(renderer),
        resolution_(static_cast<int>(resolution)),
        dark_cameras_(dark_cameras),
        wanted_(std::move(wanted)),
        frames_(wanted_.size()),
        dark_(wanted_.size(), false) {}
  bool wanted(int env) const { return env < static_cast<int>(wanted_.size()) && wanted_[static_cast<size_t>(env)]; }
  void add(int env, const SwapEnv& state) {
    if (!wanted(env)) return;
    auto views = renderer_->observe(state, resolution_);  // [2, V, V, 3]
    if (dark_[static_cast<size_t>(env)]) {
      if (dark_cameras_ != CameraSet::Hand) views[0].zero_();
      if (dark_cameras_ != CameraSet::Overview) views[1].zero_();
    }
    frames_[static_cast<size_t>(env)].push_back(torch::cat({views[0], views[1]}, 1));
  }
  void set_dark(int env, bool dark) {
    if (env < static_cast<int>(dark_.size())) dark_[static_cast<size_t>(env)] = dark;
  }
  void write(int env, const std::string& path, double fps) const {
    const auto& f = frames_.at(static_cast<size_t>(env));
    if (!f.empty()) plot::write_video(path, torch::stack(f), fps);
  }

 private:
  SceneRenderer* renderer_;
  int resolution_;
  CameraSet dark_cameras_;
  std::vector<bool> wanted_;
  std::vector<std::vector<torch::Tensor>> frames_;
  std::vector<bool> dark_;
};

void write_episodes_csv(const std::string& path, const std::vector<EpisodeRecord>& records) {
  std::ofstream csv(path);
  csv << "seed,apple_start,success,success_step,max_stage,final_stage,picks_stage1,wrong_picks_stage1,"
         "picks_stage2,wrong_picks_stage2,first_pick,off_plan,fruit_outside_slots,missed_grasps,aimed_grasps,"
         "aim_error_mm\n";
  for (const auto& r : records)
    csv << r.seed << "," << to_string(r.apple_start) << "," << r.success << "," << r.success_step << "," << r.max_stage
        << "," << r.final_stage << "," << r.picks[1] << "," << r.wrong_picks[1] << "," << r.picks[2] << ","
        << r.wrong_picks[2] << "," << r.first_pick << "," << r.off_plan << "," << r.fruit_outside_slots << ","
        << r.missed_grasps << "," << r.grasp_aim.grasps << "," << 1000 * r.grasp_aim.mean_error() << "\n";
  check(csv.good(), path + ": write failed");
}

void write_summary_csv(const std::string& path, const RobotEvaluationSummary& s, uint64_t first_seed) {
  std::ofstream csv(path);
  csv << "label,episodes,successes,success_rate,ci95_low,ci95_high,failed_at_stage0,failed_at_stage1,"
         "failed_at_stage2,wrong_pick_episodes,picks_stage1,wrong_picks_stage1,picks_stage2,wrong_picks_stage2,"
         "first_picks,right_first_picks,first_pick_rate,first_pick_ci95_low,first_pick_ci95_high,"
         "fruit_outside_slots,corruption_level,first_seed,seconds,missed_grasps,missed_grasp_episodes,aimed_grasps,"
         "grasp_aim_slope,grasp_aim_error_mm\n";
  csv << "\"" << s.label << "\"," << s.episodes << "," << s.successes << "," << s.rate << "," << s.ci_low << ","
      << s.ci_high << "," << s.failures_by_stage[0] << "," << s.failures_by_stage[1] << "," << s.failures_by_stage[2]
      << "," << s.wrong_pick_episodes << "," << s.picks[1] << "," << s.wrong_picks[1] << "," << s.picks[2] << ","
      << s.wrong_picks[2] << "," << s.first_picks << "," << s.right_first_picks << "," << s.first_pick_rate << ","
      << s.first_pick_ci_low << "," << s.first_pick_ci_high << "," << s.fruit_outside_slots << ","
      << s.corruption_level << "," << first_seed << "," << s.seconds << "," << s.missed_grasps << ","
      << s.missed_grasp_episodes << "," << s.grasp_aim.grasps << "," << s.grasp_aim.slope() << ","
      << 1000 * s.grasp_aim.mean_error() << "\n";
  check(csv.good(), path + ": write failed");
}

}  // namespace

RobotEvaluationSummary evaluate_episodes(const EpisodeRunner& runner, const EpisodeRunnerTraits& traits,
                                         const RobotEvaluationOptions& options) {
  check(options.episodes >= 1 && options.batch >= 1, "evaluate_robot_policy: episodes and batch must be >= 1");
  check(!options.out_dir.empty(), "evaluate_robot_policy: no output folder");
  check_evaluation_seeds(options.first_seed, options.episodes);
  fs::create_directories(options.out_dir);
  RobotEvaluationSummary summary;
  summary.label = options.label;
  summary.corruption_level = traits.corruption_level;
  auto prototype = std::make_shared<const SwapModel>();
  // State policies and scripted experts act without pictures; a renderer is made only for pixels or MP4s.
  std::unique_ptr<SceneRenderer> renderer;
  if (traits.needs_renderer || options.videos > 0 || !options.video_seeds.empty()) renderer = std::make_unique<SceneRenderer>(*prototype);
  spdlog::info("robot eval {}: {} episodes (seeds {}..){}", options.label, options.episodes, options.first_seed,
               renderer ? ", cameras by " + renderer->describe() : "");
  for (int64_t first = 0; first < options.episodes; first += options.batch) {
    const int64_t n = std::min(options.batch, options.episodes - first);
    std::vector<uint64_t> seeds;
    for (int64_t i = 0; i < n; ++i) seeds.push_back(options.first_seed + static_cast<uint64_t>(first + i));
    BatchedSwapEnv envs(seeds);
    envs.reset();
    std::vector<TaskMonitor> monitors;
    for (int i = 0; i < envs.size(); ++i) monitors.emplace_back(envs.env(i));
    // MP4s of the first options.videos episodes and of those seeded by video_seeds (any batch position: the
    // episode is the one the summary counts).
    std::vector<bool> wanted(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
      wanted[static_cast<size_t>(i)] =
          first + i < options.videos || std::find(options.video_seeds.begin(), options.video_seeds.end(),
                                                  seeds[static_cast<size_t>(i)]) != options.video_seeds.end();
    EpisodeVideos videos(renderer.get(), wanted, options.video_resolution, traits.dark_cameras);
    for (int i = 0; i < envs.size(); ++i) videos.add(i, envs.env(i));
    PolicyObserver observer;
    observer.on_step = [&](int i, const SwapEnv& env) {
      monitors[static_cast<size_t>(i)].update(env);
      videos.add(i, env);
    };
    observer.on_token = [&](int64_t, const torch::Tensor&, const std::vector<bool>& corrupted) {
      for (int i = 0; i < static_cast<int>(corrupted.size()); ++i)
        videos.set_dark(i, traits.darken && corrupted[static_cast<size_t>(i)]);
    };
    const auto outcome =
        runner(envs, traits.needs_renderer ? renderer.get() : nullptr, observer, static_cast<uint64_t>(first));
    summary.seconds += outcome.seconds;
    for (int i = 0; i < envs.size(); ++i) {
      const auto& env = envs.env(i);
      const auto& m = monitors[static_cast<size_t>(i)];
      EpisodeRecord r;
      r.seed = seeds[static_cast<size_t>(i)];
      r.apple_start = env.start().apple_slot;
      r.success = outcome.success[static_cast<size_t>(i)];
      r.success_step = outcome.success_step[static_cast<size_t>(i)];
      r.max_stage = r.success ? 3 : m.max_stage();
      r.final_stage = r.success ? 3 : m.stage();
      for (int stage : {1, 2}) {
        r.picks[static_cast<size_t>(stage)] = m.picks(stage);
        r.wrong_picks[static_cast<size_t>(stage)] = m.wrong_picks(stage);
      }
      r.first_pick = m.first_ambiguous_pick();
      r.off_plan = m.off_plan();
      r.missed_grasps = m.missed_grasps();
      r.grasp_aim = m.grasp_aim();
      for (Fruit f : {Fruit::Apple, Fruit::Orange})
        r.fruit_outside_slots = r.fruit_outside_slots || (env.held() != f && !env.resting_slot(f));
      summary.records.push_back(r);
      if (videos.wanted(i)) {
        const auto path = options.out_dir + "/episode_" + std::to_string(r.seed) + ".mp4";
        videos.write(i, path, 1.0 / env.spec().control_dt);
      }
    }
    spdlog::info("robot eval {}: {}/{} episodes done ({:.0f} s for this batch of {})", options.label, first + n,
                 options.episodes, outcome.seconds, n);
  }
  for (const auto& r : summary.records) {
    ++summary.episodes;
    summary.successes += r.success;
    if (!r.success) ++summary.failures_by_stage[static_cast<size_t>(std::min(r.max_stage, 2))];
    summary.wrong_pick_episodes += (r.wrong_picks[1] + r.wrong_picks[2]) > 0;
    for (size_t s = 1; s < 3; ++s) {
      summary.picks[s] += r.picks[s];
      summary.wrong_picks[s] += r.wrong_picks[s];
    }
    summary.first_picks += r.first_pick >= 0;
    summary.right_first_picks += r.first_pick == 1;
    summary.fruit_outside_slots += r.fruit_outside_slots;
    summary.missed_grasps += r.missed_grasps;
    summary.missed_grasp_episodes += r.missed_grasps > 0;
    summary.grasp_aim.add(r.grasp_aim);
  }
  summary.rate = static_cast<double>(summary.successes) / static_cast<double>(summary.episodes);
  std::tie(summary.ci_low, summary.ci_high) = wilson_interval(summary.successes, summary.episodes);
  if (summary.first_picks > 0)
    summary.first_pick_rate = static_cast<double>(summary.right_first_picks) / static_cast<double>(summary.first_picks);
  std::tie(summary.first_pick_ci_low, summary.first_pick_ci_high) =
      wilson_interval(summary.right_first_picks, summary.first_picks);
  write_episodes_csv(options.out_dir + "/episodes.csv", summary.records);
  write_summary_csv(options.out_dir + "/summary.csv", summary, options.first_seed);
  spdlog::info(
      "robot eval {}: success {}/{} = {:.1f}% (95% CI {:.1f}-{:.1f}); failed at stage 0/1/2: {}/{}/{}; first pick at "
      "the ambiguous state right {}/{}; wrong picks: stage 1 {}/{}, stage 2 {}/{} ({} episodes); missed grasps {} "
      "({} episodes); grasp aim slope {:.2f}, {:.1f} mm from the fruit ({} grasps); {:.0f} s",
      summary.label, summary.successes, summary.episodes, 100 * summary.rate, 100 * summary.ci_low,
      100 * summary.ci_high, summary.failures_by_stage[0], summary.failures_by_stage[1], summary.failures_by_stage[2],
      summary.right_first_picks, summary.first_picks, summary.wrong_picks[1], summary.picks[1], summary.wrong_picks[2],
      summary.picks[2], summary.wrong_pick_episodes, summary.missed_grasps, summary.missed_grasp_episodes,
      summary.grasp_aim.slope(), 1000 * summary.grasp_aim.mean_error(), summary.grasp_aim.grasps, summary.seconds);
  return summary;
}

RobotEvaluationSummary evaluate_robot_policy(DiffusionForcingModel& model, std::shared_ptr<const TokenCodec> codec,
                                             const PolicyOptions& policy_options,
                                             const RobotEvaluationOptions& options) {
  EpisodeRunnerTraits traits;
  traits.needs_renderer = codec->kind() == ObservationKind::Pixels;
  traits.darken = policy_options.corruption.kind == CorruptionKind::Blackout;
  traits.dark_cameras = policy_options.corruption.blackout;
  traits.corruption_level = RobotPolicy(model, codec, policy_options).corruption_level();
  if (policy_options.corruption.kind != CorruptionKind::None)
    spdlog::info("robot eval {}: corrupted observations labelled with level {}", options.label,
                 traits.corruption_level);
  const auto runner = [&](BatchedSwapEnv& envs, SceneRenderer* renderer, const PolicyObserver& observer,
                          uint64_t seed) {
    PolicyOptions batch_options = policy_options;
    batch_options.seed = policy_options.seed + seed;
    return RobotPolicy(model, codec, batch_options).run(envs, renderer, observer);
  };
  return evaluate_episodes(runner, traits, options);
}

RobotEvaluationSummary evaluate_scripted_expert(const ExpertOptions& expert_options, int64_t max_steps,
                                                const RobotEvaluationOptions& options) {
  check(max_steps >= 1, "evaluate_scripted_expert: max_steps must be >= 1");
  const auto runner = [&](BatchedSwapEnv& envs, SceneRenderer*, const PolicyObserver& observer, uint64_t) {
    const auto started = std::chrono::steady_clock::now();
    const int B = envs.size();
    std::vector<SwapExpert> experts;
    for (int i = 0; i < B; ++i) {
      // Seeded by the episode: the same coin flips whatever the batch size.
      experts.emplace_back(expert_options, envs.env(i).rng()() ^ 0x9E3779B97F4A7C15ULL);
      experts.back().reset(envs.env(i));
    }
    auto outcome = PolicyOutcome::for_batch(B);
    std::vector<bool> active(static_cast<size_t>(B), true);
    std::vector<Action> actions(static_cast<size_t>(B));
    for (int64_t t = 0; t < max_steps; ++t) {
      for (int i = 0; i < B; ++i)
        if (active[static_cast<size_t>(i)]) actions[static_cast<size_t>(i)] = experts[static_cast<size_t>(i)].act(envs.env(i));
      if (!step_episodes(envs, actions, active, observer, outcome)) break;
    }
    outcome.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return outcome;
  };
  return evaluate_episodes(runner, EpisodeRunnerTraits{}, options);
}

torch::Tensor generate_task_video(DiffusionForcingModel& model, const RobotTokenLayout& layout,
                                  const SamplerOptions& sampler_options, const TaskVideoOptions& options) {
  torch::NoGradGuard no_grad;
  check(options.tokens >= 2 && options.columns >= 1 && options.scale >= 1,
        "generate_task_video: tokens >= 2, columns >= 1 and scale >= 1 required");
  check(!options.out_dir.empty(), "generate_task_video: no output folder");
  auto prototype = std::make_shared<const SwapModel>();
  SceneRenderer renderer(*prototype);
  SwapEnv env(prototype, options.seed);
  env.reset();
  // The expert from the same start: the reference row of the strip.
  SwapExpert expert(ExpertOptions{}, options.seed ^ 0x9E3779B97F4A7C15ULL);
  const auto demo = record_expert_episode(env, &renderer, expert, options.tokens, layout.action_stack(),
                                          layout.resolution(), /*require_success=*/false);
  const auto device = model.device();
  const auto first = layout.pack(demo.frames[0], layout.hold_actions(prototype->spec().home)).unsqueeze(0);
  Sampler sampler(model, sampler_options);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(options.sampling_seed);
  auto z = sampler.absorb_context(model.denoiser().initial_latent(1, {}), first.unsqueeze(0).to(device));
  c10::optional<torch::Generator> g = device.is_cpu() ? c10::optional<torch::Generator>(generator) : c10::nullopt;
  const auto rest = sampler.rollout(z, options.tokens - 1, 1, ScheduleMatrixKind::Autoregressive, 1.0, {}, g);
  const auto tokens = torch::cat({first.to(device), rest.select(1, 0)}).to(torch::kCPU);  // [T, C, R, R]
  const auto generated = layout.frames_of(tokens);                                        // [T, 2, R, R, 3]

  const int64_t R = layout.resolution(), scale = options.scale, T = options.tokens, gap = 2;
  auto big = [&](const torch::Tensor& picture) {  // [R, R, 3] -> [sR, sR, 3], nearest
    return picture.repeat_interleave(scale, 0).repeat_interleave(scale, 1);
  };
  // Rows: expert overview, generated overview, expert hand, generated hand.
  auto panel = [&](int64_t t, int row) {
    const auto& source = row % 2 == 0 ? demo.frames : generated;
    return big(source[t][row / 2]);
  };
  const int64_t columns = std::min(options.columns, T), cell = R * scale + gap;
  auto strip = torch::full({4 * cell - gap, columns * cell - gap, 3}, 255, torch::kUInt8);
  for (int64_t c = 0; c < columns; ++c) {
    const int64_t t = columns == 1 ? 0 : c * (T - 1) / (columns - 1);
    for (int row = 0; row < 4; ++row)
      strip.narrow(0, row * cell, R * scale).narrow(1, c * cell, R * scale).copy_(panel(t, row));
  }
  fs::create_directories(options.out_dir);
  plot::write_png(options.out_dir + "/task_video.png", strip);
  std::vector<torch::Tensor> frames;
  for (int64_t t = 0; t < T; ++t) {
    auto frame = torch::full({2 * cell - gap, 2 * cell - gap, 3}, 255, torch::kUInt8);
    for (int row = 0; row < 4; ++row)  // columns: expert | generated; rows: overview, hand
      frame.narrow(0, (row / 2) * cell, R * scale).narrow(1, (row % 2) * cell, R * scale).copy_(panel(t, row));
    frames.push_back(frame);
  }
  plot::write_video(options.out_dir + "/task_video.mp4", torch::stack(frames), 4.0);
  spdlog::info("task video from seed {}: {} tokens generated from one frame -> {}/task_video.{{png,mp4}}", options.seed,
               T, options.out_dir);
  return tokens;
}

}  // namespace df::robot
