// df_export_weights: the weights of a trained model as a small file to ship -- inference weights only (EMA
// when the checkpoint has them), optionally half precision, no optimizer state -- that df_sample loads like
// any checkpoint. The stored config goes beside it as <out>.yaml.
//   df_export_weights --checkpoint runs/x/checkpoint.pt --out weights/x/df.pt --half
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <filesystem>

#include "../common/tool_main.h"
#include "df/core/blas_kernels.h"
#include "df/core/atomic_file.h"
#include "df/core/error.h"
#include "df/training/inference_weights.h"

int main(int argc, char** argv) {
  df::select_blas_kernels(argv);  // first: may start this program again (df/core/blas_kernels.h)
  CLI::App cli{"Export a checkpoint's inference weights (weights only) for shipping"};
  std::string checkpoint, out;
  bool half = false, no_ema = false;
  cli.add_option("--checkpoint", checkpoint, "checkpoint.pt written by df_train")->required();
  cli.add_option("--out", out, "the weights file to write (.pt); its config goes to the same name with .yaml")
      ->required();
  cli.add_flag("--half", half, "store floating-point tensors in half precision (half the size)");
  cli.add_flag("--no-ema", no_ema, "export the training weights even if EMA weights exist");
  CLI11_PARSE(cli, argc, argv);
  return df::app::run_tool([&] {
    df::check(std::filesystem::path(out).extension() == ".pt", "--out " + out + ": expected a .pt file name");
    const auto full = df::load_checkpoint(checkpoint);
    const auto weights = df::inference_weights_checkpoint(full, !no_ema, half);
    const auto parent = std::filesystem::path(out).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent);
    df::save_checkpoint(out, weights);
    const auto yaml = std::filesystem::path(out).replace_extension(".yaml").string();
    df::write_text_atomically(yaml, weights.config_yaml);
    int64_t count = 0;
    for (const auto& [name, t] : weights.model) count += t.numel();
    spdlog::info("{}: step {}, {} weights ({:.3f} M values, {}), {} bytes; config {}", out, weights.step,
                 weights.scalars.at("weights_ema") > 0 ? "EMA" : "training", count / 1e6,
                 half ? "half precision" : "single precision", std::filesystem::file_size(out), yaml);
    return 0;
  });
}
