#include "df/models/unet_conv_gru.h"
#include "df/core/compat.h"

#include <cmath>
#include <utility>

#include "df/core/error.h"
#include "sinusoidal_embedding.h"
#include "unet_blocks.h"

namespace df {

namespace {

// Conv GRU cell with 3x3 convolutions. Gates are chunked (reset, update, new) and the update gate keeps
// the old state: h' = u * h + (1 - u) * n, n = tanh(x_n + r * h_n), as in the authors' cell.
class ConvGruCellImpl : public torch::nn::Module {
 public:
  ConvGruCellImpl(int64_t input_channels, int64_t hidden_channels)
      : x2h_(register_module("x2h", unet::conv2d(input_channels, 3 * hidden_channels, 3))),
        h2h_(register_module("h2h", unet::conv2d(hidden_channels, 3 * hidden_channels, 3))) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(hidden_channels));
    torch::NoGradGuard no_grad;
    for (auto& p : parameters()) p.uniform_(-bound, bound);
  }
  // input [B, C_in, H, W], hidden [B, C_h, H, W] -> [B, C_h, H, W]
  torch::Tensor forward(const torch::Tensor& input, const torch::Tensor& hidden) {
    const auto xg = x2h_(input).chunk(3, 1);
    const auto hg = h2h_(hidden).chunk(3, 1);
    const auto reset = torch::sigmoid(xg[0] + hg[0]);
    const auto update = torch::sigmoid(xg[1] + hg[1]);
    const auto fresh = torch::tanh(xg[2] + reset * hg[2]);
    return update * hidden + (1 - update) * fresh;
  }

 private:
  unet::Conv2d x2h_, h2h_;
};
TORCH_MODULE(ConvGruCell);

// ResBlock2d of the head: relu(conv3x3(relu(conv3x3(x))) + shortcut(x)), convolutions without bias.
// The shortcut is Sequential(1x1 conv) when channels change, the identity otherwise.
class ResBlock2dImpl : public torch::nn::Module {
 public:
  ResBlock2dImpl(int64_t in, int64_t out)
      : conv1_(register_module("conv1", unet::conv2d(in, out, 3, /*bias=*/false))),
        conv2_(register_module("conv2", unet::conv2d(out, out, 3, /*bias=*/false))) {
    if (in != out) shortcut_ = register_module("shortcut", torch::nn::Sequential(unet::PointwiseConv2d(in, out, false)));
  }
  torch::Tensor forward(const torch::Tensor& x) {  // [B, in, H, W] -> [B, out, H, W]
    const auto h = conv2_(torch::relu(conv1_(x)));
    return torch::relu(h + (shortcut_ ? shortcut_->forward(x) : x));
  }

 private:
  unet::Conv2d conv1_, conv2_;
  torch::nn::Sequential shortcut_{nullptr};
};
TORCH_MODULE(ResBlock2d);

// One U-Net level, typed view of a ModuleList [ResnetBlock, ResnetBlock, attention, resample].
struct UnetLevel {
  unet::ResnetBlock block1{nullptr}, block2{nullptr};
  std::shared_ptr<unet::AttentionBase> attn;
  // Sequential(pixel-unshuffle | nearest x2, conv) between levels, a plain 3x3 conv at the end.
  torch::nn::Sequential resample_seq{nullptr};
  unet::Conv2d resample_conv{nullptr};

  std::shared_ptr<torch::nn::Module> resample_module() const {
    if (resample_seq) return resample_seq.ptr();
    return resample_conv.ptr();
  }
  torch::Tensor resample(const torch::Tensor& x) { return resample_seq ? resample_seq->forward(x) : resample_conv(x); }
};

}  // namespace

