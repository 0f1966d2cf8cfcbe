#include "df/video/rollout_report.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "df/core/error.h"
#include "df/plot/plot.h"
#include "df/video/trivial_predictors.h"
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

namespace {

// Which frames a summary averages over.
struct FrameSets {
  std::vector<bool> generated, within, first_token;
  int64_t context_frames = 0;
  bool tokens_known = false;  // the CSV has a token column
};

FrameSets frame_sets(const RolloutCurves& c, int64_t training_frames) {
  const auto& frame = c.column("frame");
  const auto& context = c.column("context");
  FrameSets s;
  s.generated.assign(frame.size(), false);
  s.within.assign(frame.size(), false);
  s.first_token.assign(frame.size(), false);
  for (size_t i = 0; i < frame.size(); ++i) {
    s.generated[i] = context[i] == 0.0;
    s.within[i] = s.generated[i] && frame[i] < static_cast<double>(training_frames);
    s.context_frames += s.generated[i] ? 0 : 1;
  }
  if (c.has("token")) {
    s.tokens_known = true;
    const auto& token = c.column("token");
    double first = NAN;
    for (size_t i = 0; i < frame.size(); ++i)
      if (s.generated[i] && std::isnan(first)) first = token[i];
    for (size_t i = 0; i < frame.size(); ++i) s.first_token[i] = s.generated[i] && token[i] == first;
  }
  return s;
}

// Mean of a column over a set of frames; NaN when the CSV lacks the column (or, for the first token, tokens).
double mean_of(const RolloutCurves& c, const std::string& column, const std::vector<bool>& use) {
  return c.has(column) ? mean_where(c.column(column), use) : NAN;
}

GateVerdict gate_of(const RolloutCurves& c, const FrameSets& s) {
  GateScores g;
  const auto first = s.tokens_known ? s.first_token : std::vector<bool>(s.generated.size(), false);
  g.psnr_first_token = mean_of(c, "psnr", first);
  g.ssim_first_token = mean_of(c, "ssim", first);
  g.last_frame_psnr_first_token = mean_of(c, "psnr_" + column_name(TrivialPredictor::LastFrame), first);
  g.last_frame_ssim_first_token = mean_of(c, "ssim_" + column_name(TrivialPredictor::LastFrame), first);
  g.psnr_within_L = mean_of(c, "psnr", s.within);
  for (const auto p : trivial_predictors()) g.trivial_psnr_within_L[describe(p)] = mean_of(c, "psnr_" + column_name(p), s.within);
  return judge_prediction_gate(g);
}

}  // namespace

GateVerdict rollout_gate(const RolloutCurves& curves, int64_t training_frames) {
  return gate_of(curves, frame_sets(curves, training_frames));
}

