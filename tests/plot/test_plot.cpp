#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <string>

#include "df/core/error.h"
#include "df/plot/plot.h"
#include "df/plot/video_writer.h"

#ifdef DF_HAVE_OPENCV
#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>
#endif

using namespace df::plot;

namespace {

#ifdef DF_HAVE_OPENCV
std::string output_path(const std::string& name) {
  const auto folder = std::filesystem::path(DF_BINARY_DIR) / "test_output" / "tools";
  std::filesystem::create_directories(folder);
  const auto path = folder / name;
  std::filesystem::remove(path);
  return path.string();
}

// BGR pixel of a decoded image at (row, col), as RGB.
Color pixel(const cv::Mat& image, int row, int col) {
  const auto bgr = image.at<cv::Vec3b>(row, col);
  return Color{bgr[2], bgr[1], bgr[0]};
}
bool is_white(Color c) { return c.r == 255 && c.g == 255 && c.b == 255; }
int non_white_pixels(const cv::Mat& image) {
  int count = 0;
  for (int r = 0; r < image.rows; ++r)
    for (int c = 0; c < image.cols; ++c) count += !is_white(pixel(image, r, c));
  return count;
}
#endif

}  // namespace

TEST(WorldToPixel, MapsCornersWithYUp) {
  const WorldToPixel m{DataRange{-1, 1, 0, 10}, 10, 20, 101, 51};
  EXPECT_DOUBLE_EQ(m.px(-1), 10);
  EXPECT_DOUBLE_EQ(m.px(1), 110);
  EXPECT_DOUBLE_EQ(m.px(0), 60);
  EXPECT_DOUBLE_EQ(m.py(10), 20);  // top of the data range -> top row of the plot area
  EXPECT_DOUBLE_EQ(m.py(0), 70);
  EXPECT_DOUBLE_EQ(m.py(5), 45);
}

TEST(Plot, WithoutOpenCVEveryWriterThrowsNamingThePath) {
  if (plotting_available()) GTEST_SKIP() << "built with OpenCV";
  try {
    write_line_plot("/tmp/x.png", {0.0}, {LineSeries{"a", {1.0}}});
    FAIL() << "expected df::Error";
  } catch (const df::Error& e) {
    EXPECT_NE(std::string(e.what()).find("built without OpenCV: cannot write /tmp/x.png"), std::string::npos);
  }
  EXPECT_THROW(write_trajectory_panels("/tmp/x.png", {TrajectoryPanel{}}), df::Error);
  EXPECT_THROW(write_video("/tmp/x.mp4", torch::zeros({1, 8, 8, 3}, torch::kUInt8), 10), df::Error);
  EXPECT_THROW(write_png("/tmp/x.png", torch::zeros({8, 8, 3}, torch::kUInt8)), df::Error);
  EXPECT_THROW(Canvas(100, 100, DataRange{}), df::Error);
}

#ifdef DF_HAVE_OPENCV

TEST(Plot, CanvasPngDecodesWithTheLineWhereItWasDrawn) {
  if (!plotting_available()) GTEST_SKIP() << "built without OpenCV";
  Canvas canvas(200, 160, DataRange{-1, 1, -1, 1});
  canvas.draw_axis_box();
  canvas.draw_title("a red line");
  canvas.draw_polyline(torch::tensor({-0.8f, 0.0f, 0.8f, 0.0f}).reshape({2, 2}), colors::kRed, 3);
  const std::string path = output_path("canvas.png");
  canvas.write_png(path);

  const cv::Mat image = cv::imread(path, cv::IMREAD_COLOR);
  ASSERT_FALSE(image.empty()) << path;
  EXPECT_EQ(image.cols, 200);
  EXPECT_EQ(image.rows, 160);
  const auto& m = canvas.mapping();
  const Color on_line = pixel(image, static_cast<int>(std::lround(m.py(0))), static_cast<int>(std::lround(m.px(0))));
  EXPECT_EQ(on_line.r, colors::kRed.r);
  EXPECT_EQ(on_line.g, colors::kRed.g);
  EXPECT_EQ(on_line.b, colors::kRed.b);
  // Away from the line (upper-left quarter of the plot area) stays background.
  EXPECT_TRUE(is_white(pixel(image, static_cast<int>(m.py(0.5)), static_cast<int>(m.px(-0.5)))));
  // The same image comes back from to_tensor ([H, W, 3] RGB).
  const auto rgb = canvas.to_tensor();
  EXPECT_EQ(rgb.sizes(), (std::vector<int64_t>{160, 200, 3}));
  EXPECT_EQ(rgb[static_cast<int>(std::lround(m.py(0)))][static_cast<int>(std::lround(m.px(0)))][0].item<int>(),
            colors::kRed.r);
}

