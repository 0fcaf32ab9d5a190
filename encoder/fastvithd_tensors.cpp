// The FastViTHD and projector tensor tables (mci.py module names, shapes from the config), walked
// field by field: the one place the vision half's checkpoint names are spelled.
#include "encoder/fastvithd_tensors.h"

#include <cmath>
#include <map>

#include <fmt/format.h>

namespace fvlm::enc {
namespace {

// Visits specs under a name prefix, one line per tensor.
struct Walk {
  const VisionTensorVisitor& visit;
  TensorRole role;
  std::string prefix;
  void f32(const std::string& name, Shape shape, Tensor& field, QuantPolicy q = QuantPolicy::kKeepF32) const {
    visit({prefix + name, std::move(shape), role, q}, {nullptr, &field});
  }
  void ignored(const std::string& name, Shape shape, QuantPolicy q) const {
    visit({prefix + name, std::move(shape), role, q, Presence::kIgnored}, {});
  }
  void matrix(const std::string& name, Shape shape, ConvW& field, int groups = 1,
              QuantPolicy q = QuantPolicy::kFloat16) const {
    field.groups = groups;
    visit({prefix + name, std::move(shape), role, q}, {&field, nullptr});
  }
  // A conv or linear with bias: name.weight (policy q), name.bias (F32).
  void conv(const std::string& name, Shape w, ConvW& field, int groups = 1,
            QuantPolicy q = QuantPolicy::kFloat16) const {
    const int64_t out_ch = w[0];
    matrix(name + ".weight", std::move(w), field, groups, q);
    f32(name + ".bias", {out_ch}, field.b);
  }
};

// ConvFFN(dim, hidden): conv.conv (dw 7x7, no bias), conv.bn, fc1, fc2 (mci.py ConvFFN).
void conv_ffn(const Walk& k, const std::string& p, int dim, int64_t hidden, ConvFfnW& f) {
  k.matrix(p + "convffn.conv.conv.weight", {dim, 1, 7, 7}, f.dw7x7, dim);
  k.f32(p + "convffn.conv.bn.weight", {dim}, f.bn_gamma);
  k.f32(p + "convffn.conv.bn.bias", {dim}, f.bn_beta);
  k.f32(p + "convffn.conv.bn.running_mean", {dim}, f.bn_mean);
  k.f32(p + "convffn.conv.bn.running_var", {dim}, f.bn_var);
  k.ignored(p + "convffn.conv.bn.num_batches_tracked", {}, QuantPolicy::kKeepF32);
  k.conv(p + "convffn.fc1", {hidden, dim, 1, 1}, f.fc1);
  k.conv(p + "convffn.fc2", {dim, hidden, 1, 1}, f.fc2);
}

void stage_blocks(const Walk& k, const FastVitHdConfig& v, const std::string& p, StageW& s) {
  const int d = s.dim;
  const int64_t hidden = int64_t(d * v.mlp_ratios[size_t(s.stage)]);
  if (s.kind == StageW::Kind::kAttentionStage) s.attention.resize(size_t(v.layers[size_t(s.stage)]));
  if (s.kind == StageW::Kind::kRepMixerStage) s.repmixer.resize(size_t(v.layers[size_t(s.stage)]));
  for (int j = 0; j < v.layers[size_t(s.stage)]; ++j) {
    const std::string bp = p + fmt::format("{}.", j);
    if (s.kind == StageW::Kind::kAttentionStage) {
      AttentionBlockW& a = s.attention[size_t(j)];
      k.f32(bp + "norm.weight", {d}, a.norm_w);
      k.f32(bp + "norm.bias", {d}, a.norm_b);
      k.matrix(bp + "token_mixer.qkv.weight", {3 * d, d}, a.qkv);
      k.conv(bp + "token_mixer.proj", {d, d}, a.proj);
      conv_ffn(k, bp, d, hidden, a.ffn);
      k.f32(bp + "layer_scale_1", {d, 1, 1}, a.layer_scale_1);
      k.f32(bp + "layer_scale_2", {d, 1, 1}, a.layer_scale_2);
    } else {
      RepMixerBlockW& r = s.repmixer[size_t(j)];
      const int64_t kk = v.repmixer_kernel_size;
      k.conv(bp + "token_mixer.reparam_conv", {d, 1, kk, kk}, r.mixer, d);
      conv_ffn(k, bp, d, hidden, r.ffn);
      k.f32(bp + "layer_scale", {d, 1, 1}, r.layer_scale);
    }
  }
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

void for_each_fastvithd_tensor(const FastVitHdConfig& v, FastVitHdWeights& w,
                               const VisionTensorVisitor& visit) {
  const Walk k{visit, TensorRole::kVision, kVisionPrefix};
  w.cfg = v;
  const int d0 = v.embed_dims[0];
  k.conv("patch_embed.0.reparam_conv", {d0, 3, 3, 3}, w.stem[0]);      // 3x3 s2, 3 -> d0
  k.conv("patch_embed.1.reparam_conv", {d0, 1, 3, 3}, w.stem[1], d0);  // 3x3 s2 depthwise
  k.conv("patch_embed.2.reparam_conv", {d0, d0, 1, 1}, w.stem[2]);     // 1x1
  const auto layout = fastvithd_network_layout(v);
  w.network.assign(layout.size(), StageW{});
  for (size_t idx = 0; idx < layout.size(); ++idx) {
    StageW& s = w.network[idx];
    s.stage = layout[idx].stage;
    s.dim = v.embed_dims[size_t(s.stage)];
    const int d = s.dim;
    const std::string p = fmt::format("network.{}.", idx);
    switch (layout[idx].kind) {
      case NetworkModule::kRepCpe:
        s.kind = StageW::Kind::kRepCpe;
        k.conv(p + "reparam_conv", {d, 1, v.cpe_kernel_size, v.cpe_kernel_size}, s.cpe, d);
        break;
      case NetworkModule::kPatchEmbed: {
        s.kind = StageW::Kind::kPatchEmbed;
        const int64_t kk = v.down_patch_size;  // groups = in channels, out = d
        k.conv(p + "proj.0.lkb_reparam", {d, 1, kk, kk}, s.down.lk, v.embed_dims[size_t(s.stage - 1)]);
        k.conv(p + "proj.1.reparam_conv", {d, d, 1, 1}, s.down.pw);
        break;
      }
      case NetworkModule::kStage:
        s.kind = v.attention[size_t(s.stage)] ? StageW::Kind::kAttentionStage : StageW::Kind::kRepMixerStage;
        stage_blocks(k, v, p, s);
        break;
    }
  }
  const int64_t exp = v.conv_exp_dim();
  const int64_t se = int64_t(exp * 0.0625);  // SEBlock rd_ratio = 0.0625
  // groups = last dim: 2 outputs per input channel. The SE weights are read by the forward itself.
  k.conv("conv_exp.reparam_conv", {exp, 1, 3, 3}, w.conv_exp.conv, v.embed_dims.back());
  k.conv("conv_exp.se.reduce", {se, exp, 1, 1}, w.conv_exp.se_reduce, 1, QuantPolicy::kKeepF32);
  k.conv("conv_exp.se.expand", {exp, se, 1, 1}, w.conv_exp.se_expand, 1, QuantPolicy::kKeepF32);
  k.ignored("head.proj", {exp, v.projection_dim}, QuantPolicy::kFloat16);
}

void for_each_projector_tensor(const ProjectorConfig& c, ProjectorW& w, const VisionTensorVisitor& visit) {
  const Walk k{visit, TensorRole::kProjector, kProjectorPrefix};
  // mlp{N}x_gelu: Linear(mm_hidden, H), then (GELU, Linear(H, H)) x (N-1); Sequential indices 0, 2, 4, ...
  const int64_t h = c.hidden_size;
  w.linears.assign(size_t(std::max(c.depth, 0)), ConvW{});
  for (int i = 0; i < c.depth; ++i)
    k.conv(std::to_string(2 * i), {h, i == 0 ? c.mm_hidden_size : h}, w.linears[size_t(i)]);
}

std::vector<TensorSpec> fastvithd_tensor_table(const FastVitHdConfig& v) {
  std::vector<TensorSpec> out;
  FastVitHdWeights layout_only;  // structure, no data
  for_each_fastvithd_tensor(v, layout_only,
                            [&](const TensorSpec& s, const VisionField&) { out.push_back(s); });
  return out;
}

std::vector<TensorSpec> projector_tensor_table(const ProjectorConfig& c) {
  std::vector<TensorSpec> out;
  ProjectorW layout_only;
  for_each_projector_tensor(c, layout_only,
                            [&](const TensorSpec& s, const VisionField&) { out.push_back(s); });
  return out;
}

std::vector<BatchNormFold> fastvithd_batchnorm_folds(const FastVitHdConfig& v) {
  FastVitHdWeights layout_only;
  std::map<const void*, std::string> name_of;  // field -> its checkpoint name
  for_each_fastvithd_tensor(v, layout_only, [&](const TensorSpec& s, const VisionField& f) {
    if (f.matrix || f.f32) name_of[f.matrix ? static_cast<const void*>(f.matrix) : f.f32] = s.name;
  });
  std::vector<BatchNormFold> folds;
  auto add = [&](const ConvFfnW& f) {
    const std::string& conv = name_of.at(&f.dw7x7);
    folds.push_back({conv, conv.substr(0, conv.size() - std::string_view("weight").size()) + "bias",
                     name_of.at(&f.bn_gamma), name_of.at(&f.bn_beta), name_of.at(&f.bn_mean),
                     name_of.at(&f.bn_var)});
  };
  for (const StageW& s : layout_only.network) {
    for (const AttentionBlockW& a : s.attention) add(a.ffn);
    for (const RepMixerBlockW& r : s.repmixer) add(r.ffn);
  }
  return folds;
}

ScaleShift batchnorm_scale_shift(const Tensor& gamma, const Tensor& beta, const Tensor& mean,
                                 const Tensor& var, float eps) {
  const int64_t n = gamma.numel();
  ScaleShift r{Tensor::zeros(DType::F32, {n}), Tensor::zeros(DType::F32, {n})};
  for (int64_t c = 0; c < n; ++c) {  // BN(y) = (y - mean) * gamma / sqrt(var + eps) + beta
    r.scale.f32()[c] = gamma.f32()[c] / std::sqrt(var.f32()[c] + eps);
    r.shift.f32()[c] = beta.f32()[c] - mean.f32()[c] * r.scale.f32()[c];
  }
  return r;
}

}  // namespace fvlm::enc
