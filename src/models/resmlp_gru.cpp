#include "df/models/resmlp_gru.h"

#include "resmlp_blocks.h"

#include "df/core/compat.h"
#include "df/core/error.h"

namespace nn = torch::nn;

namespace df {

ResBlock1dImpl::ResBlock1dImpl(int64_t in_dim, int64_t out_dim) {
  mlp = register_module("mlp", nn::Sequential(nn::Linear(in_dim, out_dim), nn::GELU(), nn::Linear(out_dim, out_dim)));
  if (in_dim != out_dim) shortcut = register_module("shortcut", nn::Linear(in_dim, out_dim));
}

torch::Tensor ResBlock1dImpl::forward(const torch::Tensor& x) {
  const auto residual = shortcut ? shortcut->forward(x) : x;
  return torch::gelu(residual + mlp->forward(x));
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
}  // namespace

TransitionMlpImpl::TransitionMlpImpl(const ResMlpGruOptions& o) : options_(o) {
  check(o.x_dim > 0, "resmlp_gru: x_dim must be > 0");
  check(o.num_mlp_layers >= 1, "resmlp_gru: num_mlp_layers must be >= 1");
  check(o.num_gru_layers >= 1 && o.z_dim % o.num_gru_layers == 0,
        "resmlp_gru: z_dim (" + std::to_string(o.z_dim) + ") must be divisible by num_gru_layers (" +
            std::to_string(o.num_gru_layers) + ")");
  const int64_t ns = o.network_size, hidden = 32 * ns;
  time_mlp = register_module("time_mlp",
                             nn::Sequential(SinusoidalEmbedding(ns), nn::Linear(ns, ns), nn::GELU(), nn::Linear(ns, ns)));
  int64_t in_dim = o.z_dim + o.x_dim + ns;
  if (o.cond_dim > 0) {
    cond_mlp = register_module("cond_mlp", nn::Sequential(nn::Linear(o.cond_dim, ns), nn::GELU(), nn::Linear(ns, ns)));
    in_dim += ns;
  }
  mlp_before_gru = make_resmlp(in_dim, hidden, o.z_dim, o.num_mlp_layers, true);
  register_module("mlp_before_gru", mlp_before_gru.ptr());
  gru_stack = register_module("gru_stack", nn::ModuleList());
  const int64_t chunk = o.z_dim / o.num_gru_layers;
  for (int64_t i = 0; i < o.num_gru_layers; ++i) gru_stack->push_back(nn::GRUCell(i == 0 ? o.z_dim : chunk, chunk));
  mlp_after_gru = make_resmlp(o.z_dim, hidden, o.z_dim, o.num_mlp_layers, false);
  register_module("mlp_after_gru", mlp_after_gru.ptr());
}

torch::Tensor TransitionMlpImpl::forward(const torch::Tensor& z_prev, const torch::Tensor& x_noisy,
                                         const torch::Tensor& levels, const torch::Tensor& cond) {
  std::vector<torch::Tensor> parts{z_prev, x_noisy, time_mlp->forward(levels)};
  if (cond_mlp) {
    check(cond.defined() && cond.size(-1) == options_.cond_dim,
          "resmlp_gru: expected a condition of dim " + std::to_string(options_.cond_dim));
    parts.push_back(cond_mlp->forward(cond));
  }
  auto h = mlp_before_gru.forward(torch::cat(parts, -1));
  const auto hidden = z_prev.chunk(options_.num_gru_layers, -1);
  std::vector<torch::Tensor> outs;
  for (int64_t i = 0; i < options_.num_gru_layers; ++i) {
    h = gru_stack[static_cast<size_t>(i)]->as<nn::GRUCell>()->forward(h, hidden[static_cast<size_t>(i)]);
    outs.push_back(h);
  }
  return mlp_after_gru.forward(torch::cat(outs, -1));
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
