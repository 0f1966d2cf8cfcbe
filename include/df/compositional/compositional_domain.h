// The compositional experiment (paper section 4.3, appendix E.2) as a domain of the tools: windows of
// cross-shaped 2-D trajectories; samples are scored with the cross metrics and drawn next to the data.
#pragma once
#include <memory>

#include "df/experiment/domain.h"

namespace df::compositional {

std::unique_ptr<Domain> make_compositional_domain();

}  // namespace df::compositional
