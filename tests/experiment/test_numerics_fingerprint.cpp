// The numerics fingerprint (df/experiment/numerics_fingerprint.h): the same for the same computation (run
// twice, with keys that only change paths, logging and checkpoint cadence, with another thread count, or
// through a refactored but bit-identical code path), different after any change of numerics (a learning
// rate, a width, a schedule, one weight moved by one ulp, a sampling-only or evaluation-only knob).
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "df/experiment/numerics_digest.h"
#include "df/experiment/numerics_fingerprint.h"
#include "df/experiment/registry.h"
#include "df/sampling/sampler.h"

namespace {

df::FingerprintOptions with(std::vector<std::string> overrides = {}) {
  df::FingerprintOptions o;
  o.source_dir = DF_SOURCE_DIR;
  o.overrides = std::move(overrides);
  return o;
}

std::string fingerprint(const std::string& domain, std::vector<std::string> overrides = {}) {
  return df::numerics_fingerprint(domain, with(std::move(overrides))).hex;
}

// Reference FNV-1a 64 over a byte string (the published algorithm, byte by byte).
uint64_t fnv1a(const std::string& bytes) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : bytes) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}
template <typename T>
std::string bytes_of(T value) {
  return std::string(reinterpret_cast<const char*>(&value), sizeof(value));
}

// The compositional domain with df_sample's rollout written out by hand (rollout_after_context inlined,
// other labels): a refactor. With `context_seed` 1 instead of 0 it is not one (other samples).
class InlinedRolloutDomain : public df::Domain {
 public:
  explicit InlinedRolloutDomain(uint64_t context_seed = 0)
      : inner_(df::find_domain("compositional")), context_seed_(context_seed) {}
  std::string name() const override { return inner_.name(); }
  std::string defaults_yaml() const override { return inner_.defaults_yaml(); }
  void add_rules(df::Config& c) const override { inner_.add_rules(c); }
  std::unique_ptr<df::SequenceDataset> make_dataset(const df::Config& c) const override {
    return inner_.make_dataset(c);
  }
  df::ModelShape model_shape(const df::Config& c) const override { return inner_.model_shape(c); }
  std::map<std::string, double> validate(df::DiffusionForcingModel& m, const df::Config& c,
                                         int64_t step) const override {
    return inner_.validate(m, c, step);
  }
  std::vector<df::FingerprintRun> fingerprint_runs(const df::FingerprintPaths& p) const override {
    return inner_.fingerprint_runs(p);
  }
  void fingerprint_evaluation(df::DiffusionForcingModel& model, const df::Config& c, const df::FingerprintPaths& p,
                              df::NumericsDigest& digest) const override {
    const int64_t batch = 4, tokens = inner_.make_dataset(c)->num_tokens();
    const auto context = inner_.default_context(c, batch, context_seed_);
    const auto plan = df::read_chunk_plan(c);
    df::Sampler sampler(model, df::read_sampler_options(c));
    auto gen = at::make_generator<at::CPUGeneratorImpl>(0);
    auto z = sampler.absorb_context(model.denoiser().initial_latent(batch, {}), context, {}, gen);
    const auto x =
        sampler.rollout(z, tokens - context.size(0), plan.chunk_size, plan.matrix, plan.uncertainty_scale, {}, gen);
    digest.add("inlined rollout", x);
    digest.add("inlined metrics", inner_.evaluate_samples(c, torch::cat({context, x}), p.work_dir, "inlined"));
  }

 private:
  const df::Domain& inner_;
  uint64_t context_seed_;
};

}  // namespace

TEST(NumericsDigest, HashesDtypeShapeAndBytesWithFnv1a) {
  df::NumericsDigest empty;
  EXPECT_EQ(empty.hex(), "cbf29ce484222325");  // FNV-1a 64 of no bytes: the offset basis

  // A uint8 tensor [1] holding 'a': dtype, rank, size, then the byte.
  df::NumericsDigest one;
  one.add("x", torch::tensor({97}, torch::kUInt8));
  const std::string expected = bytes_of<int64_t>(static_cast<int64_t>(torch::kUInt8)) + bytes_of<int64_t>(1) +
                               bytes_of<int64_t>(1) + std::string("a");
  EXPECT_EQ(one.hex(), df::hex64(fnv1a(expected)));
  EXPECT_EQ(one.bytes(), static_cast<int64_t>(expected.size()));

  // Labels are not hashed; dtype, shape, order and every bit are.
  auto digest = [](const std::string& label, const torch::Tensor& a, const torch::Tensor& b) {
    df::NumericsDigest d;
    d.add(label, a);
    d.add(label, b);
    return d.hex();
  };
  const auto a = torch::arange(4, torch::kFloat), b = torch::ones({2}, torch::kFloat);
  const auto reference = digest("weights", a, b);
  EXPECT_EQ(digest("renamed", a, b), reference);
  EXPECT_NE(digest("weights", b, a), reference);
  EXPECT_NE(digest("weights", a.view({2, 2}), b), reference);
  EXPECT_NE(digest("weights", a.to(torch::kDouble), b), reference);
  auto nudged = a.clone();
  nudged[3] = std::nextafter(3.0f, 4.0f);
  EXPECT_NE(digest("weights", nudged, b), reference);
  EXPECT_NE(digest("weights", a, -b), reference);
  // A non-contiguous view hashes as its contiguous copy.
  const auto t = torch::arange(6, torch::kFloat).view({2, 3});
  EXPECT_EQ(digest("w", t.t(), b), digest("w", t.t().contiguous(), b));
  // Map values in key order; the names themselves are not hashed.
  df::NumericsDigest m1, m2;
  m1.add("metrics", std::map<std::string, double>{{"crps", 0.5}, {"mse", 2.0}});
  m2.add("metrics", std::map<std::string, double>{{"a_crps", 0.5}, {"b_mse", 2.0}});
  EXPECT_EQ(m1.hex(), m2.hex());
  ASSERT_EQ(m1.explain().size(), 1u);
  EXPECT_EQ(m1.explain()[0].first, "metrics");
}