// The authors' `TransitionUnet`: lucidrains' U-Net over concat(z_{t-1}, x_noisy), then an optional conv GRU.
class TransitionUnetImpl : public torch::nn::Module {
 public:
  explicit TransitionUnetImpl(const UnetConvGruOptions& o) {
    const int64_t dim = o.network_size, z_ch = o.z_shape[0], x_ch = o.x_shape[0];
    // The ResBlocks' FiLM input: the level embedding (4 dim), with the condition embedding (2 dim) appended
    // when the model is conditioned (the reference's external_cond_mlp); no extra parameters otherwise.
    const int64_t level_dim = 4 * dim, cond_emb_dim = o.cond_dim > 0 ? 2 * dim : 0, time_dim = level_dim + cond_emb_dim;
    const auto n = static_cast<int64_t>(o.dim_mults.size());
    std::vector<int64_t> dims{dim};
    for (auto m : o.dim_mults) dims.push_back(dim * m);

    init_conv_ = register_module("init_conv", unet::conv2d(z_ch + x_ch, dim, 7));
    time_mlp_ =
        register_module("time_mlp", torch::nn::Sequential(SinusoidalEmbedding(dim), torch::nn::Linear(dim, level_dim),
                                                          torch::nn::GELU(), torch::nn::Linear(level_dim, level_dim)));
    if (o.cond_dim > 0)
      external_cond_mlp_ = register_module(
          "external_cond_mlp", torch::nn::Sequential(torch::nn::Linear(o.cond_dim, cond_emb_dim), torch::nn::GELU(),
                                                     torch::nn::Linear(cond_emb_dim, cond_emb_dim)));
    // Full attention only at the deepest level (and the middle); linear attention elsewhere.
    auto attention = [&](int64_t channels, bool full) -> std::shared_ptr<unet::AttentionBase> {
      if (full) return std::make_shared<unet::FullAttention>(channels, o.attn_heads, o.attn_dim_head, o.num_mem_kv);
      return std::make_shared<unet::LinearAttention>(channels, o.attn_heads, o.attn_dim_head, o.num_mem_kv);
    };
    auto add_level = [](torch::nn::ModuleList& list, UnetLevel level) {
      list->push_back(torch::nn::ModuleList(level.block1, level.block2, level.attn, level.resample_module()));
      return level;
    };

    downs_ = register_module("downs", torch::nn::ModuleList());
    for (int64_t i = 0; i < n; ++i) {
      const int64_t din = dims[i], dout = dims[i + 1];
      const bool last = i == n - 1;
      UnetLevel level;
      level.block1 = unet::ResnetBlock(din, din, time_dim, o.groups);
      level.block2 = unet::ResnetBlock(din, din, time_dim, o.groups);
      level.attn = attention(din, last);
      if (last)
        level.resample_conv = unet::conv2d(din, dout, 3);
      else
        level.resample_seq = unet::downsample(din, dout);
      down_levels_.push_back(add_level(downs_, std::move(level)));
    }

    const int64_t mid = dims.back();
    mid_block1_ = register_module("mid_block1", unet::ResnetBlock(mid, mid, time_dim, o.groups));
    mid_attn_ = register_module("mid_attn", attention(mid, true));
    mid_block2_ = register_module("mid_block2", unet::ResnetBlock(mid, mid, time_dim, o.groups));

    ups_ = register_module("ups", torch::nn::ModuleList());
    for (int64_t i = 0; i < n; ++i) {
      const int64_t din = dims[n - 1 - i], dout = dims[n - i];
      const bool last = i == n - 1;
      UnetLevel level;
      level.block1 = unet::ResnetBlock(dout + din, dout, time_dim, o.groups);  // input: skip concatenated
      level.block2 = unet::ResnetBlock(dout + din, dout, time_dim, o.groups);
      level.attn = attention(dout, i == 0);
      if (last)
        level.resample_conv = unet::conv2d(dout, din, 3);
      else
        level.resample_seq = unet::upsample(dout, din);
      up_levels_.push_back(add_level(ups_, std::move(level)));
    }

    final_res_block_ = register_module("final_res_block", unet::ResnetBlock(2 * dim, dim, time_dim, o.groups));
    final_conv_ = register_module("final_conv", unet::PointwiseConv2d(dim, z_ch));
    if (o.num_gru_layers == 1) gru_ = register_module("gru", ConvGruCell(z_ch, z_ch));
  }

  // z_prev [B, z_ch, H, W], x_noisy [B, x_ch, H, W], levels [B], cond [B, cond_dim] (conditioned models)
  // -> z [B, z_ch, H, W]
  torch::Tensor forward(const torch::Tensor& z_prev, const torch::Tensor& x_noisy, const torch::Tensor& levels,
                        const torch::Tensor& cond) {
    auto x = init_conv_(torch::cat({z_prev, x_noisy}, 1));  // [B, dim, H, W]
    const auto r = x;                                       // long skip into the final ResBlock
    auto t = unet::small_mlp_forward(time_mlp_, levels);  // [B, 4*dim]
    if (external_cond_mlp_) t = torch::cat({t, unet::small_mlp_forward(external_cond_mlp_, cond)}, 1);  // [B, 6*dim]

    std::vector<torch::Tensor> skips;
    for (auto& level : down_levels_) {
      x = level.block1(x, t);
      skips.push_back(x);
      x = level.block2(x, t);
      x = level.attn->forward(x) + x;
      skips.push_back(x);
      x = level.resample(x);  // halves H, W except at the deepest level
    }

    x = mid_block1_(x, t);
    x = mid_attn_->forward(x) + x;
    x = mid_block2_(x, t);

    for (auto& level : up_levels_) {
      x = level.block1(torch::cat({x, skips.back()}, 1), t);
      skips.pop_back();
      x = level.block2(torch::cat({x, skips.back()}, 1), t);
      skips.pop_back();
      x = level.attn->forward(x) + x;
      x = level.resample(x);  // doubles H, W except at the top level
    }

    x = final_res_block_(torch::cat({x, r}, 1), t);
    const auto u = final_conv_(x);  // [B, z_ch, H, W]
    return gru_ ? gru_(u, z_prev) : u;
  }

