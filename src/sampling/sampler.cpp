#include "df/sampling/sampler.h"

#include "df/core/compat.h"
#include "df/core/error.h"

namespace df {


// What happens to one token in one row pass.
struct Sampler::TokenUpdate {
  int64_t label;       // noise level the token is presented at
  int64_t to;          // level after a DDIM step (-1 = clean); unused for holds
  bool step;           // DDIM update (else: hold the stored value)
  bool keep_value;     // a step whose result is discarded (finished tokens in planning)
  bool clamp_input;    // the reference clamps the input of the first DDIM step
  bool stabilize;      // hold of a clean token at the stabilization level (input transformed)
};

Sampler::Sampler(DiffusionForcingModel& model, const SamplerOptions& options) : model_(&model), options_(options) {
  check(options.mcg_samples >= 1, "sampler: mcg_samples must be >= 1");
  check(options.eta >= 0, "sampler: eta must be >= 0");
  const int64_t K = model.schedule().timesteps();
  check(options.stabilization_level >= -1 && options.stabilization_level < K,
        "sampler: stabilization_level must be in [0, " + std::to_string(K) + ") or -1");
}

Sampler::TokenUpdate Sampler::plan_token(int64_t from, int64_t to) const {
  const auto& grid = model_->grid();
  const int64_t S = grid.sampling_steps();
  if (from != to) return {grid.level(from), grid.level(to), true, false, from == S, false};
  if (options_.reference_walk) {
    if (from == S) return {grid.level(S), grid.level(S - 1), true, false, true, false};
    if (from == 0) return {grid.level(1), -1, true, !options_.overwrite_finished, false, false};
    return {grid.level(from), grid.level(from), false, true, false, false};  // unreachable for standard matrices
  }
  if (from == S) return {grid.level(S), grid.level(S), false, true, false, false};
  if (from == 0) {
    const int64_t k = options_.stabilization_level >= 0 ? options_.stabilization_level : grid.level(1);
    return {k, k, false, true, false, true};
  }
  return {grid.level(from), grid.level(from), false, true, false, false};
}

torch::Tensor Sampler::absorb_context(torch::Tensor z, const torch::Tensor& context, const torch::Tensor& cond,
                                      c10::optional<torch::Generator> generator) {
  torch::NoGradGuard no_grad;
  const int64_t B = context.size(1);
  const auto zero = torch::zeros({B}, torch::TensorOptions().dtype(torch::kLong).device(context.device()));
  for (int64_t t = 0; t < context.size(0); ++t) {
    auto x = context[t];
    if (options_.context_q_sample) {
      const auto eps = sample_clamped_noise(x.sizes(), x.options(), model_->options().clip_noise, generator);
      x = model_->forward_process().noise(x.unsqueeze(0), zero.unsqueeze(0), eps.unsqueeze(0))[0];
    }
    z = model_->predict(z, x, zero, cond.defined() ? cond[t] : torch::Tensor()).z;
  }
  return z;
}

ChunkResult Sampler::row_pass(const torch::Tensor& z_start, const torch::Tensor& x, const std::vector<int64_t>& from_row,
                              const std::vector<int64_t>& to_row, const torch::Tensor& cond, const GuidanceCost& cost,
                              c10::optional<torch::Generator> generator) {
  const int64_t H = x.size(0), B = x.size(1);
  const auto& schedule = model_->schedule();
  const double clip = model_->options().clip_noise;
  const auto long_opts = torch::TensorOptions().dtype(torch::kLong).device(x.device());
  const bool guided = cost && options_.guidance_scale != 0.0;
  torch::AutoGradMode grad_mode(guided);  // gradients only when guidance needs them

  std::vector<torch::Tensor> inputs, new_x, x0s, labels, tos;
  std::vector<std::vector<torch::Tensor>> repeats(static_cast<size_t>(options_.mcg_samples - 1));
  std::vector<bool> steps;
  auto z = z_start;
  for (int64_t t = 0; t < H; ++t) {
    const auto u = plan_token(from_row[static_cast<size_t>(t)], to_row[static_cast<size_t>(t)]);
    auto x_t = x[t].detach();
    if (guided) x_t.requires_grad_(true);
    inputs.push_back(x_t);
    const auto label = torch::full({B}, u.label, long_opts);
    const auto to = torch::full({B}, u.to, long_opts);
    auto input = u.clamp_input ? x_t.clamp(-clip, clip) : x_t;
    if (u.stabilize && options_.stabilization_input != StabilizationInput::Clean) {
      const auto a = broadcast_to_tokens(NoiseSchedule::gather(schedule.sqrt_alphas_cumprod, label), input);
      input = a * input;
      if (options_.stabilization_input == StabilizationInput::Noised) {
        const auto s = broadcast_to_tokens(NoiseSchedule::gather(schedule.sqrt_one_minus_alphas_cumprod, label), input);
        input = input + s * sample_clamped_noise(input.sizes(), input.options(), clip, generator);
      }
    }
    const auto cond_t = cond.defined() ? cond[t] : torch::Tensor();
    const auto z_before = z;
    auto pred = model_->predict(z_before, input, label, cond_t);
    z = pred.z;
    x0s.push_back(pred.prediction.x0);
    torch::Tensor updated = x_t;
    if (u.step && !u.keep_value) {
      torch::Tensor noise;
      if (options_.eta != 0.0 && u.to >= 0) noise = sample_clamped_noise(x_t.sizes(), x_t.options(), clip, generator);
      updated = ddim_update(schedule, pred.prediction, label, to, options_.eta, noise);
    }
    new_x.push_back(updated);
    labels.push_back(label);
    tos.push_back(to);
    steps.push_back(u.step && !u.keep_value && u.to >= 0);
    if (guided) {
      // Monte Carlo guidance: more x0 samples of this token, each re-noised to the token's level from the
      // previous sample and denoised again with the same latent; gradients flow through the chain.
      auto latest = pred.prediction.x0;
      for (int64_t r = 1; r < options_.mcg_samples; ++r) {
        torch::Tensor sample = latest;
        if (u.step && u.to >= 0) {
          const auto eps = sample_clamped_noise(latest.sizes(), latest.options(), clip, generator);
          const auto renoised = model_->forward_process().noise(latest.unsqueeze(0), label.unsqueeze(0), eps.unsqueeze(0))[0];
          sample = model_->predict(z_before, renoised, label, cond_t).prediction.x0;
        }
        repeats[static_cast<size_t>(r - 1)].push_back(sample);
        latest = sample;
      }
    }
  }
  ChunkResult result;
  result.z = z.detach();
  result.x0 = torch::stack(x0s).detach();
  auto stacked = torch::stack(new_x);
  if (guided) {
    std::vector<torch::Tensor> samples{torch::stack(x0s)};
    for (auto& r : repeats) samples.push_back(torch::stack(r));
    const auto c = cost(torch::stack(samples));
    check(c.numel() == 1, "guidance cost must return a scalar");
    const auto grads = torch::autograd::grad({c}, inputs, {}, false, false, true);
    std::vector<torch::Tensor> guided_x;
    for (int64_t t = 0; t < H; ++t) {
      auto x_t = stacked[t].detach();
      const auto& g = grads[static_cast<size_t>(t)];
      if (steps[static_cast<size_t>(t)] && g.defined()) {
        const auto gc = ddim_guidance_constant(schedule, labels[static_cast<size_t>(t)], tos[static_cast<size_t>(t)],
                                               options_.eta);
        x_t = x_t - options_.guidance_scale * broadcast_to_tokens(gc, x_t) * g;
      }
      guided_x.push_back(x_t);
    }
    stacked = torch::stack(guided_x);
  }
  result.x = stacked.detach();
  return result;
}

ChunkResult Sampler::sample_chunk(const torch::Tensor& z, const SchedulingMatrix& matrix, const torch::Tensor& x_init,
                                  const torch::Tensor& cond, const GuidanceCost& cost,
                                  c10::optional<torch::Generator> generator) {
  const int64_t S = model_->grid().sampling_steps();
  check(matrix.sampling_steps() == S, "sampler: matrix has S = " + std::to_string(matrix.sampling_steps()) +
                                          " but the model samples with " + std::to_string(S) + " DDIM steps");
  const int64_t H = matrix.horizon(), B = z.size(0);
  auto x_shape = model_->denoiser().x_shape();
  Shape shape{H, B};
  shape.insert(shape.end(), x_shape.begin(), x_shape.end());
  auto x = x_init.defined() ? x_init
                            : sample_clamped_noise(shape, z.options(), model_->options().clip_noise, generator);
  check(x.sizes() == torch::IntArrayRef(shape), "sampler: x_init must be " + shape_str(shape) + ", got " + shape_str(x));
  const int64_t rows = matrix.rows();
  ChunkResult result;
  std::vector<int64_t> from(static_cast<size_t>(H)), to(static_cast<size_t>(H));
  for (int64_t m = 0; m < rows; ++m) {
    for (int64_t t = 0; t < H; ++t) {
      from[static_cast<size_t>(t)] = matrix.at(m, t);
      to[static_cast<size_t>(t)] = m + 1 < rows ? matrix.at(m + 1, t) : 0;  // last: commit pass
    }
    result = row_pass(z, x, from, to, cond, m + 1 < rows ? cost : GuidanceCost(), generator);
    x = result.x;
    if (row_callback_ && !row_callback_(m, rows)) throw Error("sampler: aborted by the row callback at row " + std::to_string(m));
  }
  return result;
}

torch::Tensor Sampler::rollout(torch::Tensor z, int64_t num_tokens, int64_t chunk_size, ScheduleMatrixKind kind,
                               double uncertainty_scale, const torch::Tensor& cond,
                               c10::optional<torch::Generator> generator,
                               const std::function<void(const torch::Tensor&)>& on_chunk) {
  check(num_tokens >= 1 && chunk_size >= 1, "rollout: num_tokens and chunk_size must be >= 1");
  const int64_t S = model_->grid().sampling_steps();
  std::vector<torch::Tensor> chunks;
  for (int64_t start = 0; start < num_tokens; start += chunk_size) {
    const int64_t h = std::min(chunk_size, num_tokens - start);
    const auto matrix = SchedulingMatrix::make(kind, h, S, uncertainty_scale);
    const auto cond_chunk = cond.defined() ? cond.slice(0, start, start + h) : torch::Tensor();
    auto r = sample_chunk(z, matrix, {}, cond_chunk, nullptr, generator);
    if (on_chunk) {
      on_chunk(r.x);
    } else {
      chunks.push_back(r.x);
    }
    z = r.z;
  }
  return on_chunk ? torch::Tensor() : torch::cat(chunks, 0);
}

torch::Tensor Sampler::rollout_with_limited_memory(const torch::Tensor& context, int64_t batch, int64_t num_tokens,
                                                   int64_t memory, int64_t replan_every, int64_t chunk_size,
                                                   ScheduleMatrixKind kind, double uncertainty_scale,
                                                   c10::optional<torch::Generator> generator, const torch::Tensor& cond,
                                                   const std::function<void(const torch::Tensor&)>& on_chunk) {
  check(memory >= 0 && replan_every >= 1 && chunk_size >= 1,
        "rollout_with_limited_memory: memory >= 0, replan_every >= 1 and chunk_size >= 1 required");
  const int64_t n_context = context.defined() ? context.size(0) : 0, S = model_->grid().sampling_steps();
  check(!cond.defined() || cond.size(0) == n_context + num_tokens,
        "rollout_with_limited_memory: cond must cover the context and the new tokens (" +
            std::to_string(n_context + num_tokens) + " tokens), got " + shape_str(cond));
  // The last `memory` tokens [B, ...] with their positions in the sequence (context first).
  std::deque<std::pair<int64_t, torch::Tensor>> recent;
  int64_t position = 0;
  auto remember = [&](const torch::Tensor& token) {
    recent.emplace_back(position++, token);
    while (static_cast<int64_t>(recent.size()) > memory) recent.pop_front();
  };
  for (int64_t t = 0; t < n_context; ++t) remember(context[t]);
  std::vector<torch::Tensor> chunks;
  for (int64_t done = 0; done < num_tokens;) {
    auto z = model_->denoiser().initial_latent(batch, {});
    if (!recent.empty()) {
      std::vector<torch::Tensor> tokens, conds;
      for (const auto& [at, token] : recent) {
        tokens.push_back(token);
        if (cond.defined()) conds.push_back(cond[at]);
      }
      z = absorb_context(z, torch::stack(tokens), cond.defined() ? torch::stack(conds) : torch::Tensor(), generator);
    }
    const int64_t h = std::min(replan_every, num_tokens - done);
    for (int64_t start = 0; start < h; start += chunk_size) {
      const int64_t c = std::min(chunk_size, h - start), first = n_context + done + start;
      const auto cond_chunk = cond.defined() ? cond.slice(0, first, first + c) : torch::Tensor();
      auto r =
          sample_chunk(z, SchedulingMatrix::make(kind, c, S, uncertainty_scale), {}, cond_chunk, nullptr, generator);
      for (int64_t t = 0; t < c; ++t) remember(r.x[t]);
      if (on_chunk) {
        on_chunk(r.x);
      } else {
        chunks.push_back(r.x);
      }
      z = r.z;
    }
    done += h;
  }
  return on_chunk ? torch::Tensor() : torch::cat(chunks, 0);
}

}  // namespace df
