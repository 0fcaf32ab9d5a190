// The FastViTHD and projector tensor tables (mci.py module names, shapes from the config).
#include "encoder/fastvithd_tensors.h"

#include <fmt/format.h>

namespace fvlm::enc {
namespace {

// ConvFFN(dim, hidden): conv.conv (dw 7x7, no bias), conv.bn, fc1, fc2 (mci.py ConvFFN).
void conv_ffn(TensorTableBuilder& b, const std::string& p, int64_t dim, int64_t hidden) {
  b.add(p + "convffn.conv.conv.weight", {dim, 1, 7, 7}, QuantPolicy::kFloat16);
  for (const char* s : {"weight", "bias", "running_mean", "running_var"})
    b.add(p + "convffn.conv.bn." + s, {dim}, QuantPolicy::kKeepF32);
  b.add(p + "convffn.conv.bn.num_batches_tracked", {}, QuantPolicy::kKeepF32, Presence::kIgnored);
  b.conv(p + "convffn.fc1", {hidden, dim, 1, 1});
  b.conv(p + "convffn.fc2", {dim, hidden, 1, 1});
}

}  // namespace

std::vector<NetworkEntry> fastvithd_network_layout(const FastVitHdConfig& v) {
  std::vector<NetworkEntry> net;
  const int n = v.num_stages();
  for (int i = 0; i < n; ++i) {  // mci.py FastViT.__init__: pos_emb, stage, downsample
    if (v.rep_cpe[i]) net.push_back({NetworkModule::kRepCpe, i});
    net.push_back({NetworkModule::kStage, i});
    if (i == n - 1) break;
    if (v.downsamples[i] || v.embed_dims[i] != v.embed_dims[i + 1])
      net.push_back({NetworkModule::kPatchEmbed, i + 1});
  }
  return net;
}

std::vector<TensorSpec> fastvithd_tensor_table(const FastVitHdConfig& v) {
  std::vector<TensorSpec> out;
  TensorTableBuilder b{out, TensorRole::kVision, kVisionPrefix};
  const int64_t d0 = v.embed_dims[0];
  b.conv("patch_embed.0.reparam_conv", {d0, 3, 3, 3});  // stem: 3x3 s2, 3x3 s2 depthwise, 1x1
  b.conv("patch_embed.1.reparam_conv", {d0, 1, 3, 3});
  b.conv("patch_embed.2.reparam_conv", {d0, d0, 1, 1});
  const auto layout = fastvithd_network_layout(v);
  for (size_t idx = 0; idx < layout.size(); ++idx) {
    const int s = layout[idx].stage;
    const int64_t d = v.embed_dims[s];
    const std::string p = fmt::format("network.{}.", idx);
    switch (layout[idx].kind) {
      case NetworkModule::kRepCpe:
        b.conv(p + "reparam_conv", {d, 1, v.cpe_kernel_size, v.cpe_kernel_size});
        break;
      case NetworkModule::kPatchEmbed: {
        const int64_t k = v.down_patch_size;
        b.conv(p + "proj.0.lkb_reparam", {d, 1, k, k});  // groups = in channels, out = d
        b.conv(p + "proj.1.reparam_conv", {d, d, 1, 1});
        break;
      }
      case NetworkModule::kStage: {
        const int64_t hidden = int64_t(d * v.mlp_ratios[s]);
        for (int j = 0; j < v.layers[s]; ++j) {
          const std::string bp = p + fmt::format("{}.", j);
          if (v.attention[s]) {
            b.add(bp + "norm.weight", {d}, QuantPolicy::kKeepF32);
            b.add(bp + "norm.bias", {d}, QuantPolicy::kKeepF32);
            b.add(bp + "token_mixer.qkv.weight", {3 * d, d}, QuantPolicy::kFloat16);
            b.conv(bp + "token_mixer.proj", {d, d});
            conv_ffn(b, bp, d, hidden);
            b.add(bp + "layer_scale_1", {d, 1, 1}, QuantPolicy::kKeepF32);
            b.add(bp + "layer_scale_2", {d, 1, 1}, QuantPolicy::kKeepF32);
          } else {
            const int64_t k = v.repmixer_kernel_size;
            b.conv(bp + "token_mixer.reparam_conv", {d, 1, k, k});
            conv_ffn(b, bp, d, hidden);
            b.add(bp + "layer_scale", {d, 1, 1}, QuantPolicy::kKeepF32);
          }
        }
        break;
      }
    }
  }
  const int64_t last = v.embed_dims.back(), exp = v.conv_exp_dim();
  const int64_t se = int64_t(exp * 0.0625);         // SEBlock rd_ratio = 0.0625
  b.conv("conv_exp.reparam_conv", {exp, 1, 3, 3});  // groups = last: 2 outputs per input channel
  b.conv("conv_exp.se.reduce", {se, exp, 1, 1}, QuantPolicy::kKeepF32);
  b.conv("conv_exp.se.expand", {exp, se, 1, 1}, QuantPolicy::kKeepF32);
  (void)last;
  b.add("head.proj", {exp, v.projection_dim}, QuantPolicy::kFloat16, Presence::kIgnored);
  return out;
}

std::vector<TensorSpec> projector_tensor_table(const ProjectorConfig& c) {
  std::vector<TensorSpec> out;
  TensorTableBuilder b{out, TensorRole::kProjector, kProjectorPrefix};
  // mlp{N}x_gelu: Linear(mm_hidden, H), then (GELU, Linear(H, H)) x (N-1); Sequential indices 0, 2, 4, ...
  const int64_t h = c.hidden_size;
  b.conv("0", {h, c.mm_hidden_size}, QuantPolicy::kFloat16);
  for (int i = 1; i < c.depth; ++i) b.conv(std::to_string(2 * i), {h, h}, QuantPolicy::kFloat16);
  return out;
}

}  // namespace fvlm::enc
