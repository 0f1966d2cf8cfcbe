#include "df/video/trivial_predictors.h"

#include "df/core/compat.h"
#include "df/core/error.h"

namespace df::video {

const std::vector<TrivialPredictor>& trivial_predictors() {
  static const std::vector<TrivialPredictor> all = {TrivialPredictor::Black, TrivialPredictor::LastFrame,
                                                    TrivialPredictor::MeanFrame};
  return all;
}

std::string column_name(TrivialPredictor predictor) {
  switch (predictor) {
    case TrivialPredictor::Black:
      return "black";
    case TrivialPredictor::LastFrame:
      return "last_frame";
    case TrivialPredictor::MeanFrame:
      return "mean_frame";
  }
  throw Error("unknown trivial predictor");
}

std::string describe(TrivialPredictor predictor) {
  switch (predictor) {
    case TrivialPredictor::Black:
      return "all-black frame";
    case TrivialPredictor::LastFrame:
      return "last context frame repeated";
    case TrivialPredictor::MeanFrame:
      return "mean training frame";
  }
  throw Error("unknown trivial predictor");
}

MeanFrame mean_training_frame(const ClipSource& train, int64_t clips, int64_t n_frames, torch::Generator& generator) {
  check(clips > 0 && n_frames > 0, "mean_training_frame: clips and n_frames must be positive, got " +
                                       std::to_string(clips) + " and " + std::to_string(n_frames));
  torch::Tensor sum;  // [C, H, W] float64: thousands of frames are summed
  for (int64_t i = 0; i < clips; ++i) {
    const auto frames = train.random_clip(n_frames, generator).frames.to(torch::kFloat64).sum(0);
    sum = sum.defined() ? sum + frames : frames;
  }
  const int64_t count = clips * n_frames;
  return {(sum / static_cast<double>(count)).to(torch::kFloat32), count};
}

torch::Tensor trivial_prediction(TrivialPredictor predictor, const torch::Tensor& last_context,
                                 const torch::Tensor& mean_frame, int64_t n) {
  switch (predictor) {
    case TrivialPredictor::Black:
      check(last_context.defined() && last_context.dim() == 4,
            "trivial_prediction: the black frame takes its shape from the last context frames [B, C, H, W]");
      return torch::zeros_like(last_context).unsqueeze(0).expand({n, -1, -1, -1, -1});
    case TrivialPredictor::LastFrame:
      check(last_context.defined() && last_context.dim() == 4,
            "trivial_prediction: the last context frames must be [B, C, H, W], got " +
                (last_context.defined() ? shape_str(last_context) : std::string("none")));
      return last_context.unsqueeze(0).expand({n, -1, -1, -1, -1});
    case TrivialPredictor::MeanFrame:
      check(mean_frame.defined() && mean_frame.dim() == 3,
            "trivial_prediction: the mean training frame must be [C, H, W], got " +
                (mean_frame.defined() ? shape_str(mean_frame) : std::string("none")));
      check(last_context.defined() && last_context.dim() == 4,
            "trivial_prediction: the mean frame takes the batch from the last context frames [B, C, H, W]");
      return mean_frame.to(last_context.options()).unsqueeze(0).unsqueeze(0).expand(
          {n, last_context.size(0), -1, -1, -1});
  }
  throw Error("unknown trivial predictor");
}

FrameErrors score_trivial_predictor(TrivialPredictor predictor, const torch::Tensor& truth,
                                    const torch::Tensor& last_context, const torch::Tensor& mean_frame) {
  check(truth.defined() && truth.dim() == 5,
        "score_trivial_predictor: the truth must be frames [T, B, C, H, W], got " +
            (truth.defined() ? shape_str(truth) : std::string("none")));
  check(last_context.defined() && last_context.sizes() == truth.sizes().slice(1),
        "score_trivial_predictor: the last context frames must be [B, C, H, W] = " + shape_str(truth[0]) + ", got " +
            (last_context.defined() ? shape_str(last_context) : std::string("none")));
  const auto prediction = trivial_prediction(predictor, last_context.to(truth.options()), mean_frame, truth.size(0));
  return compare_frames(prediction.contiguous(), truth);
}

}  // namespace df::video
