// A tiny plotting library on OpenCV for the experiments' figures: 2-D trajectories in side-by-side panels,
// line plots (loss curves), image strips and MP4 videos (video_writer.h). OpenCV stays out of this header; when the
// project is built without OpenCV (no DF_HAVE_OPENCV) plotting_available() is false and every drawing/writing function
// throws df::Error("... built without OpenCV: cannot write <path>").
//
// Conventions: colours are RGB; data coordinates have y pointing up; images are [H, W, 3] uint8 RGB.
// Writers create missing parent folders of `path` and throw df::Error naming the path when writing fails.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "df/plot/video_writer.h"  // VideoWriter, write_video

namespace df::plot {

// True when the library was built with OpenCV and can write PNG / MP4 files.
bool plotting_available();

struct Color {
  uint8_t r = 0, g = 0, b = 0;
};
namespace colors {
inline constexpr Color kWhite{255, 255, 255};
inline constexpr Color kBlack{0, 0, 0};
inline constexpr Color kGray{128, 128, 128};
inline constexpr Color kBlue{31, 119, 180};
inline constexpr Color kOrange{255, 127, 14};
inline constexpr Color kGreen{44, 160, 44};
inline constexpr Color kRed{214, 39, 40};
inline constexpr Color kPurple{148, 103, 189};
}  // namespace colors

// Colour i of a fixed qualitative palette (cycles), for series without an explicit colour.
Color palette_color(size_t i);

// Data rectangle shown by a plot.
struct DataRange {
  double x_min = -1.0, x_max = 1.0;
  double y_min = -1.0, y_max = 1.0;
};

// Affine map from data coordinates to pixel coordinates of a plot area (pixel y grows downwards, data y
// upwards): x_min -> left, x_max -> left + width - 1, y_max -> top, y_min -> top + height - 1.
// Pure arithmetic, available without OpenCV.
struct WorldToPixel {
  DataRange range;
  int left = 0, top = 0, width = 1, height = 1;  // plot area in pixels
  double px(double x) const;
  double py(double y) const;
};

// An RGB image with a data-to-pixel mapping. The plot area is the image minus margins; the title sits in
// the top margin. Without OpenCV the constructor throws df::Error.
class Canvas {
 public:
  struct Margins {
    int left = 10, right = 10, top = 28, bottom = 10;
  };
  Canvas(int width, int height, DataRange range, Margins margins, Color background = colors::kWhite);
  Canvas(int width, int height, DataRange range) : Canvas(width, height, range, Margins{}) {}
  ~Canvas();
  Canvas(Canvas&&) noexcept;
  Canvas& operator=(Canvas&&) noexcept;

  const WorldToPixel& mapping() const { return mapping_; }
  int width() const { return width_; }
  int height() const { return height_; }

  // points [L, 2] (data units) joined by straight segments; L == 1 draws a dot.
  void draw_polyline(const torch::Tensor& points, Color color, int thickness = 1);
  // points [M, 2] as filled discs of `radius` pixels.
  void draw_points(const torch::Tensor& points, Color color, int radius = 2);
  // Straight segment between two pixel positions (legends, markers).
  void draw_pixel_line(int x0, int y0, int x1, int y1, Color color, int thickness = 1);
  // Rectangle around the plot area.
  void draw_axis_box(Color color = colors::kBlack);
  // Rectangle outline between two pixel corners (inclusive), e.g. to mark frames in a strip.
  void draw_pixel_rect(int x0, int y0, int x1, int y1, Color color, int thickness = 1);
  // Pastes image [h, w, 3] uint8 RGB with its top-left corner at pixel (x, y), clipped to the canvas;
  // `scale` > 1 enlarges it with nearest-neighbour pixels (small video frames).
  void draw_image(const torch::Tensor& image, int x, int y, int scale = 1);
  // Text at pixel (x, y) = baseline-left; scale 0.4-0.6 reads well.
  void draw_text(const std::string& text, int x, int y, Color color = colors::kBlack, double scale = 0.45);
  // Text centred in the top margin.
  void draw_title(const std::string& title, Color color = colors::kBlack);

  // [H, W, 3] uint8 RGB copy of the image (e.g. one video frame).
  torch::Tensor to_tensor() const;
  void write_png(const std::string& path) const;

 private:
  struct Image;  // holds the cv::Mat
  int width_, height_;
  WorldToPixel mapping_;
  std::unique_ptr<Image> image_;
};

// One panel of write_trajectory_panels: every trajectory drawn as a polyline in `color`, its first point as
// a dot (shows where each trajectory starts).
struct TrajectoryPanel {
  std::string title;
  std::vector<torch::Tensor> trajectories;  // each [L, 2] or [N, L, 2]
  Color color = colors::kBlue;
};
struct TrajectoryPanelStyle {
  int panel_size = 360;                        // pixels, each panel is square
  DataRange range{-1.2, 1.2, -1.2, 1.2};       // the cross square with a little room
  int line_thickness = 1;
  int start_point_radius = 2;                  // 0 hides start points
};
// Writes the panels side by side, left to right, into one PNG.
void write_trajectory_panels(const std::string& path, const std::vector<TrajectoryPanel>& panels,
                             const TrajectoryPanelStyle& style = {});

// y values over a shared x axis; non-finite y values (and non-positive ones in log scale) break the line.
struct LineSeries {
  std::string label;
  std::vector<double> y;  // same length as x
  Color color = colors::kBlue;
};
struct LinePlotOptions {
  std::string title;
  std::string x_label;
  int width = 640, height = 400;
  bool log_y = false;  // e.g. loss curves
  std::vector<double> x_markers;  // dashed vertical lines at these x (e.g. the training length)
};
// x against each series, with a legend and the axis ranges printed at the box corners.
void write_line_plot(const std::string& path, const std::vector<double>& x, const std::vector<LineSeries>& series,
                     const LinePlotOptions& options = {});

// image [H, W, 3] uint8 RGB (any device) -> PNG.
void write_png(const std::string& path, const torch::Tensor& image);

}  // namespace df::plot
