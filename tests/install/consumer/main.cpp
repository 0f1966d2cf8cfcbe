// Trains a tiny Diffusion Forcing model for a few steps and samples with a pyramid schedule, using only
// the installed public headers. Prints "consumer ok" with the loss trend.
#include <df/models/resmlp_gru.h>
#include <df/sampling/sampler.h>
#include <df/training/trainer.h>

#include <iostream>

class Ramp : public df::SequenceDataset {
 public:
  df::SequenceBatch sample(int64_t batch, torch::Generator& gen) override {
    const auto start = torch::rand({1, batch, 1}, gen);
    df::SequenceBatch b;
    b.x = start + 0.1 * torch::arange(8, torch::kFloat).view({8, 1, 1});  // [8, B, 1]
    return b;
  }
  std::vector<int64_t> token_shape() const override { return {1}; }
  int64_t num_tokens() const override { return 8; }
};

int main() {
  df::ResMlpGruOptions o;
  o.x_dim = 1;
  o.z_dim = 16;
  o.network_size = 4;
  o.num_mlp_layers = 2;
  df::DiffusionOptions d;
  d.sampling_steps = 5;
  df::DiffusionForcingModel model(std::make_shared<df::ResMlpGruDenoiser>(o), d, torch::kCPU);
  Ramp data;
  df::TrainerOptions t;
  t.steps = 20;
  t.batch_size = 16;
  t.optimizer.lr = 1e-3;
  t.log_every = 0;
  const auto summary = df::Trainer(model, data, t).run();
  df::Sampler sampler(model, df::SamplerOptions{});
  const auto x = sampler.sample_chunk(model.denoiser().initial_latent(4, {}), df::SchedulingMatrix::pyramid(8, 5)).x;
  if (x.sizes() != torch::IntArrayRef({8, 4, 1}) || !torch::isfinite(x).all().item<bool>()) return 1;
  std::cout << "consumer ok: loss " << summary.losses.front() << " -> " << summary.losses.back() << "\n";
  return 0;
}
