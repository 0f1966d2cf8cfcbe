// The MJCF XML of a maze layout, private to the planning library (D4RL's maze_model.py, restated).
#pragma once
#include <string>

#include "df/planning/maze_layout.h"

namespace df::planning {

// No textures or lights: nothing here renders; the physics is D4RL's.
std::string maze_mjcf_xml(const MazeLayout& layout);

}  // namespace df::planning
