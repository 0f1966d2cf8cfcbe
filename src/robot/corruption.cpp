#include "df/robot/corruption.h"

#include <cmath>
#include <random>

#include "df/core/error.h"

namespace df::robot {

void check_corruption_fits(CorruptionKind kind, ObservationKind observation) {
  const bool pixels = kind == CorruptionKind::Distractor || kind == CorruptionKind::Blackout;
  const bool state = kind == CorruptionKind::Glitch || kind == CorruptionKind::Dropout || kind == CorruptionKind::Noise;
  check(!(pixels && observation != ObservationKind::Pixels) && !(state && observation != ObservationKind::State),
        "robot.corruption: " + to_string(kind) + " corrupts " + (pixels ? "camera pictures" : "state observations") +
            ", but robot.observation is " + to_string(observation) +
            " (pixels: distractor, blackout; state: glitch, dropout, noise)");
}

CorruptionSchedule::CorruptionSchedule(const CorruptionOptions& options, int envs)
    : options_(options), first_(static_cast<size_t>(envs), -1), now_(static_cast<size_t>(envs), false) {
  if (options.kind != CorruptionKind::None && options.trigger == CorruptionTrigger::Token)
    std::fill(first_.begin(), first_.end(), options.start_token);
}

const std::vector<bool>& CorruptionSchedule::begin_token(BatchedSwapEnv& envs, int64_t j) {
  for (int i = 0; i < envs.size(); ++i) {
    const auto e = static_cast<size_t>(i);
    auto& env = envs.env(i);
    if (options_.kind != CorruptionKind::None && first_[e] < 0 && env.resting_slot(Fruit::Apple) == Slot::C)
      first_[e] = j + options_.start_token;  // trigger ambiguous: the apple has just come to rest in C
    const bool was = now_[e];
    now_[e] = first_[e] >= 0 && j >= first_[e] && j < first_[e] + options_.tokens;
    if (options_.kind != CorruptionKind::Distractor) continue;
    if (now_[e] && !was) {
      auto& rng = env.rng();
      std::uniform_real_distribution<double> x(-0.2, 0.2), y(-0.08, 0.2), yaw(0.0, M_PI);
      const double px = x(rng), py = y(rng);
      env.show_distractor({px, py}, yaw(rng));
    }
    if (was && !now_[e]) env.hide_distractor();
  }
  return now_;
}

void corrupt_tokens(torch::Tensor& tokens, const std::vector<bool>& mask, const CorruptionOptions& options,
                    const TokenCodec& codec, torch::Generator& generator) {
  check(static_cast<int64_t>(mask.size()) == tokens.size(0), "corrupt_tokens: one mask entry per token required");
  check_corruption_fits(options.kind, codec.kind());
  for (int64_t i = 0; i < tokens.size(0); ++i) {
    if (!mask[static_cast<size_t>(i)]) continue;
    auto token = tokens[i];
    switch (options.kind) {
      case CorruptionKind::None:
      case CorruptionKind::Distractor:
        break;
      case CorruptionKind::Blackout:  // black pixels are -1 after (p / 255 - 0.5) / 0.5
        if (options.blackout != CameraSet::Hand) token.narrow(0, 0, 3).fill_(-1.0);
        if (options.blackout != CameraSet::Overview) token.narrow(0, 3, 3).fill_(-1.0);
        break;
      case CorruptionKind::Glitch:
      case CorruptionKind::Dropout: {
        const auto& layout = static_cast<const StateTokenCodec&>(codec).layout();
        // On the raw state, so that slot offsets (when the tokens carry them) follow what the sensor reports.
        auto sensor = token.narrow(0, 0, layout.sensor_dim());
        auto raw = layout.denormalise_states(token.narrow(0, 0, kStateDim));
        if (options.kind == CorruptionKind::Glitch) {
          raw[kStateAppleX].neg_();  // mirrored about the table's centre line: A and B swap, C stays
          raw[kStateOrangeX].neg_();
        } else {
          raw.zero_();
        }
        sensor.copy_(layout.sensor_entries(raw).to(token.device()));
        break;
      }
      case CorruptionKind::Noise: {
        // Every entry the sensor reports gets noise of sigma, so that the level matching sigma labels it.
        const int64_t n = static_cast<const StateTokenCodec&>(codec).layout().sensor_dim();
        token.narrow(0, 0, n).add_(torch::randn({n}, generator).mul_(options.sigma).to(token.device()));
        break;
      }
    }
  }
}

int64_t level_matching_noise(const NoiseSchedule& schedule, double sigma) {
  check(sigma > 0, "robot.corrupt_sigma: expected > 0, got " + std::to_string(sigma));
  const auto abar = schedule.alphas_cumprod.to(torch::kCPU, torch::kDouble);
  const auto seen = ((1.0 - abar) / abar).sqrt();
  return (seen - sigma).abs().argmin().item<int64_t>();
}

}  // namespace df::robot
