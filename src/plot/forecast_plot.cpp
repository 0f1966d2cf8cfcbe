#include "df/plot/forecast_plot.h"

#include <algorithm>
#include <cmath>

#include "df/core/compat.h"
#include "df/core/error.h"
#include "df/plot/plot.h"

namespace df::plot {
namespace {

// One panel at pixel rectangle (left, top, width, height); bands are filled column by column.
void draw_panel(Canvas& canvas, int left, int top, int width, int height, const ForecastPanel& panel) {
  const auto history = panel.history.to(torch::kCPU, torch::kDouble);
  const auto truth = panel.truth.to(torch::kCPU, torch::kDouble);
  const int64_t H = history.size(0), P = truth.size(0);
  check(panel.samples.dim() == 2 && panel.samples.size(1) == P,
        "write_forecast_panels: panel '" + panel.title + "' has samples of shape " + shape_str(panel.samples) +
            ", expected [S, " + std::to_string(P) + "]");
  const auto q = torch::quantile(panel.samples.to(torch::kCPU, torch::kDouble),
                                 torch::tensor({0.05, 0.25, 0.5, 0.75, 0.95}, torch::kDouble), 0);  // [5, P]
  const auto qa = q.accessor<double, 2>();
  const auto all = torch::cat({history, truth, q.flatten()});
  const auto finite = all.masked_select(torch::isfinite(all));
  double lo = finite.numel() ? finite.min().item<double>() : 0.0, hi = finite.numel() ? finite.max().item<double>() : 1.0;
  if (hi - lo < 1e-12) hi = lo + 1.0;
  const double pad = 0.05 * (hi - lo);
  lo -= pad;
  hi += pad;
  const int l = left + 8, r = left + width - 8, t = top + 22, b = top + height - 8;
  auto px = [&](double i) { return static_cast<int>(l + (i + H) / static_cast<double>(H + P - 1) * (r - l)); };
  auto py = [&](double v) { return static_cast<int>(b - (v - lo) / (hi - lo) * (b - t)); };
  auto band = [&](int64_t qlo, int64_t qhi, Color color) {
    for (int x = px(0); x <= px(static_cast<double>(P - 1)); ++x) {  // interpolate the edges at every pixel
      const double i = (x - l) / static_cast<double>(r - l) * (H + P - 1) - H;
      const int64_t i0 = std::clamp<int64_t>(static_cast<int64_t>(std::floor(i)), 0, P - 1), i1 = std::min(i0 + 1, P - 1);
      const double a = std::clamp(i - i0, 0.0, 1.0);
      canvas.draw_pixel_line(x, py((1 - a) * qa[qlo][i0] + a * qa[qlo][i1]), x,
                             py((1 - a) * qa[qhi][i0] + a * qa[qhi][i1]), color);
    }
  };
  auto line = [&](const torch::Tensor& y, int64_t offset, Color color, int thickness) {
    const auto ya = y.accessor<double, 1>();
    for (int64_t i = 0; i + 1 < y.size(0); ++i) {
      if (!std::isfinite(ya[i]) || !std::isfinite(ya[i + 1])) continue;
      canvas.draw_pixel_line(px(static_cast<double>(offset + i)), py(ya[i]), px(static_cast<double>(offset + i + 1)),
                             py(ya[i + 1]), color, thickness);
    }
  };
  band(0, 4, Color{198, 219, 239});  // 90% interval
  band(1, 3, Color{107, 174, 214});  // 50% interval
  const auto last = history.slice(0, H - 1);
  line(torch::cat({last, truth}), -1, colors::kBlack, 1);
  line(history, -H, colors::kBlack, 1);
  line(torch::cat({last, q[2]}), -1, Color{8, 48, 107}, 2);
  canvas.draw_pixel_line(px(-0.5), t, px(-0.5), b, colors::kGray);
  canvas.draw_pixel_line(l, b, r, b, colors::kGray);
  canvas.draw_text(panel.title, left + 8, top + 16, colors::kBlack, 0.42);
}

}  // namespace

void write_forecast_panels(const std::string& path, const std::vector<ForecastPanel>& panels,
                           const std::string& title) {
  check(!panels.empty(), "write_forecast_panels: no panels for " + path);
  const int n = static_cast<int>(panels.size()), cols = n > 1 ? 2 : 1, rows = (n + cols - 1) / cols;
  const int pw = 480, ph = 200;
  Canvas canvas(cols * pw, rows * ph + 52, {0, 1, 0, 1}, Canvas::Margins{0, 0, 28, 24});
  canvas.draw_title(title);
  for (int k = 0; k < n; ++k)
    draw_panel(canvas, (k % cols) * pw, 28 + (k / cols) * ph, pw, ph, panels[static_cast<size_t>(k)]);
  canvas.draw_text("black: history + truth   dark blue: median   bands: 50% / 90% intervals", 10, rows * ph + 44,
                   colors::kBlack, 0.45);
  canvas.write_png(path);
}

}  // namespace df::plot
