#include "df/robot/rates_chart.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "df/core/error.h"
#include "df/plot/plot.h"

namespace df::robot {

std::vector<RateBar> read_rates_csv(const std::string& path) {
  std::ifstream in(path);
  check(in.good(), path + ": cannot open the rates file");
  std::string line;
  std::getline(in, line);
  check(line == "label,rate,ci95_low,ci95_high,group",
        path + ": header must be \"label,rate,ci95_low,ci95_high,group\", got \"" + line + "\"");
  std::vector<RateBar> bars;
  int row = 1;
  while (std::getline(in, line)) {
    ++row;
    if (line.empty()) continue;
    std::stringstream s(line);
    std::vector<std::string> cells;
    std::string cell;
    while (std::getline(s, cell, ',')) cells.push_back(cell);
    const std::string where = path + ":" + std::to_string(row);
    check(cells.size() == 5, where + ": expected 5 comma-separated fields, got " + std::to_string(cells.size()));
    RateBar b;
    b.label = cells[0];
    try {
      b.rate = std::stod(cells[1]);
      b.low = std::stod(cells[2]);
      b.high = std::stod(cells[3]);
      b.group = std::stoi(cells[4]);
    } catch (const std::exception&) {
      throw Error(where + ": rate, ci95_low, ci95_high and group must be numbers");
    }
    check(b.low <= b.rate && b.rate <= b.high && b.low >= 0 && b.high <= 1,
          where + ": expected 0 <= ci95_low <= rate <= ci95_high <= 1");
    bars.push_back(b);
  }
  check(!bars.empty(), path + ": no bars");
  return bars;
}

void write_rates_chart(const std::string& path, const std::vector<RateBar>& bars, const RatesChartOptions& options) {
  check(!bars.empty(), "write_rates_chart: no bars for " + path);
  constexpr int kRow = 26, kBar = 16, kLabelWidth = 330;
  const int height = 60 + kRow * static_cast<int>(bars.size()) + 30;
  plot::Canvas canvas(options.width, height, plot::DataRange{0.0, 1.0, 0.0, 1.0},
                      plot::Canvas::Margins{kLabelWidth, 60, 44, 30});
  const auto& m = canvas.mapping();
  auto px = [&](double rate) { return static_cast<int>(std::lround(m.px(rate))); };
  const int bottom = m.top + m.height - 1;
  for (double tick : {0.0, 0.25, 0.5, 0.75, 1.0}) {  // light grid with percentages under the box
    for (int y = m.top; y <= bottom; y += 3) canvas.draw_pixel_line(px(tick), y, px(tick), y, {225, 225, 225}, 1);
    canvas.draw_text(std::to_string(static_cast<int>(std::lround(100 * tick))) + "%", px(tick) - 12, bottom + 16,
                     plot::colors::kBlack, 0.4);
  }
  for (double line : options.reference_lines) {
    for (int y = m.top; y <= bottom; y += 8) canvas.draw_pixel_line(px(line), y, px(line), std::min(y + 4, bottom), plot::colors::kRed, 1);
    canvas.draw_text(std::to_string(static_cast<int>(std::lround(100 * line))) + "%", px(line) - 12, m.top - 4,
                     plot::colors::kRed, 0.4);
  }
  for (size_t i = 0; i < bars.size(); ++i) {
    const auto& b = bars[i];
    const int y = m.top + 8 + kRow * static_cast<int>(i) + kBar / 2;
    canvas.draw_text(b.label, 8, y + 5, plot::colors::kBlack, 0.42);
    const auto colour = plot::palette_color(static_cast<size_t>(std::max(0, b.group)));
    if (b.rate > 0)  // one-pixel lines: thick OpenCV lines have round caps that overshoot the rate
      for (int dy = -kBar / 2; dy < kBar / 2; ++dy) canvas.draw_pixel_line(px(0), y + dy, px(b.rate), y + dy, colour, 1);
    canvas.draw_pixel_line(px(b.low), y, px(b.high), y, plot::colors::kBlack, 1);  // 95% interval
    canvas.draw_pixel_line(px(b.low), y - 5, px(b.low), y + 5, plot::colors::kBlack, 1);
    canvas.draw_pixel_line(px(b.high), y - 5, px(b.high), y + 5, plot::colors::kBlack, 1);
    canvas.draw_text(std::to_string(static_cast<int>(std::lround(100 * b.rate))) + "%", px(b.high) + 6, y + 5,
                     plot::colors::kBlack, 0.4);
  }
  canvas.draw_axis_box(plot::colors::kGray);
  canvas.draw_title(options.title);
  canvas.write_png(path);
}

}  // namespace df::robot
