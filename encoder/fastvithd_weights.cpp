#include "encoder/fastvithd_weights.h"

#include <algorithm>
#include <cmath>
#include <string_view>

#include <fmt/format.h>

#include "core/error.h"
#include "core/parallel.h"
#include "decoder/widen.h"
#include "models/tensor_table.h"

namespace fvlm::enc {
namespace {

// The entries of `all` whose names start with `prefix` (a full checkpoint holds the LLM too).
TensorMap with_prefix(const TensorMap& all, std::string_view prefix) {
  TensorMap out;
  for (const auto& [name, t] : all)
    if (std::string_view(name).starts_with(prefix)) out.emplace(name, t);
  return out;
}

struct Binder {
  const TensorMap& m;
  std::string prefix;
  // An F32 copy of a checkpoint tensor: widened with F16C/AVX2 where the CPU has it, rows split
  // over the threads (binding widens ~125M values on the first image of a process).
  Tensor get(const std::string& name) const {
    const Tensor& t = m.at(prefix + name);
    const int64_t rows = t.rank() >= 2 ? t.dim(0) : 1, cols = t.numel() / rows;   // per output channel
    const Tensor src = t.reshaped({rows, cols});
    Tensor out = Tensor::zeros(DType::F32, t.shape());
    parallel_for(rows, std::max<int64_t>(1, 65536 / cols), [&](int64_t r0, int64_t r1) {
      dec::widen_rows(src, r0, r1, out.f32() + r0 * cols);
    });
    return out;
  }
  const void* id(const std::string& name) const { return m.at(prefix + name).data(); }
  ConvW conv(const std::string& name, int groups = 1) const {
    return {get(name + ".weight"), get(name + ".bias"), groups, id(name + ".weight")};
  }
};

// Multiplies output channel o (weight row o and bias o) by s[o]: y' = s * (W x + b).
void scale_rows(ConvW& c, const Tensor& s, int64_t rows) {
  const int64_t per_row = c.w.numel() / c.w.dim(0);
  float* w = c.w.f32();
  float* b = c.b.empty() ? nullptr : c.b.f32();
  for (int64_t o = 0; o < rows; ++o) {
    const float k = s.f32()[o];
    for (int64_t i = 0; i < per_row; ++i) w[o * per_row + i] *= k;
    if (b) b[o] *= k;
  }
}

// convffn.conv = Conv2d(dw 7x7, no bias) -> BatchNorm2d(eps); fc1; GELU; fc2 (x layer_scale).
ConvFfnW bind_conv_ffn(const Binder& b, const std::string& p, int dim, float eps, const Tensor& layer_scale) {
  ConvFfnW f;
  f.dw7x7.w = b.get(p + "convffn.conv.conv.weight");
  f.dw7x7.groups = dim;
  f.dw7x7.id = b.id(p + "convffn.conv.conv.weight");
  const Tensor gamma = b.get(p + "convffn.conv.bn.weight"), beta = b.get(p + "convffn.conv.bn.bias");
  const Tensor mean = b.get(p + "convffn.conv.bn.running_mean"), var = b.get(p + "convffn.conv.bn.running_var");
  Tensor inv_std = Tensor::zeros(DType::F32, {dim});
  for (int c = 0; c < dim; ++c)   // BN(y) = (y - mean) * gamma / sqrt(var + eps) + beta
    inv_std.f32()[c] = gamma.f32()[c] / std::sqrt(var.f32()[c] + eps);
  scale_rows(f.dw7x7, inv_std, dim);   // no bias yet: scales the weights only
  f.dw7x7.b = Tensor::zeros(DType::F32, {dim});
  for (int c = 0; c < dim; ++c) f.dw7x7.b.f32()[c] = beta.f32()[c] - mean.f32()[c] * inv_std.f32()[c];
  f.fc1 = b.conv(p + "convffn.fc1");
  f.fc2 = b.conv(p + "convffn.fc2");
  scale_rows(f.fc2, layer_scale, dim);   // x + layer_scale * fc2(.)
  return f;
}

}  // namespace

FastVitHdWeights bind_fastvithd(const ModelConfig& c, const TensorMap& tensors) {
  const TensorMap vt = with_prefix(tensors, kVisionPrefix);
  validate_tensors(vision_tensor_table(c), vt);
  const FastVitHdConfig& v = c.vision;
  const Binder b{vt, kVisionPrefix};
  FastVitHdWeights w;
  w.cfg = v;
  const int d0 = v.embed_dims[0];
  w.stem[0] = b.conv("patch_embed.0.reparam_conv");       // 3x3 s2, 3 -> d0
  w.stem[1] = b.conv("patch_embed.1.reparam_conv", d0);   // 3x3 s2 depthwise
  w.stem[2] = b.conv("patch_embed.2.reparam_conv");       // 1x1
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
            a.qkv.w = b.get(bp + "token_mixer.qkv.weight");
            a.qkv.id = b.id(bp + "token_mixer.qkv.weight");
            Tensor qscale = Tensor::zeros(DType::F32, {3 * s.dim});
            for (int o = 0; o < 3 * s.dim; ++o)   // q = q * head_dim^-0.5 (Q rows only)
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
  w.conv_exp.se_reduce = b.conv("conv_exp.se.reduce");
  w.conv_exp.se_expand = b.conv("conv_exp.se.expand");
  return w;
}

ProjectorW bind_projector(const ModelConfig& c, const TensorMap& tensors) {
  if (c.mm_projector_type.find("_gelu") == std::string::npos)
    throw Error(Errc::kUnsupported, "mm_projector_type " + c.mm_projector_type + " is not supported");
  const TensorMap pt = with_prefix(tensors, kProjectorPrefix);
  validate_tensors(projector_tensor_table(c), pt);
  const Binder b{pt, kProjectorPrefix};
  ProjectorW p;
  for (int i = 0; i < c.projector_depth; ++i) p.linears.push_back(b.conv(std::to_string(2 * i)));
  return p;
}

void drop_packed_sources(FastVitHdWeights& w) {
  const auto drop = [](ConvW& c) { c.w = Tensor::view(c.w.dtype(), c.w.shape(), nullptr, nullptr); };
  const auto drop_ffn = [&](ConvFfnW& f) {
    drop(f.dw7x7);
    drop(f.fc1);
    drop(f.fc2);
  };
  for (ConvW& c : w.stem) drop(c);
  for (StageW& s : w.network) {
    for (RepMixerBlockW& r : s.repmixer) {
      drop(r.mixer);
      drop_ffn(r.ffn);
    }
    for (AttentionBlockW& a : s.attention) {
      drop(a.qkv);
      drop(a.proj);
      drop_ffn(a.ffn);
    }
    if (s.kind == StageW::Kind::kPatchEmbed) {
      drop(s.down.lk);
      drop(s.down.pw);
    }
    if (s.kind == StageW::Kind::kRepCpe) drop(s.cpe);
  }
  drop(w.conv_exp.conv);   // se_reduce / se_expand are read by the forward itself
}

}  // namespace fvlm::enc
