// Reading and writing D4RL Maze2D HDF5 files with the published key names, so that a user's real
// maze2d-*.hdf5 loads and a generated file is readable by d4rl / h5py.
#pragma once
#include <string>

#include "df/planning/d4rl_dataset.h"

namespace df::planning {

// Writes observations, actions, rewards, terminals, timeouts and infos/{goal,qpos,qvel} (the last four only
// when present). Floats are float32, terminals/timeouts h5py-style booleans; gzip when available.
void write_d4rl_hdf5(const D4rlDataset& dataset, const std::string& path, bool compress = true);

// Reads a D4RL Maze2D file. observations, actions, rewards and terminals are required; timeouts and
// infos/* are optional (locally regenerated files lack timeouts). Errors name the file, the key and the
// shape found.
D4rlDataset read_d4rl_hdf5(const std::string& path);

}  // namespace df::planning
