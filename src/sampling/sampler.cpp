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

// The walk of one chunk: what every cell does and which cells run. Rows m = 0..M-1 move token t from
// matrix entry K[m,t] to K[m+1,t] (the last row is the commit pass to 0).
struct Sampler::WalkPlan {
  int64_t rows = 0, horizon = 0;
  std::vector<TokenUpdate> updates;  // [rows * horizon], row-major
  std::vector<int64_t> first, last;  // tokens [first, last] of row m run; first > 0 starts from the prefix cache
  std::vector<int64_t> finished;     // tokens 0..finished-1 are clean and held in row m (their latent is cacheable)
  const TokenUpdate& at(int64_t m, int64_t t) const { return updates[static_cast<size_t>(m * horizon + t)]; }
  bool runs(int64_t m, int64_t t) const {
    return t >= first[static_cast<size_t>(m)] && t <= last[static_cast<size_t>(m)];
  }
};

struct Sampler::CellNoise {
  torch::Tensor stabilization;     // q-sampling a held clean token (stabilization_input = noised)
  torch::Tensor ddim;              // the DDIM step's stochastic term (eta > 0)
  std::vector<torch::Tensor> mcg;  // re-noising of the Monte Carlo guidance samples
};

Sampler::WalkPlan Sampler::plan_walk(const SchedulingMatrix& matrix, bool guided) const {
  WalkPlan plan;
  plan.rows = matrix.rows();
  plan.horizon = matrix.horizon();
  const int64_t M = plan.rows, H = plan.horizon;
  plan.updates.reserve(static_cast<size_t>(M * H));
  for (int64_t m = 0; m < M; ++m)
    for (int64_t t = 0; t < H; ++t) plan.updates.push_back(plan_token(matrix.at(m, t), m + 1 < M ? matrix.at(m + 1, t) : 0));
  // Skipping is exact only when held clean tokens are read deterministically (their latent is then the
  // same every row) and nothing is rewritten; the reference walk re-denoises every token every row.
  const bool skip = options_.skip_idle_tokens && !options_.reference_walk &&
                    options_.stabilization_input != StabilizationInput::Noised;
  int64_t cached = 0;  // finished prefix whose latents are known after the previous row
  for (int64_t m = 0; m < M; ++m) {
    int64_t finished = 0, last_moving = -1;
    while (finished < H && matrix.at(m, finished) == 0 && (m + 1 == M || matrix.at(m + 1, finished) == 0)) ++finished;
    for (int64_t t = 0; t < H; ++t)
      if (plan.at(m, t).step) last_moving = t;
    plan.finished.push_back(finished);
    // The commit row must reach the last token (its latent is the chunk's result); guidance needs every
    // token's x0 (the cost reads the whole chunk).
    const bool whole_row = !skip || guided || m + 1 == M;
    plan.first.push_back(skip ? std::min(cached, finished) : 0);
    plan.last.push_back(whole_row ? H - 1 : last_moving);
    cached = skip ? finished : 0;
  }
  return plan;
}

Sampler::CellNoise Sampler::draw_cell_noise(const TokenUpdate& u, const torch::Tensor& like, bool guided,
                                            c10::optional<torch::Generator> generator) const {
  const double clip = model_->options().clip_noise;
  CellNoise n;
  if (u.stabilize && options_.stabilization_input == StabilizationInput::Noised)
    n.stabilization = sample_clamped_noise(like.sizes(), like.options(), clip, generator);
  if (u.step && !u.keep_value && options_.eta != 0.0 && u.to >= 0)
    n.ddim = sample_clamped_noise(like.sizes(), like.options(), clip, generator);
  if (guided && u.step && u.to >= 0)
    for (int64_t r = 1; r < options_.mcg_samples; ++r)
      n.mcg.push_back(sample_clamped_noise(like.sizes(), like.options(), clip, generator));
  return n;
}

torch::Tensor Sampler::cell_input(const TokenUpdate& u, const torch::Tensor& x, const torch::Tensor& label,
                                  const torch::Tensor& stabilization_noise) const {
  const auto& schedule = model_->schedule();
  auto input = u.clamp_input ? x.clamp(-model_->options().clip_noise, model_->options().clip_noise) : x;
  if (u.stabilize && options_.stabilization_input != StabilizationInput::Clean) {
    input = broadcast_to_tokens(NoiseSchedule::gather(schedule.sqrt_alphas_cumprod, label), input) * input;
    if (stabilization_noise.defined())
      input = input + broadcast_to_tokens(NoiseSchedule::gather(schedule.sqrt_one_minus_alphas_cumprod, label), input) *
                          stabilization_noise;
  }
  return input;
}

