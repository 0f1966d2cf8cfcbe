// Probabilistic forecasting (paper appendix D.9 / E.1) as a domain of the tools (experiment.domain:
// timeseries): the `timeseries` config section, training windows, validation CRPS_sum.
#pragma once
#include <memory>

#include "df/experiment/domain.h"

namespace df::timeseries {

std::unique_ptr<Domain> make_timeseries_domain();

}  // namespace df::timeseries
