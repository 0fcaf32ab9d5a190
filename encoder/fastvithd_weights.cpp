#include "encoder/fastvithd_weights.h"

#include <algorithm>
#include <cmath>
#include <string_view>

#include <fmt/format.h>

#include "core/error.h"
#include "core/parallel.h"
#include "core/widen.h"
#include "encoder/fastvithd_tensors.h"

namespace fvlm::enc {
namespace {

// The entries of `all` whose names start with `prefix` (a full checkpoint holds the LLM too).
TensorMap with_prefix(const TensorMap& all, std::string_view prefix) {
  TensorMap out;
  for (const auto& [name, t] : all)
    if (std::string_view(name).starts_with(prefix)) out.emplace(name, t);
  return out;
}

// t as F32 [rows, cols] into dst: widened with F16C/AVX2 where the CPU has it, rows split over the
// threads (the encoder has ~125M weights, all widened on the first image of a process).
void widen_into(const Tensor& t, float* dst) {
  const int64_t rows = t.rank() >= 2 ? t.dim(0) : 1, cols = t.numel() / rows;  // per output channel
  const Tensor src = t.reshaped({rows, cols});
  parallel_for(rows, std::max<int64_t>(1, 65536 / cols),
               [&](int64_t r0, int64_t r1) { widen_rows(src, r0, r1, dst + r0 * cols); });
}

struct Binder {
  const TensorMap& m;
  std::string prefix;
  Binding mode = Binding::kEager;
  // An F32 copy of a checkpoint tensor.
  Tensor get(const std::string& name) const {
    const Tensor& t = m.at(prefix + name);
    Tensor out = Tensor::zeros(DType::F32, t.shape());
    widen_into(t, out.f32());
    return out;
  }
  const void* id(const std::string& name) const { return m.at(prefix + name).data(); }
  // A matrix oneDNN packs: F32 now, or (deferred) a view for dense_weight. No bias.
  ConvW matrix(const std::string& weight_name, int groups = 1) const {
    ConvW c;
    c.groups = groups;
    c.id = id(weight_name);
    if (mode == Binding::kEager) {
      c.w = get(weight_name);
    } else {
      c.src = m.at(prefix + weight_name);
      c.w = Tensor::view(DType::F32, c.src.shape(), nullptr, nullptr);
    }
    return c;
  }
  ConvW conv(const std::string& name, int groups = 1) const {
    ConvW c = matrix(name + ".weight", groups);
    c.b = get(name + ".bias");
    return c;
  }
  ConvW conv_f32(const std::string& name) const {  // read by the forward itself: always F32
    return Binder{m, prefix, Binding::kEager}.conv(name);
  }
};

// Multiplies output channel o (weight row o and bias o) by s[o]: y' = s * (W x + b). A deferred
// weight keeps the factor for dense_weight.
void scale_rows(ConvW& c, const Tensor& s, int64_t rows) {
  const int64_t per_row = c.w.numel() / c.w.dim(0);
  float* b = c.b.empty() ? nullptr : c.b.f32();
  if (c.w.data() == nullptr) c.row_scale.resize(size_t(c.w.dim(0)), 1.0f);
  for (int64_t o = 0; o < rows; ++o) {
    const float k = s.f32()[o];
    if (c.w.data() == nullptr) {
      c.row_scale[size_t(o)] *= k;
    } else {
      float* w = c.w.f32() + o * per_row;
      for (int64_t i = 0; i < per_row; ++i) w[i] *= k;
    }
    if (b) b[o] *= k;
  }
}

// convffn.conv = Conv2d(dw 7x7, no bias) -> BatchNorm2d(eps); fc1; GELU; fc2 (x layer_scale).
ConvFfnW bind_conv_ffn(const Binder& b, const std::string& p, int dim, float eps, const Tensor& layer_scale) {
  ConvFfnW f;
  f.dw7x7 = b.matrix(p + "convffn.conv.conv.weight", dim);
  const Tensor gamma = b.get(p + "convffn.conv.bn.weight"), beta = b.get(p + "convffn.conv.bn.bias");
  const Tensor mean = b.get(p + "convffn.conv.bn.running_mean"),
               var = b.get(p + "convffn.conv.bn.running_var");
  Tensor inv_std = Tensor::zeros(DType::F32, {dim});
  for (int c = 0; c < dim; ++c)  // BN(y) = (y - mean) * gamma / sqrt(var + eps) + beta
    inv_std.f32()[c] = gamma.f32()[c] / std::sqrt(var.f32()[c] + eps);
  scale_rows(f.dw7x7, inv_std, dim);  // no bias yet: scales the weights only
  f.dw7x7.b = Tensor::zeros(DType::F32, {dim});
  for (int c = 0; c < dim; ++c) f.dw7x7.b.f32()[c] = beta.f32()[c] - mean.f32()[c] * inv_std.f32()[c];
  f.fc1 = b.conv(p + "convffn.fc1");
  f.fc2 = b.conv(p + "convffn.fc2");
  scale_rows(f.fc2, layer_scale, dim);  // x + layer_scale * fc2(.)
  return f;
}

}  // namespace

Tensor dense_weight(const ConvW& c, std::vector<float>& staging) {
  if (c.w.data() != nullptr) return c.w;
  FVLM_CHECK(!c.src.empty(), "dense_weight: neither F32 weights nor a source to make them from");
  staging.resize(size_t(c.src.numel()));
  widen_into(c.src, staging.data());
  if (!c.row_scale.empty()) {  // the same products as the eager scale_rows: w * s, once
    const int64_t rows = c.src.dim(0), per_row = c.src.numel() / rows;
    parallel_for(rows, std::max<int64_t>(1, 65536 / per_row), [&](int64_t r0, int64_t r1) {
      for (int64_t o = r0; o < r1; ++o)
        for (int64_t i = 0; i < per_row; ++i) staging[size_t(o * per_row + i)] *= c.row_scale[size_t(o)];
    });
  }
  return Tensor::view(DType::F32, c.src.shape(), staging.data(), nullptr);
}

FastVitHdWeights bind_fastvithd(const FastVitHdConfig& v, const TensorMap& tensors, Binding mode) {
  const TensorMap vt = with_prefix(tensors, kVisionPrefix);
  validate_tensors(fastvithd_tensor_table(v), vt);
  const Binder b{vt, kVisionPrefix, mode};
  FastVitHdWeights w;
  w.cfg = v;
  const int d0 = v.embed_dims[0];
  w.stem[0] = b.conv("patch_embed.0.reparam_conv");      // 3x3 s2, 3 -> d0
  w.stem[1] = b.conv("patch_embed.1.reparam_conv", d0);  // 3x3 s2 depthwise
  w.stem[2] = b.conv("patch_embed.2.reparam_conv");      // 1x1
  const auto layout = fastvithd_network_layout(v);
  for (size_t idx = 0; idx < layout.size(); ++idx) {
    StageW s;
    s.stage = layout[idx].stage;
    s.dim = v.embed_dims[s.stage];
    const std::string p = fmt::format("network.{}.", idx);
    switch (layout[idx].kind) {
      case NetworkModule::kRepCpe:
        s.kind = StageW::Kind::kRepCpe;
        s.cpe = b.conv(p + "reparam_conv", s.dim);
        break;
      case NetworkModule::kPatchEmbed:
        s.kind = StageW::Kind::kPatchEmbed;
        s.down.lk = b.conv(p + "proj.0.lkb_reparam", v.embed_dims[s.stage - 1]);
        s.down.pw = b.conv(p + "proj.1.reparam_conv");
        break;
      case NetworkModule::kStage:
        s.kind = v.attention[s.stage] ? StageW::Kind::kAttentionStage : StageW::Kind::kRepMixerStage;
        for (int j = 0; j < v.layers[s.stage]; ++j) {
          const std::string bp = p + fmt::format("{}.", j);
          if (v.attention[s.stage]) {
            AttentionBlockW a;
            a.norm_w = b.get(bp + "norm.weight");
            a.norm_b = b.get(bp + "norm.bias");
            a.qkv = b.matrix(bp + "token_mixer.qkv.weight");
            Tensor qscale = Tensor::zeros(DType::F32, {3 * s.dim});
            for (int o = 0; o < 3 * s.dim; ++o)  // q = q * head_dim^-0.5 (Q rows only)
              qscale.f32()[o] = o < s.dim ? 1.0f / std::sqrt(float(v.attention_head_dim)) : 1.0f;
            scale_rows(a.qkv, qscale, 3 * s.dim);
            a.proj = b.conv(bp + "token_mixer.proj");
            scale_rows(a.proj, b.get(bp + "layer_scale_1"), s.dim);
            a.ffn = bind_conv_ffn(b, bp, s.dim, v.batchnorm_eps, b.get(bp + "layer_scale_2"));
            s.attention.push_back(std::move(a));
          } else {
            RepMixerBlockW r;
            r.mixer = b.conv(bp + "token_mixer.reparam_conv", s.dim);
            r.ffn = bind_conv_ffn(b, bp, s.dim, v.batchnorm_eps, b.get(bp + "layer_scale"));
            s.repmixer.push_back(std::move(r));
          }
        }
        break;
    }
    w.network.push_back(std::move(s));
  }
  w.conv_exp.conv = b.conv("conv_exp.reparam_conv", v.embed_dims.back());
  w.conv_exp.se_reduce = b.conv_f32("conv_exp.se.reduce");
  w.conv_exp.se_expand = b.conv_f32("conv_exp.se.expand");
  return w;
}

ProjectorW bind_projector(const ProjectorConfig& c, const TensorMap& tensors) {
  if (c.type.find("_gelu") == std::string::npos)
    throw Error(Errc::kUnsupported, "mm_projector_type " + c.type + " is not supported");
  const TensorMap pt = with_prefix(tensors, kProjectorPrefix);
  validate_tensors(projector_tensor_table(c), pt);
  const Binder b{pt, kProjectorPrefix};
  ProjectorW p;
  for (int i = 0; i < c.depth; ++i) p.linears.push_back(b.conv(std::to_string(2 * i)));
  return p;
}

}  // namespace fvlm::enc
