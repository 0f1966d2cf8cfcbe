#include "df/robot/env.h"

#include <mujoco/mujoco.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>

#include "df/core/error.h"

namespace df::robot {
namespace {

// MuJoCo 3 moved the equality activation flags from the model into mjData.
mjtByte& eq_active(mjModel* m, mjData* d, int id) {
#if mjVERSION_HEADER >= 300
  (void)m;
  return d->eq_active[id];
#else
  (void)d;
  return m->eq_active[id];
#endif
}

int require_id(const mjModel* m, mjtObj type, const char* name) {
  const int id = mj_name2id(m, type, name);
  check(id >= 0, std::string("SwapModel: the generated MJCF lacks \"") + name + "\"");
  return id;
}

constexpr size_t index(Fruit f) { return static_cast<size_t>(f); }
constexpr Fruit kFruits[] = {Fruit::Apple, Fruit::Orange};

}  // namespace

SwapModel::SwapModel(const SceneSpec& spec) : spec_(spec) {
  const std::string xml = swap_scene_mjcf(spec);
  const char* file_name = "fruit_swap.xml";
  auto vfs = std::make_unique<mjVFS>();  // megabytes of name tables: not on the stack
  mj_defaultVFS(vfs.get());
  check(mj_makeEmptyFileVFS(vfs.get(), file_name, static_cast<int>(xml.size())) == 0,
        "SwapModel: could not create the in-memory MJCF file in MuJoCo's VFS");
  std::memcpy(vfs->filedata[mj_findFileVFS(vfs.get(), file_name)], xml.data(), xml.size());
  char error[1000] = "";
  model_ = mj_loadXML(file_name, vfs.get(), error, sizeof(error));
  mj_deleteVFS(vfs.get());
  check(model_ != nullptr, std::string("SwapModel: MuJoCo rejected the generated MJCF: ") + error);
  ids_.hand_body = require_id(model_, mjOBJ_BODY, "hand");
  ids_.hand_mocap = model_->body_mocapid[ids_.hand_body];
  ids_.distractor_mocap = model_->body_mocapid[require_id(model_, mjOBJ_BODY, "distractor")];
  const char* bodies[] = {"apple", "orange"};
  const char* welds[] = {"hold_apple", "hold_orange"};
  for (size_t f = 0; f < 2; ++f) {
    ids_.fruit_body[f] = require_id(model_, mjOBJ_BODY, bodies[f]);
    const int joint = model_->body_jntadr[ids_.fruit_body[f]];
    ids_.fruit_qpos[f] = model_->jnt_qposadr[joint];
    ids_.fruit_qvel[f] = model_->jnt_dofadr[joint];
    ids_.weld[f] = require_id(model_, mjOBJ_EQUALITY, welds[f]);
  }
  ids_.finger_actuator = {require_id(model_, mjOBJ_ACTUATOR, "finger_left"),
                          require_id(model_, mjOBJ_ACTUATOR, "finger_right")};
  for (size_t k = 0; k < 2; ++k)
    ids_.finger_qpos[k] = model_->jnt_qposadr[require_id(model_, mjOBJ_JOINT, k == 0 ? "finger_left" : "finger_right")];
  ids_.camera = {require_id(model_, mjOBJ_CAMERA, "overview"), require_id(model_, mjOBJ_CAMERA, "hand_camera")};
}

SwapModel::~SwapModel() {
  if (model_ != nullptr) mj_deleteModel(model_);
}

SwapEnv::SwapEnv(std::shared_ptr<const SwapModel> model, uint64_t seed) : prototype_(std::move(model)), rng_(seed) {
  check(prototype_ != nullptr, "SwapEnv: null model");
  model_ = mj_copyModel(nullptr, prototype_->get());
  data_ = mj_makeData(model_);
  check(model_ != nullptr && data_ != nullptr, "SwapEnv: could not allocate the MuJoCo model / data");
  reset_to(StartState{});
}

SwapEnv::~SwapEnv() {
  if (data_ != nullptr) mj_deleteData(data_);
  if (model_ != nullptr) mj_deleteModel(model_);
}

SwapEnv::SwapEnv(SwapEnv&& o) noexcept
    : prototype_(std::move(o.prototype_)),
      model_(std::exchange(o.model_, nullptr)),
      data_(std::exchange(o.data_, nullptr)),
      start_(o.start_),
      gripper_(o.gripper_),
      held_(o.held_),
      steps_(o.steps_),
      rng_(o.rng_) {}

SwapEnv& SwapEnv::operator=(SwapEnv&& o) noexcept {
  if (this != &o) {
    if (data_ != nullptr) mj_deleteData(data_);
    if (model_ != nullptr) mj_deleteModel(model_);
    prototype_ = std::move(o.prototype_);
    model_ = std::exchange(o.model_, nullptr);
    data_ = std::exchange(o.data_, nullptr);
    start_ = o.start_;
    gripper_ = o.gripper_;
    held_ = o.held_;
    steps_ = o.steps_;
    rng_ = o.rng_;
  }
  return *this;
}

void SwapEnv::reset() {
  StartState s;
  s.apple_slot = std::bernoulli_distribution(0.5)(rng_) ? Slot::B : Slot::A;
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (auto& offset : s.offsets) {
    // uniform in a disc: radius ~ sqrt(U)
    const double r = spec().fruit_jitter * std::sqrt(u(rng_)), angle = 2.0 * M_PI * u(rng_);
    offset = {r * std::cos(angle), r * std::sin(angle)};
  }
  reset_to(s);
}

void SwapEnv::reset_to(const StartState& start) {
  check(start.apple_slot != Slot::C, "SwapEnv::reset_to: the apple starts in A or B, not C");
  start_ = start;
  const auto& ids = prototype_->ids();
  mj_resetData(model_, data_);
  for (Fruit f : kFruits) {
    const Vec2& centre = spec().slot(start_slot(f));
    const Vec2& offset = start.offsets[index(f)];
    mjtNum* q = data_->qpos + ids.fruit_qpos[index(f)];
    q[0] = centre[0] + offset[0];
    q[1] = centre[1] + offset[1];
    q[2] = spec().fruit_radius(f);
    q[3] = 1, q[4] = q[5] = q[6] = 0;
    eq_active(model_, data_, ids.weld[index(f)]) = 0;
  }
  for (int k = 0; k < 3; ++k) data_->mocap_pos[3 * ids.hand_mocap + k] = spec().home[static_cast<size_t>(k)];
  gripper_ = Gripper::Open;
  held_.reset();
  steps_ = 0;
  for (int a : ids.finger_actuator) data_->ctrl[a] = 0;
  hide_distractor();
  mj_forward(model_, data_);
}

Slot SwapEnv::start_slot(Fruit f) const {
  const Slot other = start_.apple_slot == Slot::A ? Slot::B : Slot::A;
  return f == Fruit::Apple ? start_.apple_slot : other;
}

Vec3 SwapEnv::hand() const {
  const mjtNum* p = data_->mocap_pos + 3 * prototype_->ids().hand_mocap;
  return {p[0], p[1], p[2]};
}

Vec3 SwapEnv::fruit(Fruit f) const {
  const mjtNum* q = data_->qpos + prototype_->ids().fruit_qpos[index(f)];
  return {q[0], q[1], q[2]};
}

double SwapEnv::gripper_closure() const {
  const auto& q = prototype_->ids().finger_qpos;
  return 0.5 * (data_->qpos[q[0]] + data_->qpos[q[1]]);
}

std::optional<Slot> SwapEnv::resting_slot(Fruit f) const {
  if (held_ == f) return std::nullopt;
  const Vec3 p = fruit(f);
  const mjtNum* v = data_->qvel + prototype_->ids().fruit_qvel[index(f)];
  if (std::abs(p[2] - spec().fruit_radius(f)) > 0.01 || std::sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]) > 0.05)
    return std::nullopt;
  for (Slot s : {Slot::A, Slot::B, Slot::C}) {
    const Vec2& c = spec().slot(s);
    if (std::hypot(p[0] - c[0], p[1] - c[1]) <= spec().slot_radius) return s;
  }
  return std::nullopt;
}

