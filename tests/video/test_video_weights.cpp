// Shipped weights (issue: video models that predict): df_export_weights writes a checkpoint's inference
// weights only (EMA, optionally half precision, no optimizer state) with its config; loading that file gives
// exactly the (rounded) weights and rolls out a token like a model holding them; a file that does not fit its
// network is an error naming the tensor or key; df_sample rolls out from it and df_train refuses to resume from
// it. The weights shipped under weights/ load with today's code and roll out one token.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "df/core/compat.h"
#include "df/core/error.h"
#include "df/experiment/experiment_config.h"
#include "df/experiment/registry.h"
#include "df/models/state_dict.h"
#include "df/training/inference_weights.h"
#include "df/video/mnist_digits.h"
#include "df/video/rollout_report.h"
#include "df/video/video_clips.h"
#include "df/video/video_domain.h"
#include "../apps/tool_process.h"
#include "video_test_data.h"

using namespace df::video;
namespace fs = std::filesystem;

namespace {

std::string tool(const std::string& name) { return std::string(DF_BINARY_DIR) + "/apps/tools/" + name; }

// One token after a context token with the config's sampler and plan, from a fixed generator.
torch::Tensor one_token(df::DiffusionForcingModel& model, const df::Config& config, const torch::Tensor& context,
                        const torch::Tensor& cond = {}) {
  df::Sampler sampler(model, df::read_sampler_options(config));
  auto gen = at::make_generator<at::CPUGeneratorImpl>(3);
  torch::NoGradGuard no_grad;
  return df::rollout_after_context(sampler, df::read_chunk_plan(config), context, context.size(1), 1, cond, gen);
}

// A tiny video model and a full checkpoint of it: training weights, EMA weights that differ from them, and
// optimizer bytes, as df_train writes it.
struct TinyRun {
  std::string dir;
  df::Config config;
  std::shared_ptr<df::DiffusionForcingModel> model;
  df::Checkpoint full;
  torch::Tensor context;  // one ground-truth token of 2 test clips
};

TinyRun tiny_run(const std::string& name) {
  TinyRun r;
  r.dir = test::temp_dir(name);
  write_mnist_digits(r.dir + "/digits", test::synthetic_digits(3));
  r.config = df::load_config(std::string(DF_SOURCE_DIR) + "/configs/tiny_video.yaml",
                             {"video.root=" + r.dir + "/digits", "training.ema_decay=0.9"});
  torch::manual_seed(0);
  r.model = df::make_model(r.config, df::find_domain("video").model_shape(r.config), torch::kCPU);
  r.full.step = 42;
  r.full.config_yaml = r.config.to_yaml();
  for (const auto& [name, t] : df::state_dict(*r.model)) r.full.model[name] = t.detach().clone();
  for (const auto& p : r.model->named_parameters(true))
    r.full.ema[p.key()] = p.value().detach() + 0.01 * torch::randn_like(p.value());
  r.full.optimizer_state = std::string(200000, 'o');
  df::save_checkpoint(r.dir + "/full.pt", r.full);
  const auto clips = evaluation_clips(*make_video_source(read_video_options(r.config), VideoSplit::Test), 0, 2, 0, 2);
  r.context = frames_to_tokens(clips.frames, r.config.get_int("diffusion.frame_stack"));  // [1, 2, 2, 16, 16]
  return r;
}

// Gives the in-memory model the EMA weights, rounded to half precision when `half`.
void hold_ema_weights(TinyRun& r, bool half) {
  torch::NoGradGuard no_grad;
  for (const auto& p : r.model->named_parameters(true)) {
    const auto& w = r.full.ema.at(p.key());
    p.value().copy_(half ? w.to(torch::kFloat16).to(torch::kFloat32) : w);
  }
  r.model->eval();
}

}  // namespace

