// The two cameras of the robot task (appendix F.3: one overview of the three slots, one on the hand),
// rendered headless by MuJoCo's own renderer on an off-screen OpenGL context from EGL: Mesa's
// surfaceless platform (software llvmpipe, no display or GPU needed), else an EGL device (e.g. NVIDIA).
// No shadows, reflections or skybox: they add nothing at 32x32 and cost most of the software render time.
//
//   df::robot::SceneRenderer renderer(env.swap_model());
//   auto pictures = renderer.observe(env, 32);   // [2, 32, 32, 3] uint8, overview then hand
#pragma once
#include <torch/torch.h>

#include <memory>

#include "df/robot/env.h"

namespace df::robot {

class SceneRenderer {
 public:
  // Creates the EGL context and MuJoCo's render context for the scene; throws df::Error naming what is
  // missing when no EGL display or OpenGL context can be made.
  explicit SceneRenderer(const SwapModel& model);
  ~SceneRenderer();
  SceneRenderer(const SceneRenderer&) = delete;
  SceneRenderer& operator=(const SceneRenderer&) = delete;

  // RGB picture [R, R, 3] uint8 of one camera, row 0 at the top; R <= SceneSpec::render_buffer.
  torch::Tensor render(const SwapEnv& env, Camera camera, int resolution);
  // Both cameras [2, R, R, 3] uint8: overview, hand.
  torch::Tensor observe(const SwapEnv& env, int resolution);

  // "EGL 1.5 (Mesa Project), OpenGL 4.5 (compatibility) llvmpipe ..." for logs and docs.
  std::string describe() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace df::robot