bool SwapEnv::success() const {
  return !held_ && resting_slot(Fruit::Apple) == start_slot(Fruit::Orange) &&
         resting_slot(Fruit::Orange) == start_slot(Fruit::Apple);
}

void SwapEnv::release() {
  if (held_) eq_active(model_, data_, prototype_->ids().weld[index(*held_)]) = 0;
  held_.reset();
}

void SwapEnv::set_grasp(bool close) {
  const auto& ids = prototype_->ids();
  if (close && gripper_ == Gripper::Open) {
    const Vec3 h = hand();
    std::optional<Fruit> best;
    double best_distance = 1e9;
    for (Fruit f : kFruits) {
      const Vec3 p = fruit(f);
      const double dxy = std::hypot(p[0] - h[0], p[1] - h[1]), dz = std::abs(p[2] - h[2]);
      if (dxy <= spec().grasp_tolerance_xy && dz <= spec().grasp_tolerance_z && dxy + dz < best_distance) {
        best = f;
        best_distance = dxy + dz;
      }
    }
    if (best) {
      // Weld at the current relative pose (2.2+ layout: anchor in body2, relative position and quaternion
      // of body2 in body1's frame, torque scale). The hand is a mocap body without rotation.
      const int eq = ids.weld[index(*best)];
      mjtNum* w = model_->eq_data + mjNEQDATA * eq;
      const mjtNum* q = data_->qpos + ids.fruit_qpos[index(*best)];
      w[0] = w[1] = w[2] = 0;
      for (int k = 0; k < 3; ++k) w[3 + k] = q[k] - h[static_cast<size_t>(k)];
      for (int k = 0; k < 4; ++k) w[6 + k] = q[3 + k];
      w[10] = 1;
      eq_active(model_, data_, eq) = 1;
      held_ = best;
      gripper_ = Gripper::Holding;
    } else {
      gripper_ = Gripper::ClosedEmpty;
    }
  } else if (!close && gripper_ != Gripper::Open) {
    release();
    gripper_ = Gripper::Open;
  }
  // Fingers: open, closed on the held fruit, or closed empty (a picture of the gripper state).
  double closing = 0.0;
  if (gripper_ == Gripper::Holding) closing = 0.041 - spec().fruit_radius(*held_);
  if (gripper_ == Gripper::ClosedEmpty) closing = 0.036;
  for (int a : ids.finger_actuator) data_->ctrl[a] = closing;
}

