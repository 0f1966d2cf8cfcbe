// Probabilistic forecasts drawn as in the paper's Figure 6: per series the history and the truth (black),
// the 50% and 90% intervals of the sampled forecasts (blue bands) and their median (dark blue).
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

namespace df::plot {

struct ForecastPanel {
  std::string title;
  torch::Tensor history;  // [H] values before the forecast (NaN = missing, drawn as gaps)
  torch::Tensor truth;    // [P] the true continuation
  torch::Tensor samples;  // [S, P] sampled forecasts
};

// Panels in a grid of two columns under `title`, written as a PNG. Throws df::Error without OpenCV.
void write_forecast_panels(const std::string& path, const std::vector<ForecastPanel>& panels,
                           const std::string& title);

}  // namespace df::plot