TEST(VideoWeights, SinglePrecisionExportRollsOutExactlyLikeTheModelInMemory) {
  auto run = tiny_run("weights_fp32");
  auto r = df::test_tools::run(tool("df_export_weights") + " --checkpoint " + run.dir + "/full.pt --out " + run.dir +
                               "/w/df.pt");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto shipped = df::load_trained_model(run.dir + "/w/df.pt");
  EXPECT_EQ(shipped.step, 42);
  for (const auto& p : shipped.model->named_parameters(true))
    EXPECT_TRUE(torch::equal(p.value(), run.full.ema.at(p.key()))) << p.key();  // the EMA weights, bit for bit
  hold_ema_weights(run, false);
  const auto token = one_token(*shipped.model, shipped.config, run.context);
  ASSERT_EQ(token.sizes(), torch::IntArrayRef({1, 2, 2, 16, 16}));
  EXPECT_TRUE(torch::equal(token, one_token(*run.model, run.config, run.context)));

  // --no-ema: the training weights.
  r = df::test_tools::run(tool("df_export_weights") + " --checkpoint " + run.dir + "/full.pt --out " + run.dir +
                          "/w/train.pt --no-ema");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto training = df::load_checkpoint(run.dir + "/w/train.pt");
  EXPECT_EQ(training.scalars.at("weights_ema"), 0.0);
  for (const auto& [name, t] : run.full.model) EXPECT_TRUE(torch::equal(training.model.at(name), t)) << name;
}

TEST(VideoWeights, HalfPrecisionExportLoadsTheRoundedWeightsAndRollsOut) {
  auto run = tiny_run("weights_fp16");
  auto r = df::test_tools::run(tool("df_export_weights") + " --checkpoint " + run.dir + "/full.pt --out " + run.dir +
                               "/w/df.pt --half");
  ASSERT_EQ(r.status, 0) << r.output;
  ASSERT_TRUE(fs::exists(run.dir + "/w/df.yaml"));
  // The config beside the weights is the stored one.
  {
    std::ifstream in(run.dir + "/w/df.yaml");
    std::stringstream text;
    text << in.rdbuf();
    EXPECT_EQ(text.str(), run.full.config_yaml);
  }
  // No optimizer state, no second copy of the weights, 2 bytes a value: well under a third of the full file.
  EXPECT_LT(fs::file_size(run.dir + "/w/df.pt") * 3, fs::file_size(run.dir + "/full.pt"))
      << fs::file_size(run.dir + "/w/df.pt");

  const auto shipped = df::load_trained_model(run.dir + "/w/df.pt");
  // The loaded parameters are the EMA weights rounded to half precision, exactly.
  for (const auto& p : shipped.model->named_parameters(true)) {
    const auto expected = run.full.ema.at(p.key()).to(torch::kFloat16).to(torch::kFloat32);
    EXPECT_TRUE(torch::equal(p.value(), expected)) << p.key();
  }
  const auto token = one_token(*shipped.model, shipped.config, run.context);
  // Against the unrounded fp32 model: half precision moves each weight by at most 2^-11 of its size, and the
  // sampled token (in [-1, 1]) by less than 0.005 on this model (measured 0.0009; the same noise draws).
  hold_ema_weights(run, false);
  const double fp32_diff = (token - one_token(*run.model, run.config, run.context)).abs().max().item<double>();
  std::cout << "half-precision weights: largest token difference from the fp32 model " << fp32_diff << "\n";
  EXPECT_LT(fp32_diff, 0.005);
  // A model holding the rounded weights in fp32 rolls out exactly the same token.
  hold_ema_weights(run, true);
  EXPECT_TRUE(torch::equal(token, one_token(*run.model, run.config, run.context)));

  // df_sample rolls out from the shipped file (one context token + one new one) and scores it.
  r = df::test_tools::run(tool("df_sample") + " --checkpoint " + run.dir + "/w/df.pt --out " + run.dir +
                          "/s --label one --batch 2 --tokens 2");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto curves = read_rollout_csv(run.dir + "/s/one_frames.csv", "one");
  ASSERT_EQ(curves.frames(), 4u);
  EXPECT_TRUE(std::isfinite(curves.column("psnr")[3]));
  EXPECT_TRUE(std::isfinite(curves.column("psnr_last_frame")[3]));
  // Training cannot continue from weights only, and says why.
  fs::create_directories(run.dir + "/resume");
  fs::copy_file(run.dir + "/w/df.pt", run.dir + "/resume/checkpoint.pt");
  fs::copy_file(run.dir + "/w/df.yaml", run.dir + "/resume/config.yaml");
  r = df::test_tools::run(tool("df_train") + " --resume --run-dir " + run.dir + "/resume");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("holds inference weights only"), std::string::npos) << r.output;
}