void SwapEnv::step(const Action& action) {
  for (double a : action) check(!std::isnan(a), "SwapEnv::step: the action contains NaN");
  const auto& s = spec();
  Vec3 target;
  for (size_t k = 0; k < 3; ++k) target[k] = std::clamp(action[k], s.workspace_min[k], s.workspace_max[k]);
  set_grasp(action[3] > 0.5);
  const Vec3 start = hand();
  Vec3 move{target[0] - start[0], target[1] - start[1], target[2] - start[2]};
  const double length = std::sqrt(move[0] * move[0] + move[1] * move[1] + move[2] * move[2]);
  const double limit = s.max_speed * s.control_dt;
  if (length > limit)
    for (double& m : move) m *= limit / length;
  mjtNum* mocap = data_->mocap_pos + 3 * prototype_->ids().hand_mocap;
  for (int i = 1; i <= s.substeps; ++i) {
    const double t = static_cast<double>(i) / s.substeps;
    for (size_t k = 0; k < 3; ++k) mocap[k] = start[k] + t * move[k];
    mj_step(model_, data_);
  }
  mj_forward(model_, data_);  // positions consistent with qpos for the cameras and the checks
  ++steps_;
}

void SwapEnv::place_fruit(Fruit f, const Vec2& xy) {
  if (held_ == f) {
    release();
    gripper_ = Gripper::ClosedEmpty;  // closed on nothing until it opens
  }
  const auto& ids = prototype_->ids();
  mjtNum* q = data_->qpos + ids.fruit_qpos[index(f)];
  q[0] = xy[0], q[1] = xy[1], q[2] = spec().fruit_radius(f);
  q[3] = 1, q[4] = q[5] = q[6] = 0;
  mju_zero(data_->qvel + ids.fruit_qvel[index(f)], 6);
  mj_forward(model_, data_);
}

void SwapEnv::show_distractor(const Vec2& xy, double yaw) {
  const int m = prototype_->ids().distractor_mocap;
  data_->mocap_pos[3 * m + 0] = xy[0];
  data_->mocap_pos[3 * m + 1] = xy[1];
  data_->mocap_pos[3 * m + 2] = 0.018;
  data_->mocap_quat[4 * m + 0] = std::cos(yaw / 2);
  data_->mocap_quat[4 * m + 1] = data_->mocap_quat[4 * m + 2] = 0;
  data_->mocap_quat[4 * m + 3] = std::sin(yaw / 2);
  mj_forward(model_, data_);
}

void SwapEnv::hide_distractor() {
  const int m = prototype_->ids().distractor_mocap;
  data_->mocap_pos[3 * m + 0] = data_->mocap_pos[3 * m + 1] = 0;
  data_->mocap_pos[3 * m + 2] = -0.3;
  mj_forward(model_, data_);
}

BatchedSwapEnv::BatchedSwapEnv(const std::vector<uint64_t>& seeds, const SceneSpec& spec)
    : model_(std::make_shared<const SwapModel>(spec)) {
  check(!seeds.empty(), "BatchedSwapEnv: need at least one seed");
  envs_.reserve(seeds.size());
  for (uint64_t seed : seeds) envs_.emplace_back(model_, seed);
}

void BatchedSwapEnv::reset() {
  for (auto& e : envs_) e.reset();
}

void BatchedSwapEnv::step(const std::vector<Action>& actions, const std::vector<bool>& active) {
  check(actions.size() == envs_.size(), "BatchedSwapEnv::step: " + std::to_string(actions.size()) + " actions for " +
                                            std::to_string(envs_.size()) + " envs");
  check(active.empty() || active.size() == envs_.size(), "BatchedSwapEnv::step: active mask of the wrong size");
  for (size_t i = 0; i < envs_.size(); ++i)
    if (active.empty() || active[i]) envs_[i].step(actions[i]);
}

}  // namespace df::robot
