#include "df/robot/cameras.h"

#include <EGL/egl.h>
#include <EGL/eglext.h>
#include <mujoco/mujoco.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "df/core/error.h"

namespace df::robot {
namespace {

// GL_VENDOR / GL_RENDERER / GL_VERSION without including GL headers (MuJoCo loads GL itself).
using GetString = const unsigned char* (*)(unsigned int);
constexpr unsigned int kGlVendor = 0x1F00, kGlRenderer = 0x1F01, kGlVersion = 0x1F02;

std::string egl_error(const char* what) {
  char code[16];
  std::snprintf(code, sizeof(code), "0x%04X", static_cast<unsigned>(eglGetError()));
  return std::string(what) + " failed (EGL error " + code + ")";
}

// The display: Mesa's surfaceless platform, else the first EGL device, else the default display.
EGLDisplay open_display(std::string& tried) {
  auto get_platform_display =
      reinterpret_cast<PFNEGLGETPLATFORMDISPLAYEXTPROC>(eglGetProcAddress("eglGetPlatformDisplayEXT"));
  if (get_platform_display != nullptr) {
    EGLDisplay d = get_platform_display(EGL_PLATFORM_SURFACELESS_MESA, EGL_DEFAULT_DISPLAY, nullptr);
    EGLint major = 0, minor = 0;
    if (d != EGL_NO_DISPLAY && eglInitialize(d, &major, &minor)) return d;
    tried += "surfaceless (Mesa): " + egl_error("eglInitialize") + "; ";
    auto query_devices = reinterpret_cast<PFNEGLQUERYDEVICESEXTPROC>(eglGetProcAddress("eglQueryDevicesEXT"));
    EGLDeviceEXT devices[8];
    EGLint count = 0;
    if (query_devices != nullptr && query_devices(8, devices, &count) && count > 0) {
      for (EGLint i = 0; i < count; ++i) {
        d = get_platform_display(EGL_PLATFORM_DEVICE_EXT, devices[i], nullptr);
        if (d != EGL_NO_DISPLAY && eglInitialize(d, &major, &minor)) return d;
      }
      tried += std::to_string(count) + " EGL device(s): " + egl_error("eglInitialize") + "; ";
    }
  }
  EGLDisplay d = eglGetDisplay(EGL_DEFAULT_DISPLAY);
  EGLint major = 0, minor = 0;
  if (d != EGL_NO_DISPLAY && eglInitialize(d, &major, &minor)) return d;
  tried += "default display: " + egl_error("eglInitialize");
  return EGL_NO_DISPLAY;
}

}  // namespace

struct SceneRenderer::Impl {
  EGLDisplay display = EGL_NO_DISPLAY;
  EGLContext context = EGL_NO_CONTEXT;
  mjvScene scene;
  mjvOption option;
  mjrContext render_context;
  bool scene_made = false, context_made = false;
  int buffer = 0;
  std::array<int, 2> camera_ids{};
  std::vector<unsigned char> pixels;
  std::string description;

