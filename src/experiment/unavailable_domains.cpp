// Robot imitation: its config carries the paper's hyper-parameters and validates against the schema, but
// this release has no data pipeline for it (the robot data is not public). Training says so clearly
// instead of failing later.
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

std::unique_ptr<Domain> make_unavailable_robot_domain() {
  return std::make_unique<UnavailableDomain>("robot", R"(robot:
  root: ""                    # directory of demos (2 camera mp4 + pkl of actions)
  resolution: 32
  n_frames: 40
  action_stack: 15
)",
                                             "no robot data pipeline in this release (the fruit-swap demonstrations "
                                             "are not public); the config documents the paper's settings");
}

}  // namespace df
