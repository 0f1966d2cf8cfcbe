#include "df/video/rollout_report.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "df/core/error.h"
#include "df/plot/plot.h"
#include "df/video/video_metrics.h"

namespace df::video {
namespace {

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> cells;
  std::stringstream in(line);
  std::string cell;
  while (std::getline(in, cell, ',')) cells.push_back(cell);
  if (!line.empty() && line.back() == ',') cells.emplace_back();
  return cells;
}

double mean_where(const std::vector<double>& v, const std::vector<bool>& use) {
  double sum = 0;
  int64_t n = 0;
  for (size_t i = 0; i < v.size(); ++i)
    if (use[i] && std::isfinite(v[i])) sum += v[i], ++n;
  return n ? sum / static_cast<double>(n) : NAN;
}

std::string format(double v) {
  if (!std::isfinite(v)) return "-";
  std::ostringstream s;
  s.precision(4);
  s << v;
  return s.str();
}

std::string percent(double share) { return std::isfinite(share) ? format(100.0 * share) + "%" : "-"; }

}  // namespace

const std::vector<double>& RolloutCurves::column(const std::string& name) const {
  const auto it = columns.find(name);
  check(it != columns.end(), label + ": the per-frame CSV has no column \"" + name + "\"");
  return it->second;
}

size_t RolloutCurves::frames() const { return columns.empty() ? 0 : columns.begin()->second.size(); }

RolloutCurves read_rollout_csv(const std::string& path, const std::string& label) {
  std::ifstream in(path);
  check(in.good(), path + ": cannot open the per-frame CSV");
  std::string line;
  check(static_cast<bool>(std::getline(in, line)), path + ": empty file");
  const auto header = split_csv_line(line);
  RolloutCurves curves;
  curves.label = label;
  for (const auto& name : header) curves.columns[name];
  int64_t row = 1;
  while (std::getline(in, line)) {
    ++row;
    if (line.empty()) continue;
    const auto cells = split_csv_line(line);
    check(cells.size() == header.size(), path + ": line " + std::to_string(row) + " has " +
                                             std::to_string(cells.size()) + " cells, the header " +
                                             std::to_string(header.size()));
    for (size_t i = 0; i < cells.size(); ++i) {
      char* end = nullptr;
      const double v = std::strtod(cells[i].c_str(), &end);
      check(!cells[i].empty() && end == cells[i].c_str() + cells[i].size(),
            path + ": line " + std::to_string(row) + ", column " + header[i] + ": not a number: \"" + cells[i] + "\"");
      curves.columns[header[i]].push_back(v);
    }
  }
  check(curves.frames() > 0, path + ": no frames");
  curves.column("frame");
  curves.column("context");
  return curves;
}

std::map<std::string, double> summarize_rollout(const RolloutCurves& c, int64_t training_frames) {
  const auto& frame = c.column("frame");
  const auto& context = c.column("context");
  std::vector<bool> generated(frame.size()), within(frame.size());
  int64_t context_frames = 0;
  for (size_t i = 0; i < frame.size(); ++i) {
    generated[i] = context[i] == 0.0;
    within[i] = generated[i] && frame[i] < static_cast<double>(training_frames);
    context_frames += generated[i] ? 0 : 1;
  }
  std::map<std::string, double> m;
  m["frames"] = static_cast<double>(frame.size());
  m["context_frames"] = static_cast<double>(context_frames);
  for (const auto* metric : {"mse", "psnr", "ssim"}) {
    m[std::string(metric) + "_within_L"] = mean_where(c.column(metric), within);
    m[std::string(metric) + "_all"] = mean_where(c.column(metric), generated);
  }
  const auto& outside = c.column("out_of_range");
  m["out_of_range_share"] = mean_where(outside, generated);
  m["truth_out_of_range_share"] = mean_where(c.column("truth_out_of_range"), generated);
  m["first_out_of_range_frame"] =
      static_cast<double>(first_frame_out_of_range(outside, context_frames, std::max<int64_t>(1, training_frames)));
  return m;
}

