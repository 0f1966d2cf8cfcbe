// Weights to ship (df_export_weights): a training checkpoint reduced to what sampling needs.
//
//   const auto weights = df::inference_weights_checkpoint(df::load_checkpoint("run/checkpoint.pt"), true, true);
//   df::save_checkpoint("weights/df.pt", weights);   // df_sample --checkpoint weights/df.pt
#pragma once
#include "df/training/checkpoint.h"

namespace df {

// The inference weights only -- the EMA weights when the checkpoint has them and `prefer_ema` is set, else the
// training weights -- floating-point tensors in half precision when `half`, no EMA copy and no optimizer
// state; config and step are kept. scalars record what it is: weights_only = 1, weights_ema = 0 / 1,
// weights_half = 0 / 1. df_sample loads it like any checkpoint (load_state_dict converts the tensors to the
// model's precision); the trainer refuses to resume from it (weights_only).
Checkpoint inference_weights_checkpoint(const Checkpoint& checkpoint, bool prefer_ema, bool half);

}  // namespace df