TEST(Plot, ImagePngDecodesToTheSamePixels) {
  if (!plotting_available()) GTEST_SKIP() << "built without OpenCV";
  auto image = torch::zeros({6, 10, 3}, torch::kUInt8);
  image[2][7][0] = 200;  // one red pixel, row 2, column 7
  image[5][0][2] = 90;   // one blue pixel in the last row
  const std::string path = output_path("image.png");
  write_png(path, image);
  const cv::Mat decoded = cv::imread(path, cv::IMREAD_COLOR);
  ASSERT_FALSE(decoded.empty()) << path;
  EXPECT_EQ(decoded.cols, 10);
  EXPECT_EQ(decoded.rows, 6);
  EXPECT_EQ(pixel(decoded, 2, 7).r, 200);
  EXPECT_EQ(pixel(decoded, 5, 0).b, 90);
  EXPECT_EQ(pixel(decoded, 0, 0).r, 0);
  EXPECT_THROW(write_png(path, torch::zeros({6, 10}, torch::kUInt8)), df::Error);
}

TEST(Plot, TrajectoryPanelsSideBySide) {
  if (!plotting_available()) GTEST_SKIP() << "built without OpenCV";
  const auto diagonal = torch::stack({torch::linspace(-1, 1, 16), torch::linspace(-1, 1, 16)}, 1);  // [16, 2]
  const auto batch = torch::stack({diagonal, diagonal * torch::tensor({1.0f, -1.0f})});             // [2, 16, 2]: the cross
  TrajectoryPanelStyle style;
  style.panel_size = 120;
  const std::string path = output_path("panels.png");
  write_trajectory_panels(path, {{"memory", {batch}, colors::kBlue}, {"no memory", {diagonal}, colors::kOrange},
                                 {"empty", {}, colors::kGreen}},
                          style);
  const cv::Mat image = cv::imread(path, cv::IMREAD_COLOR);
  ASSERT_FALSE(image.empty()) << path;
  EXPECT_EQ(image.cols, 3 * 120);
  EXPECT_EQ(image.rows, 120);
  const int drawn0 = non_white_pixels(image(cv::Rect(0, 0, 120, 120)));
  const int drawn1 = non_white_pixels(image(cv::Rect(120, 0, 120, 120)));
  const int drawn2 = non_white_pixels(image(cv::Rect(240, 0, 120, 120)));
  EXPECT_GT(drawn0, drawn2 + 100);  // two diagonals beyond the box and title
  EXPECT_GT(drawn1, drawn2 + 50);
  EXPECT_GT(drawn0, drawn1 + 50);  // the cross has twice the line of one diagonal
}

TEST(Plot, LinePlotWritesAPngOfTheRequestedSize) {
  if (!plotting_available()) GTEST_SKIP() << "built without OpenCV";
  std::vector<double> x, loss, other;
  for (int i = 0; i < 50; ++i) {
    x.push_back(i);
    loss.push_back(1.0 / (1 + i));
    other.push_back(i == 10 ? -1.0 : 0.5);  // non-positive: a gap in log scale, not an error
  }
  LinePlotOptions options;
  options.title = "loss";
  options.x_label = "step";
  options.width = 320;
  options.height = 200;
  options.log_y = true;
  const std::string path = output_path("nested/line.png");  // parent folder is created
  write_line_plot(path, x, {{"train", loss, colors::kBlue}, {"val", other, colors::kOrange}}, options);
  const cv::Mat image = cv::imread(path, cv::IMREAD_COLOR);
  ASSERT_FALSE(image.empty()) << path;
  EXPECT_EQ(image.cols, 320);
  EXPECT_EQ(image.rows, 200);
  EXPECT_GT(non_white_pixels(image), 500);
  EXPECT_THROW(write_line_plot(path, x, {{"short", {1.0, 2.0}, colors::kRed}}), df::Error);
}

