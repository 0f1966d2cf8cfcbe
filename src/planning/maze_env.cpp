#include "df/planning/maze_env.h"
#include "maze_mjcf.h"

#include <mujoco/mujoco.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>
#include <utility>

#include "df/core/error.h"

namespace df::planning {

std::string maze_mjcf_xml(const MazeLayout& layout) {
  // Same elements and attributes as D4RL's point_maze(); textures, materials and the headlight are left
  // out because they only affect rendering. `coordinate="local"` is MuJoCo's default (and the attribute is
  // rejected by newer MuJoCo versions), so it is omitted too.
  std::ostringstream xml;
  xml << "<mujoco model=\"point_maze\">\n"
      << "  <compiler inertiafromgeom=\"true\" angle=\"radian\"/>\n"
      << "  <option timestep=\"0.01\" gravity=\"0 0 0\" iterations=\"20\" integrator=\"Euler\"/>\n"
      << "  <default>\n"
      << "    <joint damping=\"1\" limited=\"false\"/>\n"
      << "    <geom friction=\".5 .1 .1\" density=\"1000\" margin=\"0.002\" condim=\"1\" contype=\"2\""
         " conaffinity=\"1\"/>\n"
      << "  </default>\n"
      << "  <worldbody>\n"
      << "    <geom name=\"ground\" size=\"40 40 0.25\" pos=\"0 0 -0.1\" type=\"plane\" contype=\"1\""
         " conaffinity=\"0\"/>\n"
      << "    <body name=\"particle\" pos=\"1.2 1.2 0\">\n"
      << "      <geom name=\"particle_geom\" type=\"sphere\" size=\"0.1\" rgba=\"0 0 1 0\" contype=\"1\"/>\n"
      << "      <site name=\"particle_site\" pos=\"0 0 0\" size=\"0.2\"/>\n"
      << "      <joint name=\"ball_x\" type=\"slide\" pos=\"0 0 0\" axis=\"1 0 0\"/>\n"
      << "      <joint name=\"ball_y\" type=\"slide\" pos=\"0 0 0\" axis=\"0 1 0\"/>\n"
      << "    </body>\n"
      << "    <site name=\"target_site\" pos=\"0 0 0\" size=\"0.2\"/>\n";
  for (int i = 0; i < layout.rows(); ++i) {
    for (int j = 0; j < layout.cols(); ++j) {
      if (layout.at(i, j) != Tile::kWall) continue;
      xml << "    <geom conaffinity=\"1\" type=\"box\" name=\"wall_" << i << "_" << j << "\" pos=\"" << i + 1.0
          << " " << j + 1.0 << " 0\" size=\"0.5 0.5 0.2\"/>\n";
    }
  }
  xml << "  </worldbody>\n"
      << "  <actuator>\n"
      << "    <motor joint=\"ball_x\" ctrlrange=\"-1 1\" ctrllimited=\"true\" gear=\"100\"/>\n"
      << "    <motor joint=\"ball_y\" ctrlrange=\"-1 1\" ctrllimited=\"true\" gear=\"100\"/>\n"
      << "  </actuator>\n"
      << "</mujoco>\n";
  return xml.str();
}

MazeModel::MazeModel(const MazeLayout& layout) : layout_(layout) {
  const std::string xml = maze_mjcf_xml(layout);
  const char* file_name = "point_maze.xml";
  // mjVFS holds fixed-size name tables (megabytes): keep it off the stack.
  auto vfs = std::make_unique<mjVFS>();
  mj_defaultVFS(vfs.get());
  check(mj_makeEmptyFileVFS(vfs.get(), file_name, static_cast<int>(xml.size())) == 0,
        "MazeModel: could not create the in-memory MJCF file in MuJoCo's VFS");
  const int index = mj_findFileVFS(vfs.get(), file_name);
  std::memcpy(vfs->filedata[index], xml.data(), xml.size());
  char error[1000] = "";
  model_ = mj_loadXML(file_name, vfs.get(), error, sizeof(error));
  mj_deleteVFS(vfs.get());
  check(model_ != nullptr, std::string("MazeModel: MuJoCo rejected the generated MJCF: ") + error);
  check(model_->nq == 2 && model_->nv == 2 && model_->nu == 2,
        "MazeModel: expected nq = nv = nu = 2, got nq=" + std::to_string(model_->nq) +
            " nv=" + std::to_string(model_->nv) + " nu=" + std::to_string(model_->nu));
}

MazeModel::~MazeModel() {
  if (model_ != nullptr) mj_deleteModel(model_);
}

double MazeModel::particle_mass() const { return model_->body_mass[1]; }

MazeEnv::MazeEnv(const MazeEnvSpec& spec, std::uint64_t seed)
    : MazeEnv(std::make_shared<const MazeModel>(MazeLayout::parse(spec.layout_text)), spec.random_goal, seed) {}

MazeEnv::MazeEnv(std::shared_ptr<const MazeModel> model, bool random_goal, std::uint64_t seed)
    : model_(std::move(model)), random_goal_(random_goal), rng_(seed) {
  check(model_ != nullptr, "MazeEnv: null model");
  data_ = mj_makeData(model_->get());
  check(data_ != nullptr, "MazeEnv: mj_makeData failed");
  target_ = goal();
  mj_forward(model_->get(), data_);
}

MazeEnv::~MazeEnv() {
  if (data_ != nullptr) mj_deleteData(data_);
}

MazeEnv::MazeEnv(MazeEnv&& other) noexcept
    : model_(std::move(other.model_)),
      data_(std::exchange(other.data_, nullptr)),
      random_goal_(other.random_goal_),
      target_(other.target_),
      rng_(other.rng_) {}

MazeEnv& MazeEnv::operator=(MazeEnv&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) mj_deleteData(data_);
    model_ = std::move(other.model_);
    data_ = std::exchange(other.data_, nullptr);
    random_goal_ = other.random_goal_;
    target_ = other.target_;
    rng_ = other.rng_;
  }
  return *this;
}

