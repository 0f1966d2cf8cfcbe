#include "df/video/rollout_writer.h"

#include <spdlog/spdlog.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "df/core/compat.h"
#include "df/core/error.h"
#include "df/plot/plot.h"
#include "df/video/rollout_report.h"
#include "df/video/trivial_predictors.h"
#include "df/video/video_clips.h"

namespace df::video {
namespace {

// [C, H, W] in [0, 1] -> [H, W, 3] uint8 RGB (grey repeated).
torch::Tensor to_rgb8(const torch::Tensor& frame) {
  auto rgb = frame.clamp(0.0, 1.0).mul(255.0).round().to(torch::kUInt8).permute({1, 2, 0});
  return (rgb.size(2) == 1 ? rgb.expand({-1, -1, 3}) : rgb).contiguous();
}

constexpr plot::Color kContextRed{214, 39, 40};

}  // namespace

struct VideoRolloutWriter::State {
  RolloutWriterOptions o;
  StatisticRange range;
  GroundTruthFrames truth;
  bool truth_on = false;
  int64_t frames = 0, context_frames = 0, rows = 0, mp4_rows = 0, scale = 1, mp4_scale = 1;
  bool truth_seen = false;  // the MP4 keeps its layout after the truth ends
  std::ofstream csv;
  std::unique_ptr<plot::VideoWriter> mp4;
  torch::Tensor last_context;  // [B, C, H, W]: the last context frame of every sequence (trivial predictor)
  torch::Tensor last_truth;    // [B, C, H, W]: the truth's latest frame so far (its motion into the next one)
  // Per frame index (batch means), by the per-frame CSV's column names (what summarize_rollout reads).
  RolloutCurves curves;
  // Strip: [rows or 2 * rows, C, H, W] (samples, then truth) of the context frames, the kept generated frames
  // (every `stride`-th, decimated when there are too many) and the latest frame.
  std::vector<std::pair<int64_t, torch::Tensor>> context_strip, strip;
  std::pair<int64_t, torch::Tensor> last;
  int64_t stride = 1;
  bool finished = false;
};

VideoRolloutWriter::VideoRolloutWriter(RolloutWriterOptions options, StatisticRange data_range, GroundTruthFrames truth)
    : state_(std::make_unique<State>()) {
  auto& s = *state_;
  s.o = std::move(options);
  s.range = std::move(data_range);
  s.truth = std::move(truth);
  check(s.o.frame_stack >= 1 && s.o.channels >= 1 && s.o.strip_columns >= 1 && s.o.strip_rows >= 1 && s.o.fps > 0,
        "VideoRolloutWriter: frame_stack, channels, strip_columns, strip_rows and fps must be positive");
  std::filesystem::create_directories(s.o.dir);
  const std::string csv_path = s.o.dir + "/" + s.o.label + "_frames.csv";
  s.csv.open(csv_path);
  check(s.csv.good(), "VideoRolloutWriter: cannot write " + csv_path);
  s.csv << "frame,context,mse,psnr,psnr_range2,ssim";
  for (const auto& name : frame_statistic_names()) s.csv << "," << name;
  s.csv << ",out_of_range,truth_blobs,truth_out_of_range,token";
  for (const auto p : trivial_predictors())
    for (const auto* metric : {"mse_", "psnr_", "ssim_"}) s.csv << "," << metric << column_name(p);
  s.csv << ",centroid_error,psnr_aligned,centroid_lag,centroid_along,centroid_across\n";
  s.curves.label = s.o.label;
  if (plot::plotting_available())
    s.mp4 = std::make_unique<plot::VideoWriter>(s.o.dir + "/" + s.o.label + ".mp4", s.o.fps);
}

VideoRolloutWriter::~VideoRolloutWriter() = default;

void VideoRolloutWriter::write_context(const torch::Tensor& tokens) {
  auto& s = *state_;
  check(s.frames == 0, "VideoRolloutWriter: the context must come before the sampled tokens");
  if (s.truth) {
    // The truth applies when these are its first frames (df_sample's default context from the test split).
    const auto frames =
        tokens_to_frames(tokens.detach().to(torch::kCPU, torch::kFloat32), s.o.frame_stack, s.o.channels);
    const auto expected = s.truth(0, frames.size(0));
    s.truth_on = expected.defined() && expected.sizes() == frames.sizes() &&
                 (expected - frames).abs().max().item<double>() < 1e-4;
    if (!s.truth_on)
      spdlog::info("{}: the context is not the test clips' beginning: no ground-truth metrics", s.o.label);
  }
  add(tokens, true);
  const auto frames =
      tokens_to_frames(tokens.detach().to(torch::kCPU, torch::kFloat32), s.o.frame_stack, s.o.channels);
  s.last_context = frames[frames.size(0) - 1].clamp(0.0, 1.0);
}

void VideoRolloutWriter::write(const torch::Tensor& tokens) { add(tokens, false); }

void VideoRolloutWriter::add(const torch::Tensor& tokens, bool context) {
  auto& s = *state_;
  check(!s.finished, "VideoRolloutWriter: write after finish");
  const auto frames = tokens_to_frames(tokens.detach().to(torch::kCPU, torch::kFloat32), s.o.frame_stack,
                                       s.o.channels);  // [n, B, C, H, W]
  const int64_t n = frames.size(0), B = frames.size(1), H = frames.size(3);
  if (s.frames == 0) {
    s.rows = std::min(B, s.o.strip_rows);
    s.mp4_rows = std::min(B, s.o.mp4_rows);
    s.scale = std::max<int64_t>(1, (s.o.min_tile_pixels + H - 1) / H);
    s.mp4_scale = std::max<int64_t>(1, (s.o.min_mp4_tile_pixels + H - 1) / H);
  }
  torch::Tensor truth;
  if (s.truth_on) {
    truth = s.truth(s.frames, n);
    if (!truth.defined()) s.truth_on = false;  // the clips have ended
  }
  s.truth_seen = s.truth_seen || truth.defined();
  const auto shown = frames.clamp(0.0, 1.0);
  const auto stats = frame_statistics(frames, s.o.min_blob_pixels);  // [n, B, S]
  const auto outside = out_of_range(stats, s.range).to(torch::kFloat64).mean(1);
  const auto stat_means = stats.mean(1);  // [n, S]
  FrameErrors errors;
  AlignedErrors aligned;
  torch::Tensor truth_stats, truth_outside;
  // The trivial predictors' errors on generated frames, [n, 3 * predictors] (NaN where unknown).
  auto trivial = torch::full({n, 3 * static_cast<int64_t>(trivial_predictors().size())}, NAN, torch::kFloat64);
  if (truth.defined()) {
    errors = compare_frames(shown, truth);
    aligned = compare_aligned(shown, truth, s.last_truth);
    s.last_truth = truth[n - 1];
    truth_stats = frame_statistics(truth, s.o.min_blob_pixels);
    truth_outside = out_of_range(truth_stats, s.range).to(torch::kFloat64).mean(1);
    if (!context && s.last_context.defined() && s.o.mean_frame.defined()) {
      std::vector<torch::Tensor> parts;
      for (const auto p : trivial_predictors()) {
        const auto e = score_trivial_predictor(p, truth, s.last_context, s.o.mean_frame);
        parts.insert(parts.end(), {e.mse.mean(1), e.psnr.mean(1), e.ssim.mean(1)});
      }
      trivial = torch::stack(parts, 1);
    }
  }
  trivial = trivial.contiguous();
  const auto tr = trivial.accessor<double, 2>();
  // Batch means per frame, as plain numbers (everything is on the CPU already).
  const int64_t blob_column = 4;
  const auto nan = torch::full({n}, NAN, torch::kFloat64);
  const auto columns =
      torch::stack(
          {truth.defined() ? errors.mse.mean(1) : nan, truth.defined() ? errors.psnr.mean(1) : nan,
           truth.defined() ? errors.ssim.mean(1) : nan, outside,
           truth.defined() ? truth_stats.select(2, blob_column).mean(1) : nan, truth.defined() ? truth_outside : nan,
           // NaN where a frame has no ink: the mean of the sequences where the position is defined
           truth.defined() ? torch::nanmean(aligned.centroid_error, 1) : nan,
           truth.defined() ? aligned.aligned_psnr.mean(1) : nan,
           // the lag's mean says slower or faster; its mean size against the error across says along or off the path
           truth.defined() ? torch::nanmean(aligned.centroid_lag, 1) : nan,
           truth.defined() ? torch::nanmean(aligned.centroid_lag.abs(), 1) : nan,
           truth.defined() ? torch::nanmean(aligned.centroid_across, 1) : nan},
          1)
          .contiguous();  // [n, 11]
  const auto c = columns.accessor<double, 2>();
  const auto means = stat_means.contiguous();
  const auto st = means.accessor<double, 2>();
  for (int64_t t = 0; t < n; ++t) {
    const int64_t f = s.frames + t;
    const int64_t token = f / s.o.frame_stack;
    auto& col = s.curves.columns;
    col["frame"].push_back(static_cast<double>(f));
    col["context"].push_back(context ? 1.0 : 0.0);
    col["token"].push_back(static_cast<double>(token));
    col["mse"].push_back(c[t][0]);
    col["psnr"].push_back(c[t][1]);
    col["ssim"].push_back(c[t][2]);
    col["out_of_range"].push_back(c[t][3]);
    col["truth_out_of_range"].push_back(c[t][5]);
    s.csv << f << "," << (context ? 1 : 0) << "," << c[t][0] << "," << c[t][1] << ","
          << c[t][1] + 20.0 * std::log10(2.0) << "," << c[t][2];
    for (int64_t k = 0; k < means.size(1); ++k) s.csv << "," << st[t][k];
    s.csv << "," << c[t][3] << "," << c[t][4] << "," << c[t][5] << "," << token;
    int64_t k = 0;
    for (const auto p : trivial_predictors())
      for (const auto* metric : {"mse_", "psnr_", "ssim_"}) {
        col[metric + column_name(p)].push_back(tr[t][k]);
        s.csv << "," << tr[t][k++];
      }
    col["centroid_error"].push_back(c[t][6]);
    col["psnr_aligned"].push_back(c[t][7]);
    col["centroid_lag"].push_back(c[t][8]);
    col["centroid_along"].push_back(c[t][9]);
    col["centroid_across"].push_back(c[t][10]);
    s.csv << "," << c[t][6] << "," << c[t][7] << "," << c[t][8] << "," << c[t][9] << "," << c[t][10] << "\n";

    // Pictures: the first sequences, and their truth.
    if (s.mp4) {
      const int64_t m = s.mp4_rows, W = frames.size(4), gap = 2, header = 16;
      auto grid = shown[t].slice(0, 0, m);  // [m, C, H, W]: one column per sequence, truth in a second row
      if (truth.defined()) grid = torch::cat({grid, truth[t].slice(0, 0, m)});
      const int64_t tile_h = H * s.mp4_scale, tile_w = W * s.mp4_scale,
                    grid_rows = truth.defined() || s.truth_seen ? 2 : 1;
      const int width = static_cast<int>(m * (tile_w + gap) + gap);
      const int height = static_cast<int>(header + grid_rows * (tile_h + gap) + gap);
      plot::Canvas canvas(width + width % 2, height + height % 2, plot::DataRange{}, plot::Canvas::Margins{0, 0, 0, 0},
                          plot::colors::kWhite);
      for (int64_t i = 0; i < grid.size(0); ++i) {
        const int x = static_cast<int>(gap + (i % m) * (tile_w + gap));
        const int y = static_cast<int>(header + gap + (i / m) * (tile_h + gap));
        canvas.draw_image(to_rgb8(grid[i]), x, y, static_cast<int>(s.mp4_scale));
        if (context)
          canvas.draw_pixel_rect(x - 1, y - 1, static_cast<int>(x + tile_w), static_cast<int>(y + tile_h), kContextRed);
      }
      canvas.draw_text("frame " + std::to_string(f) + (context ? " (context)" : ""), 2, 12, plot::colors::kBlack, 0.35);
      s.mp4->write(canvas.to_tensor());
    }
    // Strip rows: sample 1, its truth, sample 2, ... (samples only once the truth has ended).
    std::vector<torch::Tensor> rows;
    for (int64_t r = 0; r < s.rows; ++r) {
      rows.push_back(shown[t][r]);
      if (truth.defined()) rows.push_back(truth[t][r]);
    }
    const auto tile_frames = torch::stack(rows);
    if (context) {
      s.context_strip.emplace_back(f, tile_frames.clone());
    } else {
      const int64_t g = f - s.context_frames;
      if (g % s.stride == 0) s.strip.emplace_back(f, tile_frames.clone());
      if (static_cast<int64_t>(s.strip.size()) >= 2 * s.o.strip_columns) {  // keep every other one
        s.stride *= 2;
        std::vector<std::pair<int64_t, torch::Tensor>> kept;
        for (auto& e : s.strip)
          if ((e.first - s.context_frames) % s.stride == 0) kept.push_back(std::move(e));
        s.strip = std::move(kept);
      }
      s.last = {f, tile_frames};
    }
  }
  s.frames += n;
  if (context) s.context_frames += n;
}

std::map<std::string, double> VideoRolloutWriter::finish() {
  auto& s = *state_;
  check(!s.finished, "VideoRolloutWriter: finish called twice");
  s.finished = true;
  s.csv.close();
  if (s.mp4 && s.mp4->frames_written() > 0) s.mp4->close();
  const std::string prefix = s.o.dir + "/" + s.o.label;

  // The summary of the per-frame CSV (the same as df_video_metrics reads back), without what is unknown.
  std::map<std::string, double> m;
  if (s.frames > 0) {
    for (const auto& [key, value] : summarize_rollout(s.curves, s.o.training_frames))
      if (std::isfinite(value)) m[key] = value;
    if (m.count("gate_passes")) {
      const auto gate = rollout_gate(s.curves, s.o.training_frames);
      spdlog::info("{}: prediction gate {} (first token: PSNR {:.2f} vs the last frame's {:.2f} dB, SSIM {:.3f} vs "
                   "{:.3f}; within L: {:.2f} dB, best trivial {:.2f} dB, the {})",
                   s.o.label, gate.explain(), m.at("psnr_first_token"), m.at("last_frame_psnr_first_token"),
                   m.at("ssim_first_token"), m.at("last_frame_ssim_first_token"), m.at("psnr_within_L"),
                   gate.best_trivial_psnr_within_L, gate.best_trivial);
    }
  } else {
    m["frames"] = 0;
  }
  if (s.o.mean_frame.defined()) m["mean_frame_training_frames"] = static_cast<double>(s.o.mean_frame_count);
  if (!plot::plotting_available() || s.frames == 0) return m;

  // Strip: the context frames, then generated frames at a uniform (power-of-two) stride, at most
  // strip_columns of them with the last generated frame always included.
  std::vector<std::pair<int64_t, torch::Tensor>> columns = s.context_strip;
  int64_t stride = s.stride;
  auto count_at = [&](int64_t every) {
    int64_t n = 0;
    for (const auto& e : s.strip) n += (e.first - s.context_frames) % every == 0;
    return n;
  };
  while (count_at(stride) > std::max<int64_t>(1, s.o.strip_columns - 1)) stride *= 2;
  for (const auto& e : s.strip)
    if ((e.first - s.context_frames) % stride == 0) columns.push_back(e);
  if (s.last.second.defined() && columns.back().first != s.last.first) columns.push_back(s.last);
  const auto& first = columns.front().second;  // [R, C, H, W]: sample / truth rows
  const int64_t H = first.size(2), W = first.size(3), gap = 3, header = 18, label_w = 56;
  const int64_t tile_h = H * s.scale, tile_w = W * s.scale, grid_rows = first.size(0);
  const bool with_truth = grid_rows > s.rows;
  plot::Canvas strip(static_cast<int>(label_w + static_cast<int64_t>(columns.size()) * (tile_w + gap) + gap),
                     static_cast<int>(header + grid_rows * (tile_h + gap) + gap), plot::DataRange{},
                     plot::Canvas::Margins{0, 0, 0, 0}, plot::colors::kWhite);
  for (size_t j = 0; j < columns.size(); ++j) {
    const int x = static_cast<int>(label_w + gap + static_cast<int64_t>(j) * (tile_w + gap));
    const bool is_context = columns[j].first < s.context_frames;
    strip.draw_text(std::to_string(columns[j].first), x, 13, is_context ? kContextRed : plot::colors::kBlack, 0.35);
    const auto& tiles = columns[j].second;
    const bool column_truth = tiles.size(0) > s.rows;  // the truth may end before the rollout
    for (int64_t r = 0; r < grid_rows; ++r) {
      const int y = static_cast<int>(header + gap + r * (tile_h + gap));
      const bool truth_row = with_truth && r % 2 == 1;
      const int64_t source = !with_truth ? r : column_truth ? r : (truth_row ? -1 : r / 2);
      if (source >= 0) strip.draw_image(to_rgb8(tiles[source]), x, y, static_cast<int>(s.scale));
      if (is_context)
        strip.draw_pixel_rect(x - 1, y - 1, static_cast<int>(x + tile_w), static_cast<int>(y + tile_h), kContextRed, 1);
      if (j == 0) {
        const int64_t sequence = with_truth ? r / 2 + 1 : r + 1;
        strip.draw_text((truth_row ? "truth " : "sample ") + std::to_string(sequence), 2,
                        static_cast<int>(y + tile_h / 2 + 4), plot::colors::kBlack, 0.35);
      }
    }
  }
  strip.write_png(prefix + "_strip.png");

  std::vector<double> x;
  for (int64_t f = 0; f < s.frames; ++f) x.push_back(static_cast<double>(f));
  plot::LinePlotOptions lines;
  lines.x_label = "frame";
  if (s.o.training_frames > 0) lines.x_markers = {static_cast<double>(s.o.training_frames)};
  lines.title = s.o.label + ": share of sequences out of the training data's range";
  const auto& col = s.curves.columns;
  std::vector<plot::LineSeries> range_series{{"samples", col.at("out_of_range"), plot::colors::kBlue}};
  if (m.count("truth_out_of_range_share"))
    range_series.push_back({"truth", col.at("truth_out_of_range"), plot::colors::kGray});
  plot::write_line_plot(prefix + "_range.png", x, range_series, lines);
  if (m.count("psnr_all")) {
    lines.title = s.o.label + ": PSNR (dB, data range 1) against the ground truth";
    std::vector<plot::LineSeries> psnr{{"PSNR", col.at("psnr"), plot::colors::kBlue}};
    if (m.count("last_frame_psnr_all")) {  // the trivial predictors, in greys
      const plot::Color greys[] = {{40, 40, 40}, {110, 110, 110}, {175, 175, 175}};
      int i = 0;
      for (const auto p : trivial_predictors())
        psnr.push_back({describe(p), col.at("psnr_" + column_name(p)), greys[i++ % 3]});
    }
    plot::write_line_plot(prefix + "_psnr.png", x, psnr, lines);
  }
  return m;
}

}  // namespace df::video
