// Scheduling matrices (Algorithm 2): an integer tensor [M, H] of DDIM grid entries in [0, S] (S = pure
// noise, 0 = clean), walked top to bottom; row m -> m+1 moves token t from entry K[m,t] to K[m+1,t].
// Every matrix starts with a row of S and ends with a row of 0, and no entry ever increases.
#pragma once
#include <torch/torch.h>

#include <string>

#include "df/core/enum_names.h"

namespace df {

enum class ScheduleMatrixKind { Autoregressive, FullSequence, Pyramid, Trapezoid };
template <>
struct EnumNames<ScheduleMatrixKind> {
  static constexpr const char* what = "scheduling matrix";
  static constexpr EnumName<ScheduleMatrixKind> table[] = {{ScheduleMatrixKind::Autoregressive, "autoregressive"},
                                                           {ScheduleMatrixKind::FullSequence, "full_sequence"},
                                                           {ScheduleMatrixKind::Pyramid, "pyramid"},
                                                           {ScheduleMatrixKind::Trapezoid, "trapezoid"}};
};

class SchedulingMatrix {
 public:
  SchedulingMatrix() = default;
  // Validates: 2-D int64, entries in [0, S], first row all S, last row all 0, non-increasing down columns.
  SchedulingMatrix(torch::Tensor entries, int64_t sampling_steps);

  // full_sequence: rows S, S-1, ..., 0 shared by all H tokens (S+1 rows).
  static SchedulingMatrix full_sequence(int64_t horizon, int64_t sampling_steps);
  // pyramid: K[m,t] = clip(S + floor(t*u) - m, 0, S), S + floor((H-1)u) + 1 rows; token t lags token 0
  // by floor(t*u) rows (u = uncertainty scale; the far future stays noisier).
  static SchedulingMatrix pyramid(int64_t horizon, int64_t sampling_steps, double uncertainty_scale = 1.0);
  // autoregressive: pyramid with u = S, each token starts when the previous one is clean.
  static SchedulingMatrix autoregressive(int64_t horizon, int64_t sampling_steps);
  // trapezoid: both ends of the chunk first, the middle last: lag floor(min(t, H-1-t) * u). (The v1.5
  // reference code leaves one middle column at 0 for even H; this version is symmetric instead.)
  static SchedulingMatrix trapezoid(int64_t horizon, int64_t sampling_steps, double uncertainty_scale = 1.0);
  static SchedulingMatrix make(ScheduleMatrixKind kind, int64_t horizon, int64_t sampling_steps,
                               double uncertainty_scale = 1.0);

  int64_t rows() const { return entries_.size(0); }
  int64_t horizon() const { return entries_.size(1); }
  int64_t sampling_steps() const { return sampling_steps_; }
  int64_t at(int64_t row, int64_t token) const { return accessor_at(row, token); }
  const torch::Tensor& entries() const { return entries_; }  // [M, H] int64, CPU

  std::string to_string() const;  // one line per row, for users to print

 private:
  int64_t accessor_at(int64_t row, int64_t token) const;
  torch::Tensor entries_;
  int64_t sampling_steps_ = 0;
};

}  // namespace df