Vec2 MazeEnv::goal() const {
  const Cell g = layout().goal_cell();
  return {static_cast<double>(g.row), static_cast<double>(g.col)};
}

namespace {

// A uniformly drawn start cell plus U(-0.1, 0.1) per coordinate: used by both reset and set_target.
Vec2 jittered_start_cell(const MazeLayout& layout, std::mt19937_64& rng) {
  const std::vector<Cell> cells = layout.start_cells();
  std::uniform_int_distribution<size_t> pick(0, cells.size() - 1);
  const Cell cell = cells[pick(rng)];
  std::uniform_real_distribution<double> jitter(-0.1, 0.1);
  const double dx = jitter(rng);
  const double dy = jitter(rng);
  return {cell.row + dx, cell.col + dy};
}

}  // namespace

Observation MazeEnv::reset() {
  const Vec2 qpos = jittered_start_cell(layout(), rng_);
  std::normal_distribution<double> noise(0.0, 0.1);
  const double vx = noise(rng_);
  const double vy = noise(rng_);
  const Observation obs = reset_to(qpos, {vx, vy});
  if (random_goal_) set_random_target();
  return obs;
}

Observation MazeEnv::reset_to(const Vec2& qpos, const Vec2& qvel) {
  mj_resetData(model_->get(), data_);
  set_state(qpos, qvel);
  return observation();
}

void MazeEnv::set_random_target() { target_ = jittered_start_cell(layout(), rng_); }

void MazeEnv::set_state(const Vec2& qpos, const Vec2& qvel) {
  for (int k = 0; k < 2; ++k) {
    data_->qpos[k] = qpos[static_cast<size_t>(k)];
    data_->qvel[k] = qvel[static_cast<size_t>(k)];
  }
  mj_forward(model_->get(), data_);
}

MazeStep MazeEnv::step(const Vec2& action) {
  for (int k = 0; k < 2; ++k) {
    const double a = action[static_cast<size_t>(k)];
    // NaN actions would poison the simulation silently; treat them as a caller bug.
    check(!std::isnan(a), "MazeEnv::step: action contains NaN");
    data_->ctrl[k] = std::clamp(a, -1.0, 1.0);
    data_->qvel[k] = std::clamp(data_->qvel[k], -PointMassConstants::kMaxSpeed, PointMassConstants::kMaxSpeed);
  }
  mj_step(model_->get(), data_);
  MazeStep result;
  result.observation = observation();
  result.reward = sparse_reward();
  return result;
}

Vec2 MazeEnv::qpos() const { return {data_->qpos[0], data_->qpos[1]}; }
Vec2 MazeEnv::qvel() const { return {data_->qvel[0], data_->qvel[1]}; }

Observation MazeEnv::observation() const { return {data_->qpos[0], data_->qpos[1], data_->qvel[0], data_->qvel[1]}; }

double MazeEnv::sparse_reward() const {
  const double dx = data_->qpos[0] - target_[0];
  const double dy = data_->qpos[1] - target_[1];
  return std::sqrt(dx * dx + dy * dy) <= PointMassConstants::kGoalRadius ? 1.0 : 0.0;
}

BatchedMazeEnv::BatchedMazeEnv(const MazeEnvSpec& spec, const std::vector<std::uint64_t>& seeds) {
  check(!seeds.empty(), "BatchedMazeEnv: need at least one seed");
  auto model = std::make_shared<const MazeModel>(MazeLayout::parse(spec.layout_text));
  envs_.reserve(seeds.size());
  for (std::uint64_t seed : seeds) envs_.emplace_back(model, spec.random_goal, seed);
}

std::vector<double> BatchedMazeEnv::reset() {
  for (auto& env : envs_) env.reset();
  return observations();
}

std::vector<double> BatchedMazeEnv::step(const std::vector<double>& actions, std::vector<double>& rewards) {
  check(actions.size() == 2 * envs_.size(), "BatchedMazeEnv::step: actions must be [" +
                                                 std::to_string(envs_.size()) + ", 2], got " +
                                                 std::to_string(actions.size()) + " values");
  rewards.assign(envs_.size(), 0.0);
  for (size_t n = 0; n < envs_.size(); ++n) {
    rewards[n] = envs_[n].step({actions[2 * n], actions[2 * n + 1]}).reward;
  }
  return observations();
}

std::vector<double> BatchedMazeEnv::observations() const {
  std::vector<double> out;
  out.reserve(4 * envs_.size());
  for (const auto& env : envs_) {
    const Observation o = env.observation();
    out.insert(out.end(), o.begin(), o.end());
  }
  return out;
}

}  // namespace df::planning