 private:
  unet::Conv2d init_conv_{nullptr};
  unet::PointwiseConv2d final_conv_{nullptr};
  torch::nn::Sequential time_mlp_{nullptr}, external_cond_mlp_{nullptr};
  torch::nn::ModuleList downs_{nullptr}, ups_{nullptr};
  std::vector<UnetLevel> down_levels_, up_levels_;
  unet::ResnetBlock mid_block1_{nullptr}, mid_block2_{nullptr}, final_res_block_{nullptr};
  std::shared_ptr<unet::AttentionBase> mid_attn_;
  ConvGruCell gru_{nullptr};
};

UnetConvGruDenoiser::UnetConvGruDenoiser(UnetConvGruOptions options) : options_(std::move(options)) {
  const auto& o = options_;
  check(o.x_shape.size() == 3 && o.z_shape.size() == 3,
        "UnetConvGruDenoiser: x_shape and z_shape must be [C, H, W], got x " + shape_str(o.x_shape) + ", z " +
            shape_str(o.z_shape));
  check(o.x_shape[1] == o.z_shape[1] && o.x_shape[2] == o.z_shape[2],
        "UnetConvGruDenoiser: x and z must share H, W (the latent is full resolution), got x " + shape_str(o.x_shape) +
            ", z " + shape_str(o.z_shape));
  check(!o.dim_mults.empty(), "UnetConvGruDenoiser: dim_mults must not be empty");
  const int64_t factor = int64_t{1} << (o.dim_mults.size() - 1);  // one 2x downsample per level but the last
  check(o.x_shape[1] % factor == 0 && o.x_shape[2] % factor == 0,
        "UnetConvGruDenoiser: H and W of " + shape_str(o.x_shape) + " must be divisible by " + std::to_string(factor) +
            " for " + std::to_string(o.dim_mults.size()) + " U-Net levels");
  check(o.network_size > 0 && o.network_size % o.groups == 0,
        "UnetConvGruDenoiser: network_size " + std::to_string(o.network_size) +
            " must be a positive multiple of groups " + std::to_string(o.groups));
  check(o.num_gru_layers == 0 || o.num_gru_layers == 1,
        "UnetConvGruDenoiser: num_gru_layers must be 0 or 1 for the video model, got " +
            std::to_string(o.num_gru_layers));

  const int64_t z_ch = o.z_shape[0], x_ch = o.x_shape[0];
  model_ = register_module("model", std::make_shared<TransitionUnetImpl>(o));
  check(o.head_channels >= 0,
        "UnetConvGruDenoiser: head_channels must be >= 0 (0 = x channels), got " + std::to_string(o.head_channels));
  const int64_t head_ch = o.head_channels > 0 ? o.head_channels : x_ch;
  x_from_z_ =
      register_module("x_from_z", torch::nn::Sequential(ResBlock2d(z_ch, head_ch), unet::PointwiseConv2d(head_ch, x_ch)));
  if (o.learnable_init_z) init_z_ = register_parameter("init_z", torch::randn(o.z_shape));
}

DenoiserStep UnetConvGruDenoiser::step(const torch::Tensor& z_prev, const torch::Tensor& x_noisy,
                                       const torch::Tensor& levels, const torch::Tensor& cond) {
  if (options_.cond_dim == 0) {
    check(!cond.defined() || cond.numel() == 0,
          "UnetConvGruDenoiser: the model is unconditional (cond_dim 0), got a cond tensor " + shape_str(cond));
  } else {
    check(cond.defined() && cond.dim() == 2 && cond.size(0) == x_noisy.size(0) && cond.size(1) == options_.cond_dim,
          "UnetConvGruDenoiser: cond must be [B, " + std::to_string(options_.cond_dim) + "], got " +
              (cond.defined() ? shape_str(cond) : std::string("none")));
  }
  check(x_noisy.dim() == 4 && x_noisy.sizes().slice(1) == torch::IntArrayRef(options_.x_shape),
        "UnetConvGruDenoiser: x_noisy must be [B, " + shape_str(options_.x_shape) + "], got " +
            shape_str(x_noisy.sizes().vec()));
  check(z_prev.dim() == 4 && z_prev.sizes().slice(1) == torch::IntArrayRef(options_.z_shape) &&
            z_prev.size(0) == x_noisy.size(0),
        "UnetConvGruDenoiser: z_prev must be [B, " + shape_str(options_.z_shape) + "], got " +
            shape_str(z_prev.sizes().vec()));
  check(levels.dim() == 1 && levels.size(0) == x_noisy.size(0),
        "UnetConvGruDenoiser: levels must be [B], got " + shape_str(levels.sizes().vec()));
  auto z = model_->forward(z_prev, x_noisy, levels, options_.cond_dim > 0 ? cond.to(x_noisy.dtype()) : cond);
  auto out = x_from_z_->forward(z);
  return {std::move(z), std::move(out)};
}

torch::Tensor UnetConvGruDenoiser::initial_latent(int64_t batch_size, const torch::Tensor& /*first_observation*/) {
  std::vector<int64_t> shape{batch_size};
  shape.insert(shape.end(), options_.z_shape.begin(), options_.z_shape.end());
  if (init_z_.defined()) return init_z_.unsqueeze(0).expand(shape).contiguous();  // copies, keeps the graph
  return torch::zeros(shape, parameters().front().options());
}

}  // namespace df