TEST(Plot, VideoRoundTripsFrameCountAndSize) {
  if (!plotting_available()) GTEST_SKIP() << "built without OpenCV";
  auto frames = torch::zeros({6, 48, 64, 3}, torch::kUInt8);  // [T, H, W, 3]
  for (int t = 0; t < 6; ++t) frames[t].index_put_({torch::indexing::Slice(), torch::indexing::Slice(t * 10, t * 10 + 4)}, 255);
  const std::string path = output_path("video.mp4");
  write_video(path, frames, 10.0);
  cv::VideoCapture capture(path);
  ASSERT_TRUE(capture.isOpened()) << path;
  int count = 0;
  cv::Mat frame;
  while (capture.read(frame)) {
    EXPECT_EQ(frame.cols, 64);
    EXPECT_EQ(frame.rows, 48);
    ++count;
  }
  EXPECT_EQ(count, 6);
  EXPECT_THROW(write_video(path, torch::zeros({6, 48, 64}, torch::kUInt8), 10.0), df::Error);
  EXPECT_THROW(write_video(path, frames.to(torch::kFloat), 10.0), df::Error);
}

TEST(Plot, StreamingVideoWriterKeepsFramesAndRejectsASizeChange) {
  if (!plotting_available()) GTEST_SKIP() << "built without OpenCV";
  const std::string path = output_path("stream.mp4");
  {
    VideoWriter writer(path, 8.0);
    for (int t = 0; t < 12; ++t) {
      auto frame = torch::zeros({32, 48, 3}, torch::kUInt8);  // [H, W, 3]: a white bar at x = 3t
      frame.slice(1, 3 * t, 3 * t + 6).fill_(255);
      writer.write(frame);
    }
    EXPECT_EQ(writer.frames_written(), 12);
    EXPECT_THROW(writer.write(torch::zeros({16, 48, 3}, torch::kUInt8)), df::Error);
  }  // the destructor closes the file
  cv::VideoCapture capture(path);
  ASSERT_TRUE(capture.isOpened()) << path;
  cv::Mat frame;
  int count = 0;
  while (capture.read(frame)) {
    ASSERT_EQ(frame.cols, 48);
    ASSERT_EQ(frame.rows, 32);
    // The bar is where it was drawn (lossy codec: bright inside, dark far from it).
    EXPECT_GT(pixel(frame, 16, 3 * count + 3).r, 160) << count;
    EXPECT_LT(pixel(frame, 16, (3 * count + 24) % 48).r, 80) << count;
    ++count;
  }
  EXPECT_EQ(count, 12);
  VideoWriter empty(output_path("empty.mp4"), 8.0);
  EXPECT_THROW(empty.close(), df::Error);  // an MP4 needs a frame
}

TEST(Plot, DrawImagePastesEnlargedPixelsAndWritePngKeepsThem) {
  if (!plotting_available()) GTEST_SKIP() << "built without OpenCV";
  Canvas canvas(40, 30, DataRange{}, Canvas::Margins{0, 0, 0, 0});
  auto image = torch::zeros({2, 3, 3}, torch::kUInt8);
  image[0][0][0] = 255;  // top-left pixel red
  image[1][2][2] = 200;  // bottom-right pixel blue
  canvas.draw_image(image, 5, 4, /*scale*/ 3);
  canvas.draw_image(image, 38, 28, 3);  // clipped at the border, no error
  const auto t = canvas.to_tensor();
  EXPECT_EQ(t[4][5][0].item<int>(), 255);
  EXPECT_EQ(t[6][7][0].item<int>(), 255);  // inside the 3x3 block
  EXPECT_EQ(t[7][12][2].item<int>(), 200);
  EXPECT_EQ(t[3][5][0].item<int>(), 255);  // white background above
  EXPECT_EQ(t[3][5][1].item<int>(), 255);
  const std::string path = output_path("pasted.png");
  write_png(path, t);
  const cv::Mat back = cv::imread(path);
  ASSERT_FALSE(back.empty());
  EXPECT_NEAR(pixel(back, 7, 12).b, 200, 1);
  EXPECT_THROW(write_png(path, torch::zeros({4, 4}, torch::kUInt8)), df::Error);
}

TEST(Plot, WriteFailureNamesThePath) {
  if (!plotting_available()) GTEST_SKIP() << "built without OpenCV";
  Canvas canvas(50, 50, DataRange{});
  try {
    canvas.write_png("/proc/definitely/not/writable.png");
    FAIL() << "expected df::Error";
  } catch (const df::Error& e) {
    EXPECT_NE(std::string(e.what()).find("/proc/definitely/not/writable.png"), std::string::npos);
  }
}

#endif  // DF_HAVE_OPENCV
