// Video (DMLab / Minecraft): its configs carry the paper's hyper-parameters and validate against the
// schema, but this release has no data pipeline for it (the TECO video archives are 54-210 GB). Training
// says so clearly instead of failing later.
#include "df/core/error.h"
#include "df/experiment/domain.h"

namespace df {
namespace {

class UnavailableDomain : public Domain {
 public:
  UnavailableDomain(std::string name, std::string section, std::string reason)
      : name_(std::move(name)), section_(std::move(section)), reason_(std::move(reason)) {}
  std::string name() const override { return name_; }
  std::string defaults_yaml() const override { return section_; }
  std::unique_ptr<SequenceDataset> make_dataset(const Config&) const override {
    throw Error("experiment.domain: " + name_ + ": " + reason_);
  }
  ModelShape model_shape(const Config&) const override {
    throw Error("experiment.domain: " + name_ + ": " + reason_);
  }

 private:
  std::string name_, section_, reason_;
};

}  // namespace

std::unique_ptr<Domain> make_unavailable_video_domain() {
  return std::make_unique<UnavailableDomain>("video", R"(video:
  dataset: dmlab              # dmlab | minecraft (TECO format: <root>/{train,test}/*.npz|mp4)
  root: ""
  resolution: 64
  n_frames: 36                # frames per training clip
  context_frames: 4
)",
                                             "no video data pipeline in this release (TECO DMLab / Minecraft "
                                             "loaders are planned); the config documents the paper's settings");
}

}  // namespace df