TEST(VideoWeights, AWeightsFileThatDoesNotMatchItsNetworkIsAnErrorNamingTheTensorOrKey) {
  auto run = tiny_run("weights_mismatch");
  const auto weights = df::inference_weights_checkpoint(run.full, true, true);
  const std::string name = weights.model.begin()->first;
  // A tensor of another shape (a network changed since the export).
  auto reshaped = weights;
  reshaped.model[name] = torch::cat({reshaped.model[name], reshaped.model[name]}, 0);
  df::save_checkpoint(run.dir + "/reshaped.pt", reshaped);
  try {
    df::load_trained_model(run.dir + "/reshaped.pt");
    ADD_FAILURE() << "a reshaped tensor loaded";
  } catch (const df::Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(run.dir + "/reshaped.pt"), std::string::npos) << what;
    EXPECT_NE(what.find("\"" + name + "\" has shape " + df::shape_str(reshaped.model[name])), std::string::npos)
        << what;
  }
  // A tensor missing.
  auto missing = weights;
  missing.model.erase(name);
  df::save_checkpoint(run.dir + "/missing.pt", missing);
  try {
    df::load_trained_model(run.dir + "/missing.pt");
    ADD_FAILURE() << "a weights file without " << name << " loaded";
  } catch (const df::Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing tensor \"" + name + "\""), std::string::npos) << e.what();
  }
  // A config that changes the network: df_sample names the key, both values and the file.
  df::save_checkpoint(run.dir + "/ok.pt", weights);
  const auto r = df::test_tools::run(tool("df_sample") + " --checkpoint " + run.dir + "/ok.pt --out " + run.dir +
                                     "/s --batch 1 --tokens 2 --set model.network_size=16");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("model.network_size is \"16\""), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("was trained with \"8\""), std::string::npos) << r.output;
}

TEST(VideoWeights, ShippedWeightsLoadAndRollOutOneToken) {
  // weights/video_<world>/<model>.pt (df_export_weights) with <model>.yaml (its config) and <model>.provenance
  // (scripts/export_video_weights.sh: the command, commit and budget that made it), and beside EMA weights
  // <model>_training.pt. Other domains' shipped
  // weights have their own tests (robot: robot_shipped_state_policy).
  const fs::path root = fs::path(DF_SOURCE_DIR) / "weights";
  std::vector<fs::path> files;
  if (fs::exists(root))
    for (const auto& world : fs::directory_iterator(root))
      if (world.is_directory() && world.path().filename().string().rfind("video_", 0) == 0)
        for (const auto& e : fs::recursive_directory_iterator(world.path()))
          if (e.path().extension() == ".pt") files.push_back(e.path());
  if (files.empty()) GTEST_SKIP() << "no weights shipped under " << root.string();
  for (const auto& file : files) {
    SCOPED_TRACE(file.string());
    // <model>_training.pt (the training weights beside their EMA) is described by <model>.provenance.
    const std::string suffix = "_training";
    std::string stem = file.stem().string();
    const bool training_weights = stem.size() > suffix.size() && stem.substr(stem.size() - suffix.size()) == suffix;
    if (training_weights) stem.resize(stem.size() - suffix.size());
    const auto provenance_path = file.parent_path() / (stem + ".provenance");
    std::ifstream provenance(provenance_path);
    ASSERT_TRUE(provenance.good()) << provenance_path << " missing";
    std::set<std::string> keys;
    for (std::string line; std::getline(provenance, line);) keys.insert(line.substr(0, line.find(':')));
    for (const auto* key : {"train_command", "commit", "steps", "batch_size", "train_seconds", "weights"})
      EXPECT_EQ(keys.count(key), 1u) << provenance_path << " lacks " << key;
    if (training_weights) EXPECT_EQ(keys.count("training_weights_sha256"), 1u) << provenance_path;
    const auto checkpoint = df::load_checkpoint(file.string());
    EXPECT_EQ(checkpoint.scalars.count("weights_only"), 1u) << "not written by df_export_weights";
    EXPECT_TRUE(checkpoint.optimizer_state.empty());
    // Strict loading: a missing, unexpected or reshaped tensor is an error naming it.
    const auto shipped = df::load_trained_model(file.string(), {"", {"experiment.threads=1"}, true});
    const auto shape = shipped.domain->model_shape(shipped.config);
    std::vector<int64_t> context_shape{1, 1};
    context_shape.insert(context_shape.end(), shape.x_shape.begin(), shape.x_shape.end());
    const auto context = torch::zeros(context_shape) - 1.0;  // a black frame (tokens in [-1, 1])
    torch::Tensor cond;  // conditioned models: no action
    if (shape.cond_dim > 0) cond = torch::zeros({2, 1, shape.cond_dim});
    const auto token = one_token(*shipped.model, shipped.config, context, cond);
    EXPECT_EQ(token.size(0), 1);
    EXPECT_TRUE(torch::isfinite(token).all().item<bool>());
  }
}

