#include "df/models/resmlp_gru.h"

#include "resmlp_blocks.h"

#include "df/core/compat.h"
#include "df/core/error.h"

#include <optional>

namespace nn = torch::nn;

namespace df {

ResBlock1dImpl::ResBlock1dImpl(int64_t in_dim, int64_t out_dim) {
  fc1 = nn::Linear(in_dim, out_dim);
  fc2 = nn::Linear(out_dim, out_dim);
  mlp = register_module("mlp", nn::Sequential(fc1, nn::GELU(), fc2));
  if (in_dim != out_dim) shortcut = register_module("shortcut", nn::Linear(in_dim, out_dim));
}

torch::Tensor ResBlock1dImpl::forward(const torch::Tensor& x) {
  TokenLinears plain;
  return apply(x, plain);
}

torch::Tensor ResBlock1dImpl::apply(const torch::Tensor& x, TokenLinears& linears) {
  return forward_projected(linears(fc1, x), shortcut ? linears(shortcut, x) : x, linears);
}

torch::Tensor ResBlock1dImpl::forward_projected(const torch::Tensor& first, const torch::Tensor& residual) {
  TokenLinears plain;
  return forward_projected(first, residual, plain);
}

torch::Tensor ResBlock1dImpl::forward_projected(const torch::Tensor& first, const torch::Tensor& residual,
                                                TokenLinears& linears) {
  return torch::gelu(residual + linears(fc2, torch::gelu(first)));
}

namespace {
// A Sequential with a concrete forward so that it can live in an AnyModule next to a single block.
struct ResMlpStackImpl : nn::SequentialImpl {
  using nn::SequentialImpl::SequentialImpl;
  torch::Tensor forward(torch::Tensor x) { return nn::SequentialImpl::forward(x); }
};
TORCH_MODULE(ResMlpStack);

// The ResMLP on either side of the GRU; `before` selects the L == 1 form (ResBlock vs Linear).
nn::AnyModule make_resmlp(int64_t in_dim, int64_t hidden, int64_t out_dim, int64_t layers, bool before) {
  if (layers == 1) return before ? nn::AnyModule(ResBlock1d(in_dim, out_dim)) : nn::AnyModule(nn::Linear(in_dim, out_dim));
  ResMlpStack seq;
  seq->push_back(ResBlock1d(in_dim, hidden));
  for (int64_t i = 0; i < layers - 2; ++i) seq->push_back(ResBlock1d(hidden, hidden));
  seq->push_back(nn::Linear(hidden, out_dim));
  return nn::AnyModule(seq);
}
std::vector<int64_t> with_last(torch::IntArrayRef leading, int64_t last) {
  auto shape = leading.vec();
  shape.push_back(last);
  return shape;
}
}  // namespace

TransitionMlpImpl::TransitionMlpImpl(const ResMlpGruOptions& o) : options_(o) {
  check(o.x_dim > 0, "resmlp_gru: x_dim must be > 0");
  check(o.num_mlp_layers >= 1, "resmlp_gru: num_mlp_layers must be >= 1");
  check(o.num_gru_layers >= 1 && o.z_dim % o.num_gru_layers == 0,
        "resmlp_gru: z_dim (" + std::to_string(o.z_dim) + ") must be divisible by num_gru_layers (" +
            std::to_string(o.num_gru_layers) + ")");
  check(o.level_embedding_dim >= 0, "resmlp_gru: level_embedding_dim must be >= 0 (0 = network_size)");
  const int64_t ns = o.network_size, hidden = 32 * ns, ls = level_width();
  time_mlp = register_module(
      "time_mlp", nn::Sequential(SinusoidalEmbedding(ls), nn::Linear(ls, ls), nn::GELU(), nn::Linear(ls, ls)));
  int64_t in_dim = o.z_dim + o.x_dim + ls;
  if (o.cond_dim > 0) {
    cond_mlp = register_module("cond_mlp", nn::Sequential(nn::Linear(o.cond_dim, ns), nn::GELU(), nn::Linear(ns, ns)));
    in_dim += ns;
  }
  mlp_before_gru = make_resmlp(in_dim, hidden, o.z_dim, o.num_mlp_layers, true);
  register_module("mlp_before_gru", mlp_before_gru.ptr());
  rest_before_ = stages_of(mlp_before_gru);
  first_block_ = rest_before_.front().block;
  rest_before_.erase(rest_before_.begin());
  if (o.level_film) {
    const int64_t width = first_block_->fc1->weight.size(0);
    level_film = register_module("level_film", nn::Linear(ls, 2 * width));
    torch::NoGradGuard no_grad;
    level_film->weight.zero_();
    level_film->bias.zero_();
  }
  gru_stack = register_module("gru_stack", nn::ModuleList());
  const int64_t chunk = o.z_dim / o.num_gru_layers;
  for (int64_t i = 0; i < o.num_gru_layers; ++i) gru_stack->push_back(nn::GRUCell(i == 0 ? o.z_dim : chunk, chunk));
  mlp_after_gru = make_resmlp(o.z_dim, hidden, o.z_dim, o.num_mlp_layers, false);
  register_module("mlp_after_gru", mlp_after_gru.ptr());
  after_gru_ = stages_of(mlp_after_gru);
}

std::vector<TransitionMlpImpl::Stage> TransitionMlpImpl::stages_of(const nn::AnyModule& mlp) {
  const auto stage_of = [](const std::shared_ptr<nn::Module>& m) {
    Stage stage;
    stage.block = std::dynamic_pointer_cast<ResBlock1dImpl>(m);
    if (!stage.block) stage.linear = nn::Linear(std::dynamic_pointer_cast<nn::LinearImpl>(m));
    check(stage.block || !stage.linear.is_empty(), "resmlp_gru: a ResMLP stage is neither a ResBlock nor a Linear");
    return stage;
  };
  std::vector<Stage> stages;
  if (const auto stack = std::dynamic_pointer_cast<ResMlpStackImpl>(mlp.ptr())) {
    for (const auto& m : *stack) stages.push_back(stage_of(m.ptr()));
  } else {
    stages.push_back(stage_of(mlp.ptr()));
  }
  return stages;
}

torch::Tensor TransitionMlpImpl::run(const std::vector<Stage>& stages, torch::Tensor h, TokenLinears& linears) {
  for (const auto& stage : stages) h = stage.block ? stage.block->apply(h, linears) : linears(stage.linear, h);
  return h;
}

torch::Tensor TransitionMlpImpl::level_features(const torch::Tensor& levels) {
  return time_mlp->forward(levels.flatten()).view(with_last(levels.sizes(), level_width()));
}

torch::Tensor TransitionMlpImpl::modulate(const torch::Tensor& first, const torch::Tensor& film) const {
  if (!film.defined()) return first;
  const int64_t width = first.size(-1);
  return torch::addcmul(film.narrow(-1, width, width), first, film.narrow(-1, 0, width) + 1.0);
}

torch::Tensor TransitionMlpImpl::latent_free_inputs(const torch::Tensor& x_noisy, const torch::Tensor& emb,
                                                    const torch::Tensor& cond) {
  std::vector<torch::Tensor> parts{x_noisy, emb};
  if (cond_mlp) {
    check(cond.defined() && cond.size(-1) == options_.cond_dim,
          "resmlp_gru: expected a condition of dim " + std::to_string(options_.cond_dim));
    parts.push_back(cond_mlp->forward(cond));
  }
  return torch::cat(parts, -1);
}

torch::Tensor TransitionMlpImpl::after_first_block(const torch::Tensor& first_out, const torch::Tensor& z_prev,
                                                   TokenLinears& linears) {
  auto h = run(rest_before_, first_out, linears);
  const auto hidden = z_prev.chunk(options_.num_gru_layers, -1);
  std::vector<torch::Tensor> outs;
  for (int64_t i = 0; i < options_.num_gru_layers; ++i) {
    h = gru_stack[static_cast<size_t>(i)]->as<nn::GRUCell>()->forward(h, hidden[static_cast<size_t>(i)]);
    outs.push_back(h);
  }
  return run(after_gru_, outs.size() == 1 ? outs[0] : torch::cat(outs, -1), linears);
}

torch::Tensor TransitionMlpImpl::forward(const torch::Tensor& z_prev, const torch::Tensor& x_noisy,
                                         const torch::Tensor& levels, const torch::Tensor& cond) {
  const auto emb = level_features(levels);
  const auto in = torch::cat({z_prev, latent_free_inputs(x_noisy, emb, cond)}, -1);
  TokenLinears plain;  // one token: nothing to share
  if (!level_film) return after_first_block(first_block_->forward(in), z_prev, plain);
  auto& block = *first_block_;
  const auto first = modulate(block.fc1->forward(in), level_film->forward(emb));
  return after_first_block(block.forward_projected(first, block.shortcut ? block.shortcut->forward(in) : in), z_prev,
                           plain);
}

torch::Tensor TransitionMlpImpl::forward_sequence(const torch::Tensor& z0, const torch::Tensor& x_noisy,
                                                  const torch::Tensor& levels, const torch::Tensor& cond) {
  const int64_t T = x_noisy.size(0), Z = options_.z_dim;
  const auto emb = level_features(levels);
  const auto rest = latent_free_inputs(x_noisy, emb, cond);  // [T, B, in - Z]
  const auto film = level_film ? level_film->forward(emb).unbind(0) : std::vector<torch::Tensor>();
  // fc1 and the shortcut (when there is one) split into the z columns and the rest; the rest of both for
  // all tokens in one product (biases included), the z columns per step in one addmm.
  const auto& fc1 = first_block_->fc1;
  const auto& sc = first_block_->shortcut;
  const int64_t width = fc1->weight.size(0);
  const auto w = sc ? torch::cat({fc1->weight, sc->weight}) : fc1->weight;  // [W, in]
  const auto b = sc ? torch::cat({fc1->bias, sc->bias}) : fc1->bias;
  const auto projected = torch::addmm(b, rest.flatten(0, 1), w.narrow(1, Z, w.size(1) - Z).t())
                             .view({T, x_noisy.size(1), w.size(0)});  // [T, B, W]
  const auto w_z = w.narrow(1, 0, Z);  // [W, Z]
  // In training under autocast, the layers applied at every token cast their weights once and compute their
  // weight gradients once over all tokens (token_shared_linear.h).
  auto linears = TokenLinears::for_training(w);
  const auto z_columns = linears.active() ? std::make_optional<TokenSharedLinear>(w_z, torch::Tensor(), linears.dtype())
                                          : std::nullopt;
  // unbind, not projected[t]: the backward of T selects would write T full-size zero gradients.
  const auto projected_t = projected.unbind(0);
  const auto rest_t = sc ? std::vector<torch::Tensor>() : rest.unbind(0);
  std::vector<torch::Tensor> zs;
  auto z = z0;
  for (int64_t t = 0; t < T; ++t) {
    const auto& p = projected_t[static_cast<size_t>(t)];
    const auto a = z_columns ? (*z_columns)(z, p) : torch::addmm(p, z, w_z.t());
    const auto residual = sc ? a.narrow(1, width, width) : torch::cat({z, rest_t[static_cast<size_t>(t)]}, -1);
    const auto first =
        film.empty() ? a.narrow(1, 0, width) : modulate(a.narrow(1, 0, width), film[static_cast<size_t>(t)]);
    z = after_first_block(first_block_->forward_projected(first, residual, linears), z, linears);
    zs.push_back(z);
  }
  return torch::stack(zs);
}

ResMlpGruDenoiser::ResMlpGruDenoiser(const ResMlpGruOptions& o) : options_(o) {
  model_ = register_module("model", std::make_shared<TransitionMlpImpl>(o));
  x_from_z = register_module("x_from_z", nn::Linear(o.z_dim, o.x_dim));
  if (o.initial_latent == InitialLatent::Learned) {
    init_z = register_parameter("init_z", torch::randn({o.z_dim}));
  } else if (o.initial_latent == InitialLatent::ObservationEncoder) {
    check(o.observation_dim > 0, "resmlp_gru: observation_encoder initial latent needs observation_dim > 0");
    init_encoder = register_module("init_encoder", nn::Sequential(nn::Linear(o.observation_dim, 128), nn::ELU(),
                                                                  nn::Linear(128, 128), nn::ELU(),
                                                                  nn::Linear(128, o.z_dim)));
  }
}

DenoiserStep ResMlpGruDenoiser::step(const torch::Tensor& z_prev, const torch::Tensor& x_noisy,
                                     const torch::Tensor& levels, const torch::Tensor& cond) {
  auto z = model_->forward(z_prev, x_noisy, levels, cond);
  auto out = x_from_z->forward(z);
  return {z, out};
}

SequenceSteps ResMlpGruDenoiser::forward_sequence(const torch::Tensor& z0, const torch::Tensor& x_noisy,
                                                  const torch::Tensor& levels, const torch::Tensor& cond) {
  auto z = model_->forward_sequence(z0, x_noisy, levels, cond);  // [T, B, z]
  return {z, x_from_z->forward(z)};
}

torch::Tensor ResMlpGruDenoiser::initial_latent(int64_t batch_size, const torch::Tensor& first_observation) {
  const auto opts = x_from_z->weight.options();
  switch (options_.initial_latent) {
    case InitialLatent::Zeros: return torch::zeros({batch_size, options_.z_dim}, opts);
    case InitialLatent::Learned: return init_z.unsqueeze(0).expand({batch_size, options_.z_dim});
    case InitialLatent::ObservationEncoder:
      check(first_observation.defined() && first_observation.size(0) == batch_size &&
                first_observation.size(-1) == options_.observation_dim,
            "resmlp_gru: initial latent needs the first observation [" + std::to_string(batch_size) + "," +
                std::to_string(options_.observation_dim) + "]");
      return init_encoder->forward(first_observation);
  }
  throw Error("resmlp_gru: unknown initial latent");
}

}  // namespace df