TEST(NumericsFingerprint, SameComputationSameFingerprint) {
  const auto reference = df::numerics_fingerprint("compositional", with());
  EXPECT_EQ(reference.hex.size(), 16u);
  EXPECT_EQ(reference.runs, 1);
  EXPECT_GT(reference.bytes_hashed, 10000);  // weights twice, losses, validations, samples
  EXPECT_EQ(fingerprint("compositional"), reference.hex);
  // Paths, names, logging, checkpoint cadence and the thread setting do not enter it.
  EXPECT_EQ(fingerprint("compositional",
                        {"experiment.run_dir=/elsewhere/run", "experiment.name=other", "training.log_every=1",
                         "training.checkpoint_every=1", "training.checkpoint_minutes=60", "experiment.threads=2"}),
            reference.hex);
  // Nor does the caller's thread count, which is restored afterwards.
  const int threads = at::get_num_threads();
  at::set_num_threads(2);
  EXPECT_EQ(fingerprint("compositional"), reference.hex);
  EXPECT_EQ(at::get_num_threads(), 2);
  at::set_num_threads(threads);
  // A hook that leaves the weights as they are changes nothing.
  auto options = with();
  options.after_init = [](df::DiffusionForcingModel&) {};
  EXPECT_EQ(df::numerics_fingerprint("compositional", options).hex, reference.hex);
}

TEST(NumericsFingerprint, ChangesWithEveryChangeOfNumerics) {
  const auto reference = fingerprint("compositional");
  EXPECT_NE(fingerprint("compositional", {"training.lr=0.0011"}), reference);
  EXPECT_NE(fingerprint("compositional", {"model.z_dim=17"}), reference);
  EXPECT_NE(fingerprint("compositional", {"diffusion.schedule=linear"}), reference);
  EXPECT_NE(fingerprint("compositional", {"training.lr_schedule=cosine"}), reference);
  // Sampling only (the training is the same): the evaluation's samples are hashed.
  EXPECT_NE(fingerprint("compositional", {"diffusion.eta=0.5"}), reference);
  // One weight moved by one ulp at initialisation.
  auto options = with();
  options.after_init = [](df::DiffusionForcingModel& model) {
    torch::NoGradGuard no_grad;
    auto weight = model.parameters().front();
    auto* value = weight.data_ptr<float>();
    value[0] = std::nextafter(value[0], INFINITY);
  };
  EXPECT_NE(df::numerics_fingerprint("compositional", options).hex, reference);
}

TEST(NumericsFingerprint, RefactorKeepsItAndAChangedSeedDoesNot) {
  const auto reference = fingerprint("compositional");
  EXPECT_EQ(df::numerics_fingerprint(InlinedRolloutDomain(), with()).hex, reference);
  EXPECT_NE(df::numerics_fingerprint(InlinedRolloutDomain(/*context_seed=*/1), with()).hex, reference);
}

#ifdef DF_HAVE_TIMESERIES
TEST(NumericsFingerprint, TimeSeriesCoversTrainingValidationAndForecasts) {
  const auto reference = df::numerics_fingerprint("timeseries", with());
  EXPECT_EQ(reference.runs, 3);
  EXPECT_EQ(fingerprint("timeseries", {"training.log_every=1", "experiment.run_dir=x"}), reference.hex);
  EXPECT_NE(fingerprint("timeseries", {"timeseries.validation_seed=1"}), reference.hex);  // validation only
  EXPECT_NE(fingerprint("timeseries", {"diffusion.eta=0.5"}), reference.hex);             // sampling only
  // Every run contributes its losses, weights, validations and forecasts.
  for (const auto* run : {"absolute/", "anchored_covariates/", "anchored_teacher_forcing/"})
    for (const auto* output :
         {"losses", "weights.", "inference_weights.", "validation_at_3", "forecast.samples", "forecast.metrics"}) {
      bool found = false;
      for (const auto& [label, hash] : reference.parts) found |= label.rfind(std::string(run) + output, 0) == 0;
      EXPECT_TRUE(found) << run << output;
    }
}

#endif

#ifdef DF_HAVE_PLANNING
TEST(NumericsFingerprint, MazeCoversPlanning) {
  const auto reference = df::numerics_fingerprint("maze", with());
  EXPECT_EQ(reference.runs, 2);
  EXPECT_EQ(fingerprint("maze", {"training.checkpoint_every=1"}), reference.hex);
  // Guidance only acts in the planner of the evaluation.
  EXPECT_NE(fingerprint("maze", {"sampling.guidance_scale=5"}), reference.hex);
}

#endif

TEST(NumericsFingerprint, UnknownDomainIsNamed) {
  try {
    df::numerics_fingerprint("weather", with());
    FAIL() << "expected an error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("weather"), std::string::npos) << e.what();
  }
}