  void make_current() const {
    if (eglGetCurrentContext() != context)
      check(eglMakeCurrent(display, EGL_NO_SURFACE, EGL_NO_SURFACE, context) == EGL_TRUE,
            "SceneRenderer: " + egl_error("eglMakeCurrent"));
  }
};

SceneRenderer::SceneRenderer(const SwapModel& model) : impl_(std::make_unique<Impl>()) {
  auto& r = *impl_;
  std::string tried;
  r.display = open_display(tried);
  check(r.display != EGL_NO_DISPLAY,
        "SceneRenderer: no EGL display for off-screen rendering (" + tried +
            "); on Debian install libegl1 libegl-mesa0 libgl1-mesa-dri (software rendering needs no GPU)");
  const EGLint config_attributes[] = {EGL_SURFACE_TYPE,
                                      EGL_PBUFFER_BIT,
                                      EGL_RENDERABLE_TYPE,
                                      EGL_OPENGL_BIT,
                                      EGL_RED_SIZE,
                                      8,
                                      EGL_GREEN_SIZE,
                                      8,
                                      EGL_BLUE_SIZE,
                                      8,
                                      EGL_DEPTH_SIZE,
                                      24,
                                      EGL_NONE};
  EGLConfig config = nullptr;
  EGLint configs = 0;
  if (!eglChooseConfig(r.display, config_attributes, &config, 1, &configs) || configs == 0) {
    const EGLint any_gl[] = {EGL_RENDERABLE_TYPE, EGL_OPENGL_BIT, EGL_NONE};  // surfaceless: no pbuffer needed
    check(eglChooseConfig(r.display, any_gl, &config, 1, &configs) && configs > 0,
          "SceneRenderer: " + egl_error("eglChooseConfig (desktop OpenGL)"));
  }
  check(eglBindAPI(EGL_OPENGL_API) == EGL_TRUE, "SceneRenderer: " + egl_error("eglBindAPI(OpenGL)"));
  r.context = eglCreateContext(r.display, config, EGL_NO_CONTEXT, nullptr);
  check(r.context != EGL_NO_CONTEXT, "SceneRenderer: " + egl_error("eglCreateContext"));
  r.make_current();

  const mjModel* m = model.get();
  mjv_defaultScene(&r.scene);
  mjv_defaultOption(&r.option);
  mjr_defaultContext(&r.render_context);
  mjv_makeScene(m, &r.scene, 200);
  r.scene_made = true;
  for (int flag : {mjRND_SHADOW, mjRND_REFLECTION, mjRND_SKYBOX}) r.scene.flags[flag] = 0;
  mjr_makeContext(m, &r.render_context, mjFONTSCALE_100);
  r.context_made = true;
  check(r.render_context.offFBO != 0, "SceneRenderer: MuJoCo could not create its off-screen framebuffer");
  mjr_setBuffer(mjFB_OFFSCREEN, &r.render_context);
  r.buffer = std::min(r.render_context.offWidth, r.render_context.offHeight);
  r.camera_ids = model.ids().camera;

  auto get_string = reinterpret_cast<GetString>(eglGetProcAddress("glGetString"));
  auto gl = [&](unsigned int what) {
    const unsigned char* s = get_string != nullptr ? get_string(what) : nullptr;
    return s != nullptr ? std::string(reinterpret_cast<const char*>(s)) : std::string("?");
  };
  r.description = std::string("EGL ") + eglQueryString(r.display, EGL_VERSION) + " (" +
                  eglQueryString(r.display, EGL_VENDOR) + "), OpenGL " + gl(kGlVersion) + ", " + gl(kGlVendor) + " " +
                  gl(kGlRenderer);
}

SceneRenderer::~SceneRenderer() {
  auto& r = *impl_;
  if (r.context != EGL_NO_CONTEXT) {
    r.make_current();
    if (r.context_made) mjr_freeContext(&r.render_context);
    eglMakeCurrent(r.display, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
    eglDestroyContext(r.display, r.context);
  }
  if (r.scene_made) mjv_freeScene(&r.scene);
  // The display stays initialised: other renderers of the process may share it (EGL counts no references).
}

std::string SceneRenderer::describe() const { return impl_->description; }

torch::Tensor SceneRenderer::render(const SwapEnv& env, Camera camera, int resolution) {
  auto& r = *impl_;
  check(resolution >= 1 && resolution <= r.buffer, "SceneRenderer: resolution " + std::to_string(resolution) +
                                                       " outside [1, " + std::to_string(r.buffer) +
                                                       "] (SceneSpec::render_buffer)");
  r.make_current();
  mjvCamera cam;
  mjv_defaultCamera(&cam);
  cam.type = mjCAMERA_FIXED;
  cam.fixedcamid = r.camera_ids[static_cast<size_t>(camera)];
  // mjv_updateScene takes non-const pointers but does not modify the model or the physics state.
  mjv_updateScene(const_cast<mjModel*>(env.model()), const_cast<mjData*>(env.data()), &r.option, nullptr, &cam,
                  mjCAT_ALL, &r.scene);
  const mjrRect viewport{0, 0, resolution, resolution};
  mjr_render(viewport, &r.scene, &r.render_context);
  r.pixels.resize(static_cast<size_t>(resolution) * resolution * 3);
  mjr_readPixels(r.pixels.data(), nullptr, viewport, &r.render_context);
  auto picture = torch::empty({resolution, resolution, 3}, torch::kUInt8);
  // OpenGL rows run bottom-up.
  const size_t row = static_cast<size_t>(resolution) * 3;
  auto* out = picture.data_ptr<uint8_t>();
  for (int y = 0; y < resolution; ++y)
    std::memcpy(out + row * static_cast<size_t>(y), r.pixels.data() + row * static_cast<size_t>(resolution - 1 - y),
                row);
  return picture;
}

torch::Tensor SceneRenderer::observe(const SwapEnv& env, int resolution) {
  return torch::stack({render(env, Camera::Overview, resolution), render(env, Camera::Hand, resolution)});
}

}  // namespace df::robot