std::map<std::string, double> summarize_rollout(const RolloutCurves& c, int64_t training_frames) {
  const auto s = frame_sets(c, training_frames);
  const auto first = s.tokens_known ? s.first_token : std::vector<bool>(s.generated.size(), false);
  std::map<std::string, double> m;
  m["frames"] = static_cast<double>(c.frames());
  m["context_frames"] = static_cast<double>(s.context_frames);
  for (const std::string metric : {"mse", "psnr", "ssim"}) {
    m[metric + "_within_L"] = mean_of(c, metric, s.within);
    m[metric + "_all"] = mean_of(c, metric, s.generated);
  }
  m["psnr_first_token"] = mean_of(c, "psnr", first);
  m["ssim_first_token"] = mean_of(c, "ssim", first);
  for (const auto p : trivial_predictors()) {
    const auto name = column_name(p);
    for (const std::string metric : {"mse", "psnr", "ssim"}) {
      m[name + "_" + metric + "_within_L"] = mean_of(c, metric + "_" + name, s.within);
      m[name + "_" + metric + "_all"] = mean_of(c, metric + "_" + name, s.generated);
    }
    m[name + "_psnr_first_token"] = mean_of(c, "psnr_" + name, first);
    m[name + "_ssim_first_token"] = mean_of(c, "ssim_" + name, first);
  }
  const auto gate = gate_of(c, s);
  m["gate_passes"] = gate.known ? (gate.passes() ? 1.0 : 0.0) : NAN;
  m["gate_margin_db"] = gate.known ? gate.margin_db : NAN;
  m["best_trivial_psnr_within_L"] = gate.known ? gate.best_trivial_psnr_within_L : NAN;
  const auto& outside = c.column("out_of_range");
  m["out_of_range_share"] = mean_where(outside, s.generated);
  m["truth_out_of_range_share"] = mean_of(c, "truth_out_of_range", s.generated);
  m["first_out_of_range_frame"] =
      static_cast<double>(first_frame_out_of_range(outside, s.context_frames, std::max<int64_t>(1, training_frames)));
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

namespace {

// Runs that share their clips share the trivial predictors' per-frame scores: groups of run indices whose
// trivial columns agree (runs without those columns are left out).
std::vector<std::vector<size_t>> runs_on_the_same_clips(const std::vector<RolloutCurves>& runs) {
  std::vector<std::string> columns;
  for (const auto p : trivial_predictors())
    for (const std::string metric : {"psnr_", "ssim_"}) columns.push_back(metric + column_name(p));
  auto has_all = [&](const RolloutCurves& r) {
    for (const auto& c : columns)
      if (!r.has(c)) return false;
    return true;
  };
  auto same = [&](const RolloutCurves& a, const RolloutCurves& b) {
    if (a.frames() != b.frames()) return false;
    for (const auto& name : columns) {
      const auto &x = a.column(name), &y = b.column(name);
      for (size_t i = 0; i < x.size(); ++i)
        if (!(x[i] == y[i] || (std::isnan(x[i]) && std::isnan(y[i])) || std::abs(x[i] - y[i]) < 1e-9)) return false;
    }
    return true;
  };
  std::vector<std::vector<size_t>> groups;
  for (size_t k = 0; k < runs.size(); ++k) {
    if (!has_all(runs[k])) continue;
    bool placed = false;
    for (auto& g : groups)
      if (same(runs[g.front()], runs[k])) {
        g.push_back(k);
        placed = true;
        break;
      }
    if (!placed) groups.push_back({k});
  }
  return groups;
}

std::string signed_db(double v) { return std::isfinite(v) ? (v >= 0 ? "+" : "") + format(v) : "-"; }

}  // namespace

void write_rollout_comparison(const std::vector<RolloutCurves>& runs, const std::string& dir, int64_t training_frames,
                              int64_t smooth) {
  check(!runs.empty(), "write_rollout_comparison: no runs");
  std::filesystem::create_directories(dir);
  const auto groups = runs_on_the_same_clips(runs);
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
    if ((column == "psnr" || column == "ssim") && groups.size() == 1) {  // the trivial predictors, in greys
      const plot::Color greys[] = {{40, 40, 40}, {110, 110, 110}, {175, 175, 175}};
      size_t i = 0;
      for (const auto p : trivial_predictors()) {
        auto y = moving_average(runs[groups.front().front()].column(column + "_" + column_name(p)), smooth);
        y.resize(longest, NAN);
        series.push_back({describe(p), y, greys[i++ % 3]});
      }
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

  std::vector<std::string> keys = {"frames",
                                   "context_frames",
                                   "mse_within_L",
                                   "psnr_within_L",
                                   "ssim_within_L",
                                   "psnr_all",
                                   "psnr_first_token",
                                   "ssim_first_token",
                                   "out_of_range_share",
                                   "truth_out_of_range_share",
                                   "first_out_of_range_frame"};
  for (const auto p : trivial_predictors())
    for (const std::string k : {"_mse_within_L", "_psnr_within_L", "_ssim_within_L", "_psnr_all", "_psnr_first_token",
                                "_ssim_first_token"})
      keys.push_back(column_name(p) + k);
  for (const std::string k : {"best_trivial_psnr_within_L", "gate_margin_db", "gate_passes"}) keys.push_back(k);
  std::ofstream csv(dir + "/summary.csv"), md(dir + "/summary.md"), gate_md(dir + "/gate.md");
  check(csv.good() && md.good() && gate_md.good(), "write_rollout_comparison: cannot write into " + dir);
  csv << "run";
  md << "| run | frames | PSNR within L (dB) | SSIM within L | MSE within L | PSNR all frames | frames out of range "
        "| truth out of range | first frame out of range |\n|---|---|---|---|---|---|---|---|---|\n";
  gate_md << "| run | PSNR first token (dB) | last frame's | SSIM first token | last frame's | PSNR within L (dB) | "
             "best trivial predictor within L | margin (dB) | gate |\n|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& k : keys) csv << "," << k;
  csv << "\n";
  std::vector<std::map<std::string, double>> summaries;
  for (const auto& run : runs) {
    const auto m = summarize_rollout(run, training_frames);
    summaries.push_back(m);
    csv << run.label;
    for (const auto& k : keys) csv << "," << m.at(k);
    csv << "\n";
    const double first = m.at("first_out_of_range_frame");
    md << "| " << run.label << " | " << format(m.at("frames")) << " | " << format(m.at("psnr_within_L")) << " | "
       << format(m.at("ssim_within_L")) << " | " << format(m.at("mse_within_L")) << " | " << format(m.at("psnr_all"))
       << " | " << percent(m.at("out_of_range_share")) << " | " << percent(m.at("truth_out_of_range_share")) << " | "
       << (first < 0 ? "never" : format(first)) << " |\n";
    const auto gate = rollout_gate(run, training_frames);
    const auto last = column_name(TrivialPredictor::LastFrame);
    gate_md << "| " << run.label << " | " << format(m.at("psnr_first_token")) << " | "
            << format(m.at(last + "_psnr_first_token")) << " | " << format(m.at("ssim_first_token")) << " | "
            << format(m.at(last + "_ssim_first_token")) << " | " << format(m.at("psnr_within_L")) << " | "
            << (gate.known ? format(gate.best_trivial_psnr_within_L) + " (" + gate.best_trivial + ")" : "-") << " | "
            << (gate.known ? signed_db(gate.margin_db) : "-") << " | "
            << (gate.passes() ? "**passes**" : gate.explain()) << " |\n";
  }
  // The trivial predictors on the runs' clips: once when every run continued the same clips.
  for (const auto& group : groups) {
    std::string clips;
    if (groups.size() > 1)
      for (size_t k : group) clips += (clips.empty() ? " (clips of " : ", ") + runs[k].label;
    if (!clips.empty()) clips += ")";
    const auto& m = summaries[group.front()];
    for (const auto p : trivial_predictors()) {
      const auto n = column_name(p);
      md << "| trivial: " << describe(p) << clips << " | " << format(m.at("frames")) << " | "
         << format(m.at(n + "_psnr_within_L")) << " | " << format(m.at(n + "_ssim_within_L")) << " | "
         << format(m.at(n + "_mse_within_L")) << " | " << format(m.at(n + "_psnr_all")) << " | - | - | - |\n";
    }
  }
}

}  // namespace df::video
