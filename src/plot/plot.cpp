#include "df/plot/plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "df/core/compat.h"
#include "df/core/error.h"

#ifdef DF_HAVE_OPENCV
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "opencv_image.h"
#endif

namespace df::plot {

// ---- parts that need no OpenCV ----

bool plotting_available() {
#ifdef DF_HAVE_OPENCV
  return true;
#else
  return false;
#endif
}

Color palette_color(size_t i) {
  static constexpr Color kPalette[] = {colors::kBlue,  colors::kOrange, colors::kGreen,       colors::kRed,
                                       colors::kPurple, Color{140, 86, 75}, Color{227, 119, 194}, colors::kGray};
  return kPalette[i % (sizeof(kPalette) / sizeof(kPalette[0]))];
}

double WorldToPixel::px(double x) const {
  return left + (x - range.x_min) / (range.x_max - range.x_min) * (width - 1);
}
double WorldToPixel::py(double y) const {
  return top + (range.y_max - y) / (range.y_max - range.y_min) * (height - 1);
}

namespace {

[[maybe_unused]] void check_range(const DataRange& r, const char* caller) {
  check(std::isfinite(r.x_min) && std::isfinite(r.x_max) && std::isfinite(r.y_min) && std::isfinite(r.y_max) &&
            r.x_min < r.x_max && r.y_min < r.y_max,
        std::string(caller) + ": data range needs finite x_min < x_max and y_min < y_max, got x [" +
            std::to_string(r.x_min) + ", " + std::to_string(r.x_max) + "], y [" + std::to_string(r.y_min) + ", " +
            std::to_string(r.y_max) + "]");
}

// points must be [L, 2] (or [M, 2]); returned as CPU float64 contiguous.
[[maybe_unused]] torch::Tensor checked_points(const torch::Tensor& points, const char* caller) {
  check(points.defined() && points.dim() == 2 && points.size(1) == 2,
        std::string(caller) + ": points must be [L, 2], got " +
            (points.defined() ? shape_str(points) : std::string("an undefined tensor")));
  return points.detach().to(torch::kCPU, torch::kDouble).contiguous();
}

[[noreturn, maybe_unused]] void throw_without_opencv(const std::string& caller) {
  throw Error(caller + ": built without OpenCV: cannot draw");
}

}  // namespace

#ifdef DF_HAVE_OPENCV
// ================================ OpenCV implementation ================================

struct Canvas::Image {
  cv::Mat bgr;  // CV_8UC3, OpenCV's channel order
};

namespace {

cv::Scalar to_bgr(Color c) { return cv::Scalar(c.b, c.g, c.r); }

// Far-off points are clamped so the int conversion cannot overflow; OpenCV clips lines to the image.
cv::Point to_pixel(const WorldToPixel& m, double x, double y) {
  constexpr double kLimit = 1e6;
  return cv::Point(static_cast<int>(std::lround(std::clamp(m.px(x), -kLimit, kLimit))),
                   static_cast<int>(std::lround(std::clamp(m.py(y), -kLimit, kLimit))));
}

void write_bgr_png(const std::string& path, const cv::Mat& bgr) {
  ensure_parent_folder(path);
  bool written = false;
  try {
    written = cv::imwrite(path, bgr);
  } catch (const cv::Exception& e) {
    throw Error("cannot write image " + path + ": " + e.what());
  }
  check(written, "cannot write image " + path + " (is the folder writable and the extension .png?)");
}

std::string short_number(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.3g", v);
  return buffer;
}

}  // namespace

Canvas::Canvas(int width, int height, DataRange range, Margins margins, Color background)
    : width_(width), height_(height) {
  check_range(range, "Canvas");
  const int plot_width = width - margins.left - margins.right;
  const int plot_height = height - margins.top - margins.bottom;
  check(plot_width >= 2 && plot_height >= 2,
        "Canvas: " + std::to_string(width) + "x" + std::to_string(height) + " pixels leave no plot area inside the margins");
  mapping_ = WorldToPixel{range, margins.left, margins.top, plot_width, plot_height};
  image_ = std::make_unique<Image>();
  image_->bgr = cv::Mat(height, width, CV_8UC3, to_bgr(background));
}

Canvas::~Canvas() = default;
Canvas::Canvas(Canvas&&) noexcept = default;
Canvas& Canvas::operator=(Canvas&&) noexcept = default;

void Canvas::draw_polyline(const torch::Tensor& points, Color color, int thickness) {
  const torch::Tensor p = checked_points(points, "Canvas::draw_polyline");
  const auto a = p.accessor<double, 2>();
  // Non-finite points (a diverged sample) split the line instead of drawing garbage.
  std::vector<cv::Point> run;
  auto flush = [&] {
    if (run.size() == 1) cv::circle(image_->bgr, run[0], std::max(1, thickness), to_bgr(color), cv::FILLED, cv::LINE_AA);
    if (run.size() >= 2) cv::polylines(image_->bgr, run, /*isClosed=*/false, to_bgr(color), thickness, cv::LINE_AA);
    run.clear();
  };
  for (int64_t i = 0; i < p.size(0); ++i) {
    if (std::isfinite(a[i][0]) && std::isfinite(a[i][1])) {
      run.push_back(to_pixel(mapping_, a[i][0], a[i][1]));
    } else {
      flush();
    }
  }
  flush();
}

void Canvas::draw_points(const torch::Tensor& points, Color color, int radius) {
  const torch::Tensor p = checked_points(points, "Canvas::draw_points");
  const auto a = p.accessor<double, 2>();
  for (int64_t i = 0; i < p.size(0); ++i) {
    if (!std::isfinite(a[i][0]) || !std::isfinite(a[i][1])) continue;
    cv::circle(image_->bgr, to_pixel(mapping_, a[i][0], a[i][1]), std::max(1, radius), to_bgr(color), cv::FILLED,
               cv::LINE_AA);
  }
}

void Canvas::draw_pixel_line(int x0, int y0, int x1, int y1, Color color, int thickness) {
  cv::line(image_->bgr, cv::Point(x0, y0), cv::Point(x1, y1), to_bgr(color), thickness, cv::LINE_AA);
}

void Canvas::draw_axis_box(Color color) {
  const cv::Point top_left(mapping_.left, mapping_.top);
  const cv::Point bottom_right(mapping_.left + mapping_.width - 1, mapping_.top + mapping_.height - 1);
  cv::rectangle(image_->bgr, top_left, bottom_right, to_bgr(color), 1);
}

void Canvas::draw_pixel_rect(int x0, int y0, int x1, int y1, Color color, int thickness) {
  cv::rectangle(image_->bgr, cv::Point(x0, y0), cv::Point(x1, y1), to_bgr(color), thickness);
}

void Canvas::draw_image(const torch::Tensor& image, int x, int y, int scale) {
  check(image.defined() && image.dim() == 3 && image.size(2) == 3 && image.scalar_type() == torch::kUInt8 && scale >= 1,
        "Canvas::draw_image: expected a [h, w, 3] uint8 RGB image and scale >= 1, got " +
            (image.defined() ? shape_str(image) : std::string("an undefined tensor")));
  cv::Mat bgr = rgb_tensor_to_bgr(image);
  if (scale > 1) cv::resize(bgr, bgr, cv::Size(), scale, scale, cv::INTER_NEAREST);
  // The part of the image that falls on the canvas.
  const cv::Rect target = cv::Rect(x, y, bgr.cols, bgr.rows) & cv::Rect(0, 0, width_, height_);
  if (target.empty()) return;
  bgr(cv::Rect(target.x - x, target.y - y, target.width, target.height)).copyTo(image_->bgr(target));
}

void Canvas::draw_text(const std::string& text, int x, int y, Color color, double scale) {
  cv::putText(image_->bgr, text, cv::Point(x, y), cv::FONT_HERSHEY_SIMPLEX, scale, to_bgr(color), 1, cv::LINE_AA);
}

void Canvas::draw_title(const std::string& title, Color color) {
  constexpr double kScale = 0.5;
  int baseline = 0;
  const cv::Size size = cv::getTextSize(title, cv::FONT_HERSHEY_SIMPLEX, kScale, 1, &baseline);
  const int x = std::max(2, (width_ - size.width) / 2);
  const int y = std::max(size.height + 2, (mapping_.top + size.height) / 2);
  draw_text(title, x, y, color, kScale);
}

torch::Tensor Canvas::to_tensor() const {
  cv::Mat rgb;
  cv::cvtColor(image_->bgr, rgb, cv::COLOR_BGR2RGB);
  return torch::from_blob(rgb.data, {height_, width_, 3}, torch::kUInt8).clone();  // [H, W, 3]
}

void Canvas::write_png(const std::string& path) const { write_bgr_png(path, image_->bgr); }

void write_trajectory_panels(const std::string& path, const std::vector<TrajectoryPanel>& panels,
                             const TrajectoryPanelStyle& style) {
  check(!panels.empty(), "write_trajectory_panels: no panels for " + path);
  std::vector<torch::Tensor> images;  // each [S, S, 3]
  for (const TrajectoryPanel& panel : panels) {
    Canvas canvas(style.panel_size, style.panel_size, style.range);
    canvas.draw_axis_box(colors::kGray);
    for (const torch::Tensor& t : panel.trajectories) {
      check(t.defined() && (t.dim() == 2 || t.dim() == 3) && t.size(-1) == 2,
            "write_trajectory_panels: panel '" + panel.title + "' has a trajectory tensor of shape " +
                (t.defined() ? shape_str(t) : std::string("undefined")) + ", expected [L, 2] or [N, L, 2]");
      const torch::Tensor batch = t.dim() == 2 ? t.unsqueeze(0) : t;  // [N, L, 2]
      for (int64_t i = 0; i < batch.size(0); ++i) {
        canvas.draw_polyline(batch[i], panel.color, style.line_thickness);
        if (style.start_point_radius > 0 && batch.size(1) > 0)
          canvas.draw_points(batch[i].slice(0, 0, 1), panel.color, style.start_point_radius);
      }
    }
    canvas.draw_title(panel.title);
    images.push_back(canvas.to_tensor());
  }
  write_bgr_png(path, rgb_tensor_to_bgr(torch::cat(images, /*dim=*/1)));  // side by side: along width
}

void write_line_plot(const std::string& path, const std::vector<double>& x, const std::vector<LineSeries>& series,
                     const LinePlotOptions& options) {
  check(!x.empty() && !series.empty(), "write_line_plot: need at least one x value and one series for " + path);
  auto usable_y = [&](double v) { return std::isfinite(v) && (!options.log_y || v > 0.0); };
  auto transform_y = [&](double v) { return options.log_y ? std::log10(v) : v; };

  // Data range over the plottable points, padded so the curves do not touch the box.
  DataRange range{INFINITY, -INFINITY, INFINITY, -INFINITY};
  for (const LineSeries& s : series) {
    check(s.y.size() == x.size(), "write_line_plot: series '" + s.label + "' has " + std::to_string(s.y.size()) +
                                      " values but x has " + std::to_string(x.size()) + " (" + path + ")");
    for (size_t i = 0; i < x.size(); ++i) {
      if (!std::isfinite(x[i]) || !usable_y(s.y[i])) continue;
      range.x_min = std::min(range.x_min, x[i]);
      range.x_max = std::max(range.x_max, x[i]);
      range.y_min = std::min(range.y_min, transform_y(s.y[i]));
      range.y_max = std::max(range.y_max, transform_y(s.y[i]));
    }
  }
  if (!std::isfinite(range.x_min)) range = DataRange{0.0, 1.0, 0.0, 1.0};  // nothing plottable: empty axes
  if (range.x_max == range.x_min) range.x_min -= 0.5, range.x_max += 0.5;
  if (range.y_max == range.y_min) range.y_min -= 0.5, range.y_max += 0.5;
  const double y_pad = 0.05 * (range.y_max - range.y_min);
  range.y_min -= y_pad;
  range.y_max += y_pad;

  // The legend sits in the right margin, wide enough for the longest label, so it never hides a curve.
  constexpr double kLegendScale = 0.4;
  int legend_width = 0;
  for (const LineSeries& s : series) {
    int baseline = 0;
    legend_width = std::max(legend_width, cv::getTextSize(s.label, cv::FONT_HERSHEY_SIMPLEX, kLegendScale, 1, &baseline).width);
  }
  legend_width += legend_width > 0 ? 36 : 0;  // stroke + gaps
  Canvas canvas(options.width, options.height, range, Canvas::Margins{70, 20 + legend_width, 30, 40});
  const WorldToPixel& m = canvas.mapping();
  for (const LineSeries& s : series) {
    std::vector<double> flat;  // [L, 2] with NaN rows where the line breaks
    for (size_t i = 0; i < x.size(); ++i) {
      const bool ok = std::isfinite(x[i]) && usable_y(s.y[i]);
      flat.push_back(ok ? x[i] : NAN);
      flat.push_back(ok ? transform_y(s.y[i]) : NAN);
    }
    canvas.draw_polyline(torch::tensor(flat, torch::kDouble).reshape({-1, 2}), s.color, 1);
  }
  for (double marker : options.x_markers) {
    if (!std::isfinite(marker) || marker < range.x_min || marker > range.x_max) continue;
    const int px = static_cast<int>(std::lround(m.px(marker)));
    for (int py = m.top; py < m.top + m.height; py += 8)  // dashed
      canvas.draw_pixel_line(px, py, px, std::min(py + 4, m.top + m.height - 1), colors::kGray, 1);
  }
  canvas.draw_axis_box();
  canvas.draw_title(options.title);

  // Axis ranges at the box corners (actual values, also in log scale).
  auto y_text = [&](double v) { return short_number(options.log_y ? std::pow(10.0, v) : v); };
  const int box_right = m.left + m.width - 1, box_bottom = m.top + m.height - 1;
  canvas.draw_text(y_text(range.y_max), 4, m.top + 10, colors::kBlack, 0.4);
  canvas.draw_text(y_text(range.y_min), 4, box_bottom, colors::kBlack, 0.4);
  canvas.draw_text(short_number(range.x_min), m.left, box_bottom + 16, colors::kBlack, 0.4);
  canvas.draw_text(short_number(range.x_max), box_right - 40, box_bottom + 16, colors::kBlack, 0.4);
  if (!options.x_label.empty()) canvas.draw_text(options.x_label, m.left + m.width / 2 - 30, box_bottom + 32);
  if (options.log_y) canvas.draw_text("log y", 4, m.top + m.height / 2, colors::kGray, 0.4);

  // Legend: right of the box, a short stroke and the label per series.
  int legend_y = m.top + 10;
  for (const LineSeries& s : series) {
    const int x0 = box_right + 10;
    canvas.draw_pixel_line(x0, legend_y - 4, x0 + 18, legend_y - 4, s.color, 2);
    canvas.draw_text(s.label, x0 + 24, legend_y, colors::kBlack, kLegendScale);
    legend_y += 16;
  }
  canvas.write_png(path);
}

void write_png(const std::string& path, const torch::Tensor& image) {
  check(image.defined() && image.dim() == 3 && image.size(2) == 3 && image.scalar_type() == torch::kUInt8,
        "write_png: image must be a [H, W, 3] uint8 RGB tensor, got " +
            (image.defined() ? shape_str(image) + " " + std::string(c10::toString(image.scalar_type()))
                             : std::string("an undefined tensor")) +
            " for " + path);
  write_bgr_png(path, rgb_tensor_to_bgr(image));
}

#else
// ================================ without OpenCV ================================

struct Canvas::Image {};

Canvas::Canvas(int width, int height, DataRange range, Margins margins, Color)
    : width_(width), height_(height), mapping_{range, margins.left, margins.top, 1, 1} {
  throw_without_opencv("df::plot::Canvas");
}
Canvas::~Canvas() = default;
Canvas::Canvas(Canvas&&) noexcept = default;
Canvas& Canvas::operator=(Canvas&&) noexcept = default;
void Canvas::draw_polyline(const torch::Tensor&, Color, int) { throw_without_opencv("Canvas::draw_polyline"); }
void Canvas::draw_points(const torch::Tensor&, Color, int) { throw_without_opencv("Canvas::draw_points"); }
void Canvas::draw_pixel_line(int, int, int, int, Color, int) { throw_without_opencv("Canvas::draw_pixel_line"); }
void Canvas::draw_axis_box(Color) { throw_without_opencv("Canvas::draw_axis_box"); }
void Canvas::draw_text(const std::string&, int, int, Color, double) { throw_without_opencv("Canvas::draw_text"); }
void Canvas::draw_title(const std::string&, Color) { throw_without_opencv("Canvas::draw_title"); }
torch::Tensor Canvas::to_tensor() const { throw_without_opencv("Canvas::to_tensor"); }
void Canvas::write_png(const std::string& path) const { throw Error("Canvas::write_png: built without OpenCV: cannot write " + path); }
void write_trajectory_panels(const std::string& path, const std::vector<TrajectoryPanel>&, const TrajectoryPanelStyle&) {
  throw Error("write_trajectory_panels: built without OpenCV: cannot write " + path);
}
void write_line_plot(const std::string& path, const std::vector<double>&, const std::vector<LineSeries>&,
                     const LinePlotOptions&) {
  throw Error("write_line_plot: built without OpenCV: cannot write " + path);
}
void Canvas::draw_pixel_rect(int, int, int, int, Color, int) { throw_without_opencv("Canvas::draw_pixel_rect"); }
void Canvas::draw_image(const torch::Tensor&, int, int, int) { throw_without_opencv("Canvas::draw_image"); }
void write_png(const std::string& path, const torch::Tensor&) {
  throw Error("write_png: built without OpenCV: cannot write " + path);
}

#endif

}  // namespace df::plot