TEST(VideoWeights, ShippedDiffusionForcingWeightsPredictTheFirstTokenOfRealTestClips) {
  // The shipped one-digit DF model (scripts/export_video_weights.sh) against the trivial predictors on the first
  // generated token of 8 unseen Moving MNIST clips (real digits, which scripts/test.sh fetches; seed 1 x batch 8:
  // test clips 8..15: 23.1 dB, against 17.0 for the last context frame repeated and 18.8 for the mean training
  // frame). On the page's 32 clips: 22.6 against 15.9 and 17.8 (docs/results/video.md).
  const fs::path weights = fs::path(DF_SOURCE_DIR) / "weights" / "video_mnist1" / "df.pt";
  if (!fs::exists(weights)) GTEST_SKIP() << weights.string() << ": no DF video weights shipped";
  const fs::path digits = fs::path(DF_SOURCE_DIR) / "data" / "mnist";
  ASSERT_TRUE(fs::exists(digits / "9.json")) << digits.string() << ": no MNIST digits (bash scripts/fetch_mnist.sh)";
  const auto dir = test::temp_dir("shipped_df_first_token");
  const auto r = df::test_tools::run(tool("df_sample") + " --checkpoint " + weights.string() + " --out " + dir +
                                     " --label first --batch 8 --tokens 2 --seed 1 --set experiment.threads=1" +
                                     " --set video.root=" + digits.string());
  ASSERT_EQ(r.status, 0) << r.output;
  std::map<std::string, double> m;
  std::ifstream csv(dir + "/first_metrics.csv");
  std::string line;
  std::getline(csv, line);  // header
  while (std::getline(csv, line)) m[line.substr(0, line.find(','))] = std::stod(line.substr(line.find(',') + 1));
  for (const auto* key : {"psnr_first_token", "ssim_first_token", "last_frame_psnr_first_token",
                          "last_frame_ssim_first_token", "black_psnr_first_token", "mean_frame_psnr_first_token"})
    ASSERT_EQ(m.count(key), 1u) << key << " missing from " << dir << "/first_metrics.csv";
  std::cout << "first token: PSNR " << m["psnr_first_token"] << " dB (last frame " << m["last_frame_psnr_first_token"]
            << ", black " << m["black_psnr_first_token"] << ", mean frame " << m["mean_frame_psnr_first_token"]
            << "), SSIM " << m["ssim_first_token"] << " (last frame " << m["last_frame_ssim_first_token"] << ")\n";
  EXPECT_GT(m["psnr_first_token"], m["last_frame_psnr_first_token"] + 3.0);
  EXPECT_GT(m["ssim_first_token"], m["last_frame_ssim_first_token"] + 0.1);
  EXPECT_GT(m["psnr_first_token"], std::max(m["black_psnr_first_token"], m["mean_frame_psnr_first_token"]) + 1.5);
}