std::vector<double> moving_average(const std::vector<double>& v, int64_t window) {
  if (window <= 1) return v;
  std::vector<double> out(v.size(), NAN);
  const auto n = static_cast<int64_t>(v.size()), half = window / 2;
  for (int64_t i = 0; i < n; ++i) {
    double sum = 0;
    int64_t count = 0;
    for (int64_t j = std::max<int64_t>(0, i - half); j < std::min(n, i - half + window); ++j)
      if (std::isfinite(v[static_cast<size_t>(j)])) sum += v[static_cast<size_t>(j)], ++count;
    if (count > 0 && std::isfinite(v[static_cast<size_t>(i)]))
      out[static_cast<size_t>(i)] = sum / static_cast<double>(count);
  }
  return out;
}

void write_rollout_comparison(const std::vector<RolloutCurves>& runs, const std::string& dir, int64_t training_frames,
                              int64_t smooth) {
  check(!runs.empty(), "write_rollout_comparison: no runs");
  std::filesystem::create_directories(dir);
  // The x axis of the longest run; shorter runs are padded with NaN (their curve ends).
  size_t longest = 0;
  for (const auto& r : runs) longest = std::max(longest, r.frames());
  std::vector<double> x(longest);
  for (size_t i = 0; i < longest; ++i) x[i] = static_cast<double>(i);
  auto draw = [&](const std::string& column, const std::string& title, bool needs_values) {
    std::vector<plot::LineSeries> series;
    bool any = false;
    for (size_t k = 0; k < runs.size(); ++k) {
      auto y = moving_average(runs[k].column(column), smooth);
      for (double v : y) any = any || std::isfinite(v);
      y.resize(longest, NAN);
      series.push_back({runs[k].label, y, plot::palette_color(k)});
    }
    if (column == "blobs" || column == "out_of_range") {  // the ground truth's value, where known
      auto truth =
          moving_average(runs.front().column(column == "blobs" ? "truth_blobs" : "truth_out_of_range"), smooth);
      truth.resize(longest, NAN);
      series.push_back({"ground truth", truth, plot::colors::kGray});
    }
    if (needs_values && !any) return;
    plot::LinePlotOptions o;
    o.title = title + (smooth > 1 ? " (mean over " + std::to_string(smooth) + " frames)" : "");
    o.x_label = "frame (dashed: training length L = " + std::to_string(training_frames) + ")";
    o.width = 760;
    o.x_markers = {static_cast<double>(training_frames)};
    plot::write_line_plot(dir + "/" + column + ".png", x, series, o);
  };
  draw("psnr", "PSNR against the ground truth (dB, data range 1)", true);
  draw("ssim", "SSIM against the ground truth", true);
  draw("out_of_range", "share of sequences whose frame leaves the training data's range", false);
  draw("blobs", "bright blobs per frame (digits for Moving MNIST)", false);
  draw("sharpness", "sharpness (mean |Laplacian|) per frame", false);

  const std::vector<std::string> keys = {"frames",
                                         "context_frames",
                                         "mse_within_L",
                                         "psnr_within_L",
                                         "ssim_within_L",
                                         "psnr_all",
                                         "out_of_range_share",
                                         "truth_out_of_range_share",
                                         "first_out_of_range_frame"};
  std::ofstream csv(dir + "/summary.csv"), md(dir + "/summary.md");
  check(csv.good() && md.good(), "write_rollout_comparison: cannot write into " + dir);
  csv << "run";
  md << "| run | frames | PSNR within L (dB) | SSIM within L | MSE within L | PSNR all frames | frames out of range "
        "| truth out of range | first frame out of range |\n|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& k : keys) csv << "," << k;
  csv << "\n";
  for (const auto& run : runs) {
    const auto m = summarize_rollout(run, training_frames);
    csv << run.label;
    for (const auto& k : keys) csv << "," << m.at(k);
    csv << "\n";
    const double first = m.at("first_out_of_range_frame");
    md << "| " << run.label << " | " << format(m.at("frames")) << " | " << format(m.at("psnr_within_L")) << " | "
       << format(m.at("ssim_within_L")) << " | " << format(m.at("mse_within_L")) << " | " << format(m.at("psnr_all"))
       << " | " << percent(m.at("out_of_range_share")) << " | " << percent(m.at("truth_out_of_range_share")) << " | "
       << (first < 0 ? "never" : format(first)) << " |\n";
  }
}

}  // namespace df::video