const torch::Tensor& Sampler::level_tensor(int64_t level, int64_t batch) {
  auto& t = level_tensors_[{level, batch}];
  if (!t.defined()) t = torch::full({batch}, level, torch::TensorOptions().dtype(torch::kLong).device(model_->device()));
  return t;
}

ChunkResult Sampler::walk_rows(const torch::Tensor& z_start, torch::Tensor x, const WalkPlan& plan,
                               const torch::Tensor& cond, const GuidanceCost& cost,
                               c10::optional<torch::Generator> generator) {
  const int64_t M = plan.rows, H = plan.horizon, B = x.size(1), R = options_.mcg_samples;
  const auto& schedule = model_->schedule();
  std::vector<torch::Tensor> prefix{z_start};  // prefix[k]: latent after the first k finished tokens
  std::vector<torch::Tensor> x0(static_cast<size_t>(H));
  torch::Tensor z;
  for (int64_t m = 0; m < M; ++m) {
    const bool guided = cost && options_.guidance_scale != 0.0 && m + 1 < M;  // the commit pass is not guided
    torch::AutoGradMode grad_mode(guided);  // gradients only when guidance needs them
    const int64_t first = plan.first[static_cast<size_t>(m)], last = plan.last[static_cast<size_t>(m)];
    z = prefix[static_cast<size_t>(std::min<int64_t>(first, static_cast<int64_t>(prefix.size()) - 1))];
    std::vector<torch::Tensor> inputs, new_x(static_cast<size_t>(H)), z_before, renoise_from;
    std::vector<int64_t> tokens, mcg_tokens;
    std::vector<std::vector<torch::Tensor>> mcg_eps;
    for (int64_t t = first; t <= last; ++t) {
      const auto& u = plan.at(m, t);
      auto x_t = x[t].detach();
      if (guided) x_t.requires_grad_(true);
      const auto noise = draw_cell_noise(u, x_t, guided, generator);
      const auto& label = level_tensor(u.label, B);
      const auto cond_t = cond.defined() ? cond[t] : torch::Tensor();
      auto pred = model_->predict(z, cell_input(u, x_t, label, noise.stabilization), label, cond_t);
      if (guided) {
        inputs.push_back(x_t);
        tokens.push_back(t);
        if (!noise.mcg.empty()) mcg_tokens.push_back(t), mcg_eps.push_back(noise.mcg), z_before.push_back(z);
      }
      z = pred.z;
      if (t < plan.finished[static_cast<size_t>(m)] && t + 1 >= static_cast<int64_t>(prefix.size()))
        prefix.push_back(z.detach());
      x0[static_cast<size_t>(t)] = pred.prediction.x0;
      new_x[static_cast<size_t>(t)] = u.step && !u.keep_value
                                          ? ddim_update(schedule, pred.prediction, label, level_tensor(u.to, B),
                                                        options_.eta, noise.ddim)
                                          : x_t;
    }
    if (guided) {
      // Monte Carlo guidance: R - 1 more x0 samples of every stepping token, each re-noised to the token's
      // level from the previous sample and denoised again from the same latent; one batched call per
      // sample index for all tokens. Gradients flow through the chain.
      std::vector<torch::Tensor> current = x0;  // sample r of every token (tokens without MCG keep x0)
      std::vector<torch::Tensor> samples{torch::stack(current)};
      std::vector<torch::Tensor> latest;
      for (const auto t : mcg_tokens) latest.push_back(x0[static_cast<size_t>(t)]);
      const int64_t n = static_cast<int64_t>(mcg_tokens.size());
      torch::Tensor labels, zs, conds;
      if (n > 0) {
        std::vector<torch::Tensor> l, c;
        for (const auto t : mcg_tokens) {
          l.push_back(level_tensor(plan.at(m, t).label, B));
          if (cond.defined()) c.push_back(cond[t]);
        }
        labels = torch::cat(l);
        zs = torch::cat(z_before);
        if (cond.defined()) conds = torch::cat(c);
      }
      for (int64_t r = 1; r < R; ++r) {
        if (n > 0) {
          std::vector<torch::Tensor> eps;
          for (const auto& e : mcg_eps) eps.push_back(e[static_cast<size_t>(r - 1)]);
          const auto renoised = model_->forward_process().noise(torch::cat(latest).unsqueeze(0), labels.unsqueeze(0),
                                                                torch::cat(eps).unsqueeze(0))[0];
          const auto fresh = model_->predict(zs, renoised, labels, conds).prediction.x0.split(B);
          for (int64_t i = 0; i < n; ++i) {
            latest[static_cast<size_t>(i)] = fresh[static_cast<size_t>(i)];
            current[static_cast<size_t>(mcg_tokens[static_cast<size_t>(i)])] = fresh[static_cast<size_t>(i)];
          }
        }
        samples.push_back(torch::stack(current));
      }
      const auto c = cost(torch::stack(samples));
      check(c.numel() == 1, "guidance cost must return a scalar");
      const auto grads = torch::autograd::grad({c}, inputs, {}, false, false, true);
      for (size_t i = 0; i < tokens.size(); ++i) {
        const auto& u = plan.at(m, tokens[i]);
        auto& x_t = new_x[static_cast<size_t>(tokens[i])];
        if (!(u.step && !u.keep_value && u.to >= 0) || !grads[i].defined()) continue;
        const auto gc = ddim_guidance_constant(schedule, level_tensor(u.label, B), level_tensor(u.to, B), options_.eta);
        x_t = x_t.detach() - options_.guidance_scale * broadcast_to_tokens(gc, x_t) * grads[i];
      }
    }
    for (int64_t t = first; t <= last; ++t) x[t] = new_x[static_cast<size_t>(t)].detach();
    for (auto& e : x0)
      if (e.defined()) e = e.detach();  // later rows need the values, not this row's graph
    if (first > last) z = prefix.back();
    if (row_callback_ && !row_callback_(m, M)) throw Error("sampler: aborted by the row callback at row " + std::to_string(m));
  }
  ChunkResult result;
  result.x = x;
  result.z = z.detach();
  for (auto& e : x0)
    if (!e.defined()) e = torch::full_like(x[0], NAN);  // never run (cannot happen for valid matrices)
  result.x0 = torch::stack(x0).detach();
  return result;
}

