// df_video_metrics: compares video rollouts written by df_sample (their <label>_frames.csv) -- per-frame
// curves of PSNR / SSIM against the ground truth and of the no-ground-truth statistics, a summary table
// (within-L errors beside the trivial predictors' -- all-black frame, last context frame repeated, mean
// training frame -- on the same clips, share of frames out of the training data's range, first frame out of
// it) and the prediction gate of every run (rollout_report.h, prediction_gate.h).
//   df_video_metrics --run DF=runs/df/samples/long_frames.csv --run TF=... --training-frames 32 --out docs/x
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <fstream>
#include <iostream>

#include "../common/tool_main.h"
#include "df/core/blas_kernels.h"
#include "df/core/error.h"
#include "df/video/rollout_report.h"

int main(int argc, char** argv) {
  df::select_blas_kernels(argv);  // first: may start this program again (df/core/blas_kernels.h)
  CLI::App cli{"Compare video rollouts from their per-frame CSVs (df_sample on a video model)"};
  std::vector<std::string> runs;
  std::string out_dir;
  int64_t training_frames = 0, smooth = 1;
  cli.add_option("--run", runs, "LABEL=path/to/<label>_frames.csv (repeatable; curves in this order)")->required();
  cli.add_option("--training-frames", training_frames, "the models' training clip length L (frames)")->required();
  cli.add_option("--out", out_dir, "output folder for the plots, summary.{csv,md} and gate.md")->required();
  cli.add_option("--smooth", smooth, "plot curves averaged over this many frames (1 = raw)");
  CLI11_PARSE(cli, argc, argv);
  return df::app::run_tool([&] {
    std::vector<df::video::RolloutCurves> curves;
    for (const auto& run : runs) {
      const auto eq = run.find('=');
      df::check(eq != std::string::npos && eq > 0, "--run " + run + ": expected LABEL=path");
      curves.push_back(df::video::read_rollout_csv(run.substr(eq + 1), run.substr(0, eq)));
    }
    df::video::write_rollout_comparison(curves, out_dir, training_frames, smooth);
    df::app::write_command(out_dir + "/command.txt", argc, argv);
    std::ifstream summary(out_dir + "/summary.md"), gate(out_dir + "/gate.md");
    std::cout << summary.rdbuf() << "\n" << gate.rdbuf();
    spdlog::info("wrote curves and summary to {}", out_dir);
    return 0;
  });
}
