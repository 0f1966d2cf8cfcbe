// Per-frame video metrics. Frames are [T, B, C, H, W] float in [0, 1] (data range 1).
//  * Against ground truth: MSE, PSNR = 10 log10(1 / MSE) (data range 1; the reference's PSNR assumes a range
//    of 2 on the same [0, 1] data, i.e. adds 20 log10 2 = 6.02 dB), and SSIM (Wang et al. 2004: 11x11
//    Gaussian window, sigma 1.5, K1 0.01, K2 0.03, valid positions only, averaged over channels).
//  * Without ground truth (so it also works on DMLab and users' videos): per-frame statistics of the image
//    (mean, contrast, share of mid-tone pixels, sharpness, bright blobs) compared with the range they take on
//    the training data; a frame whose statistics leave that range is "out of the data's range".
// FVD needs the weights of an I3D network, which cannot be obtained here; it is not computed.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

namespace df::video {

struct FrameErrors {
  torch::Tensor mse;   // [T, B]
  torch::Tensor psnr;  // [T, B] dB, data range 1 (inf for identical frames)
  torch::Tensor ssim;  // [T, B]
};
FrameErrors compare_frames(const torch::Tensor& predicted, const torch::Tensor& truth);

// SSIM of every frame pair [T, B] (images at least 11x11).
torch::Tensor ssim(const torch::Tensor& predicted, const torch::Tensor& truth);

// Position against appearance, for objects on a dark background (Moving MNIST): a rollout can lose where its
// object is or what it looks like, and PSNR alone cannot tell which.
struct AlignedErrors {
  torch::Tensor centroid_error;  // [T, B] pixels between the intensity-weighted centroids of the grey levels
                                 // (clamped to [0, 1], channels averaged); NaN where a frame has no ink
  torch::Tensor aligned_psnr;    // [T, B] dB, data range 1, of the prediction moved by the centroid offset rounded
                                 // to whole pixels (what leaves the frame is dropped, zeros come in); no move
                                 // where a centroid is undefined
  torch::Tensor centroid_lag;    // [T, B] pixels the prediction's centroid is ahead of (+) or behind (-) the
                                 // truth's along the truth's motion since its previous frame: a model that slows
                                 // the object down lags. NaN where a centroid is undefined or the truth moved less
                                 // than a quarter pixel (no direction)
  torch::Tensor centroid_across; // [T, B] pixels between the centroids across that motion (sqrt(error^2 - lag^2));
                                 // NaN where the lag is
};
// `previous_truth` [B, C, H, W] (optional): the truth frame before truth[0], which gives the first frame's motion
// (without it the first frame's lag is NaN).
AlignedErrors compare_aligned(const torch::Tensor& predicted, const torch::Tensor& truth,
                              const torch::Tensor& previous_truth = {});

// The no-ground-truth statistics, in this order (names for CSV headers).
const std::vector<std::string>& frame_statistic_names();
// [T, B, S] float64 for frames [T, B, C, H, W] (clamped to [0, 1] first; channels averaged to grey):
//   mean       mean grey level
//   contrast   standard deviation of the grey levels
//   midtone    share of pixels with grey level in (0.25, 0.75): blur and washed-out noise raise it
//   sharpness  mean |discrete Laplacian|: blur lowers it, noise raises it
//   blobs      connected bright regions (grey > 0.5, 4-connected) of at least `min_blob_pixels` pixels:
//              for Moving MNIST the number of digit-sized blobs
torch::Tensor frame_statistics(const torch::Tensor& frames, int64_t min_blob_pixels);
// A digit-sized blob at this resolution: a quarter of the ink of a typical 28-pixel digit on a 64 canvas.
int64_t default_min_blob_pixels(int64_t resolution);

// The range each statistic takes on real frames: [quantile q, quantile 1 - q] over the frames given.
struct StatisticRange {
  std::vector<double> low, high;  // one per statistic
};
StatisticRange statistic_range(const torch::Tensor& statistics, double q = 0.001);
// [T, B] bool: any statistic of the frame outside its range (widened by `margin` of the range's width).
torch::Tensor out_of_range(const torch::Tensor& statistics, const StatisticRange& range, double margin = 0.05);

// When a rollout leaves the data's range: the first frame f >= first such that, on average over frames
// [f, f + window) (cut at the end), at least half of the sequences are out of range -- a lasting exit, not
// one odd frame. `share` holds the out-of-range share of every frame; -1 = never.
int64_t first_frame_out_of_range(const std::vector<double>& share, int64_t first, int64_t window);

}  // namespace df::video