ChunkResult Sampler::walk_wavefront(const torch::Tensor& z_start, torch::Tensor x, const WalkPlan& plan,
                                    const torch::Tensor& cond, c10::optional<torch::Generator> generator) {
  torch::NoGradGuard no_grad;
  const int64_t M = plan.rows, H = plan.horizon, B = x.size(1);
  const auto& schedule = model_->schedule();
  const auto device = x.device();
  // Every cell's noise in the row walk's order, so that both walks give the same samples.
  std::vector<CellNoise> noise(static_cast<size_t>(M * H));
  for (int64_t m = 0; m < M; ++m)
    for (int64_t t = plan.first[static_cast<size_t>(m)]; t <= plan.last[static_cast<size_t>(m)]; ++t)
      noise[static_cast<size_t>(m * H + t)] = draw_cell_noise(plan.at(m, t), x[0], false, generator);
  const auto z_shape = z_start.sizes().vec();
  std::vector<int64_t> rows_shape{M};
  rows_shape.insert(rows_shape.end(), z_shape.begin(), z_shape.end());
  auto z_rows = torch::empty(rows_shape, z_start.options());  // z_rows[m]: latent flowing along row m
  auto x0 = torch::full_like(x, NAN);
  std::vector<torch::Tensor> prefix{z_start};
  const auto as_tensor = [&](const std::vector<int64_t>& v) { return torch::tensor(v, torch::kLong).to(device); };
  for (int64_t d = 0; d <= M - 1 + H - 1; ++d) {
    std::vector<int64_t> rows, tokens, labels, tos, steps, clamps, stabilizes, cache_after;
    std::vector<torch::Tensor> stabilization_noise, ddim_noise;
    for (int64_t m = std::max<int64_t>(0, d - H + 1); m <= std::min(d, M - 1); ++m) {
      const int64_t t = d - m;
      if (!plan.runs(m, t)) continue;
      if (t == plan.first[static_cast<size_t>(m)]) z_rows[m] = prefix[static_cast<size_t>(t)];
      const auto& u = plan.at(m, t);
      const auto& n = noise[static_cast<size_t>(m * H + t)];
      rows.push_back(m), tokens.push_back(t), labels.push_back(u.label), tos.push_back(u.to);
      steps.push_back(u.step && !u.keep_value), clamps.push_back(u.clamp_input), stabilizes.push_back(u.stabilize);
      stabilization_noise.push_back(n.stabilization.defined() ? n.stabilization : torch::zeros_like(x[0]));
      ddim_noise.push_back(n.ddim.defined() ? n.ddim : torch::zeros_like(x[0]));
      cache_after.push_back(t < plan.finished[static_cast<size_t>(m)] && t + 1 >= static_cast<int64_t>(prefix.size()));
    }
    if (!rows.empty()) {
      const int64_t n = static_cast<int64_t>(rows.size());
      const auto row_index = as_tensor(rows), token_index = as_tensor(tokens);
      const auto per_element = [&](const std::vector<int64_t>& v) { return as_tensor(v).repeat_interleave(B); };
      const auto label = per_element(labels), to = per_element(tos);
      const auto raw = x.index_select(0, token_index).flatten(0, 1);  // [n*B, ...]
      // The cell inputs of cell_input(), batched: clamps and stabilization chosen per cell.
      auto input = torch::where(broadcast_to_tokens(per_element(clamps).to(torch::kBool), raw),
                                raw.clamp(-model_->options().clip_noise, model_->options().clip_noise), raw);
      if (options_.stabilization_input != StabilizationInput::Clean) {
        auto stabilized = broadcast_to_tokens(NoiseSchedule::gather(schedule.sqrt_alphas_cumprod, label), raw) * raw;
        if (options_.stabilization_input == StabilizationInput::Noised)
          stabilized = stabilized +
                       broadcast_to_tokens(NoiseSchedule::gather(schedule.sqrt_one_minus_alphas_cumprod, label), raw) *
                           torch::cat(stabilization_noise);
        input = torch::where(broadcast_to_tokens(per_element(stabilizes).to(torch::kBool), raw), stabilized, input);
      }
      const auto cond_in = cond.defined() ? cond.index_select(0, token_index).flatten(0, 1) : torch::Tensor();
      auto pred = model_->predict(z_rows.index_select(0, row_index).flatten(0, 1), input, label, cond_in);
      const auto stepped = ddim_update(schedule, pred.prediction, label, to, options_.eta,
                                       options_.eta != 0.0 ? torch::cat(ddim_noise) : torch::Tensor());
      const auto updated = torch::where(broadcast_to_tokens(per_element(steps).to(torch::kBool), raw), stepped, raw);
      const auto unflatten = [&](const torch::Tensor& t) {
        auto shape = t.sizes().vec();
        shape[0] = B;
        shape.insert(shape.begin(), n);
        return t.reshape(shape);
      };
      x.index_copy_(0, token_index, unflatten(updated));
      x0.index_copy_(0, token_index, unflatten(pred.prediction.x0));
      const auto z_out = unflatten(pred.z);
      z_rows.index_copy_(0, row_index, z_out);
      for (int64_t i = 0; i < n; ++i)
        if (cache_after[static_cast<size_t>(i)]) prefix.push_back(z_out[i].clone());
    }
    const int64_t completed = d - (H - 1);  // row whose last cell is on this diagonal
    if (completed >= 0 && row_callback_ && !row_callback_(completed, M))
      throw Error("sampler: aborted by the row callback at row " + std::to_string(completed));
  }
  ChunkResult result;
  result.x = x;
  result.z = plan.first[static_cast<size_t>(M - 1)] > plan.last[static_cast<size_t>(M - 1)] ? prefix.back()
                                                                                            : z_rows[M - 1].clone();
  result.x0 = x0;
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
  auto x = x_init.defined() ? x_init.clone()
                            : sample_clamped_noise(shape, z.options(), model_->options().clip_noise, generator);
  check(x.sizes() == torch::IntArrayRef(shape), "sampler: x_init must be " + shape_str(shape) + ", got " + shape_str(x));
  const bool guided = cost && options_.guidance_scale != 0.0;
  const auto plan = plan_walk(matrix, guided);
  if (!guided && options_.walk == SamplerWalk::Wavefront) return walk_wavefront(z, x, plan, cond, generator);
  return walk_rows(z, x, plan, cond, cost, generator);
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
