#include "df/diffusion/scheduling_matrix.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "df/core/compat.h"
#include "df/core/error.h"

namespace df {



SchedulingMatrix::SchedulingMatrix(torch::Tensor entries, int64_t sampling_steps)
    : entries_(entries.to(torch::kCPU, torch::kLong).contiguous()), sampling_steps_(sampling_steps) {
  const std::string where = "scheduling matrix " + shape_str(entries_);
  check(entries_.dim() == 2 && entries_.size(0) >= 2 && entries_.size(1) >= 1,
        where + ": expected [M >= 2, H >= 1] entries");
  check(sampling_steps >= 1, where + ": sampling_steps must be >= 1");
  check(entries_.min().item<int64_t>() >= 0 && entries_.max().item<int64_t>() <= sampling_steps,
        where + ": entries must lie in [0, " + std::to_string(sampling_steps) + "]");
  check((entries_[0] == sampling_steps).all().item<bool>(), where + ": first row must be all S (pure noise)");
  check((entries_[-1] == 0).all().item<bool>(), where + ": last row must be all 0 (clean)");
  const auto increase = entries_.slice(0, 1) > entries_.slice(0, 0, -1);
  check(!increase.any().item<bool>(), where + ": an entry increases from one row to the next (noise would be added)");
}

int64_t SchedulingMatrix::accessor_at(int64_t row, int64_t token) const {
  return entries_.accessor<int64_t, 2>()[row][token];
}

SchedulingMatrix SchedulingMatrix::full_sequence(int64_t horizon, int64_t S) {
  const auto column = torch::arange(S, -1, -1, torch::kLong).unsqueeze(1);
  return SchedulingMatrix(column.expand({S + 1, horizon}).contiguous(), S);
}

namespace {
// K[m,t] = clip(S + lag[t] - m, 0, S) with M = S + max(lag) + 1 rows.
torch::Tensor lagged(const std::vector<int64_t>& lags, int64_t S) {
  const int64_t max_lag = *std::max_element(lags.begin(), lags.end());
  const auto m = torch::arange(S + max_lag + 1, torch::kLong).unsqueeze(1);
  const auto lag = torch::tensor(lags, torch::kLong).unsqueeze(0);
  return (S + lag - m).clamp(0, S);
}
}  // namespace

SchedulingMatrix SchedulingMatrix::pyramid(int64_t horizon, int64_t S, double u) {
  check(u >= 0, "pyramid: uncertainty_scale must be >= 0");
  std::vector<int64_t> lags;
  for (int64_t t = 0; t < horizon; ++t) lags.push_back(static_cast<int64_t>(std::floor(static_cast<double>(t) * u)));
  return SchedulingMatrix(lagged(lags, S), S);
}

SchedulingMatrix SchedulingMatrix::autoregressive(int64_t horizon, int64_t S) {
  return pyramid(horizon, S, static_cast<double>(S));
}

SchedulingMatrix SchedulingMatrix::trapezoid(int64_t horizon, int64_t S, double u) {
  check(u >= 0, "trapezoid: uncertainty_scale must be >= 0");
  std::vector<int64_t> lags;
  for (int64_t t = 0; t < horizon; ++t)
    lags.push_back(static_cast<int64_t>(std::floor(static_cast<double>(std::min(t, horizon - 1 - t)) * u)));
  return SchedulingMatrix(lagged(lags, S), S);
}

SchedulingMatrix SchedulingMatrix::make(ScheduleMatrixKind kind, int64_t horizon, int64_t S, double u) {
  check(horizon >= 1, "scheduling matrix: horizon must be >= 1, got " + std::to_string(horizon));
  switch (kind) {
    case ScheduleMatrixKind::Autoregressive: return autoregressive(horizon, S);
    case ScheduleMatrixKind::FullSequence: return full_sequence(horizon, S);
    case ScheduleMatrixKind::Pyramid: return pyramid(horizon, S, u);
    case ScheduleMatrixKind::Trapezoid: return trapezoid(horizon, S, u);
  }
  throw Error("scheduling matrix: unknown kind");
}

std::string SchedulingMatrix::to_string() const {
  std::ostringstream out;
  out << "scheduling matrix [" << rows() << " rows x " << horizon() << " tokens], S = " << sampling_steps_ << "\n";
  const int width = static_cast<int>(std::to_string(sampling_steps_).size()) + 1;
  for (int64_t m = 0; m < rows(); ++m) {
    for (int64_t t = 0; t < horizon(); ++t) {
      const auto s = std::to_string(at(m, t));
      out << std::string(static_cast<size_t>(width) - s.size(), ' ') << s;
    }
    out << "\n";
  }
  return out.str();
}

}  // namespace df
