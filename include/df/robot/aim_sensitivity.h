// What a trained state policy reads when it aims (docs/results/robot.md, "what the network reads"): a
// policy whose grasps go to a slot's centre whatever the fruit's place in the slot either does not carry the
// fruit's position in its latent or does not map it to the actions. This measures both, on the network
// alone (no sampler, no simulator), from held-out demonstration tokens.
//
// Approach tokens: token j after which the expert's next chunk (token j+1's actions) ends within 1.5 cm (xy)
// of a fruit resting where token j shows it, having started more than 4 cm from it. At each one, the
// network's x0 prediction of token j+1 from pure noise at `level`, conditioned as the policy conditions it
// (PolicyMemory::Full: tokens 0..j clean; Memoryless: token j alone), is differentiated with respect to
// that history (every history token at once, i.e. summed over the tokens):
//   aim               d(x of the chunk's last action) / d(x of the approached fruit)          the expert: 1
//   hand              d(x of the chunk's last action) / d(hand x)
//   previous_actions  d(x of the chunk's last action) / d(x of every action in the history's action stacks)
//   readout           d(predicted x of that fruit in token j+1's state) / d(its x)    the fruit rests: 1
//   self              d(x0 of token j's own fruit x, absorbed at level 0) / d(its x)     a clean token: 1
// averaged over the approach tokens. State x and action x share one normalisation (the workspace box), so
// these are metres per metre. With slot offsets (robot.slot_offsets), "d / d(fruit x)" moves the fruit: its x
// entry and its offset entry together (StateTokenLayout::fruit_x_direction). An aim near 0 with a readout
// near 1 says the latent knows where the fruit is but the actions do not follow it; a readout near 0 says the
// latent does not keep the position at all, and a self readout near 0 that the network does not even
// reproduce the clean token it has just absorbed.
//
//   auto rows = aim_sensitivity(model, layout, held_out_tokens, PolicyMemory::Full, {999, 500});
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "df/models/diffusion_forcing_model.h"
#include "df/robot/policy.h"
#include "df/robot/state_tokens.h"

namespace df::robot {

struct AimSensitivity {
  int64_t level = 0;            // the predicted token's noise level
  int64_t approach_tokens = 0;  // (token, demonstration, fruit) triples averaged over
  double aim = 0, hand = 0, previous_actions = 0, readout = 0, self_readout = 0;
};

// Approach tokens of state tokens [T, N, dim] (layout's): [T - 1, N, 2] bool, entry (j, n, f) for token j of
// demonstration n and fruit f (0 apple, 1 orange).
torch::Tensor approach_tokens(const StateTokenLayout& layout, const torch::Tensor& tokens);

// One row per level; tokens [T, N, dim] are clean demonstration tokens (e.g. the held-out ones), the noise
// of the predicted token is drawn from `seed`. Errors name the shape when tokens do not match the layout
// or the model.
std::vector<AimSensitivity> aim_sensitivity(DiffusionForcingModel& model, const StateTokenLayout& layout,
                                            const torch::Tensor& tokens, PolicyMemory memory,
                                            const std::vector<int64_t>& levels, uint64_t seed = 0);

// level,approach_tokens,aim,hand,previous_actions,readout,self_readout (atomically replaced).
void write_aim_sensitivity_csv(const std::string& path, const std::vector<AimSensitivity>& rows);

}  // namespace df::robot
