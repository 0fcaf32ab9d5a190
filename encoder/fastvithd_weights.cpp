#include "encoder/fastvithd_weights.h"

#include <algorithm>
#include <cmath>
#include <string_view>

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

// An F32 copy of a checkpoint tensor.
Tensor widened(const Tensor& t) {
  Tensor out = Tensor::zeros(DType::F32, t.shape());
  widen_into(t, out.f32());
  return out;
}

// A matrix oneDNN packs: F32 now, or (deferred) a view of the checkpoint for dense_weight.
void bind_matrix(ConvW& c, const Tensor& t, Binding mode) {
  c.id = t.data();
  if (mode == Binding::kEager) {
    c.w = widened(t);
  } else {
    c.src = t;
    c.w = Tensor::view(DType::F32, t.shape(), nullptr, nullptr);
  }
}

// Binds every field the walk names from `tensors` (validated against the same table first):
// kKeepF32 matrices (the SE weights, read by the forward itself) are F32 in either mode.
auto binder(const TensorMap& tensors, Binding mode) {
  return [&tensors, mode](const TensorSpec& s, const VisionField& f) {
    if (f.matrix)
      bind_matrix(*f.matrix, tensors.at(s.name), s.quant == QuantPolicy::kKeepF32 ? Binding::kEager : mode);
    else if (f.f32)
      *f.f32 = widened(tensors.at(s.name));
  };
}

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
// Consumes the BatchNorm statistics and the layer scale.
void fold_conv_ffn(ConvFfnW& f, int dim, float eps, Tensor& layer_scale) {
  const ScaleShift bn = batchnorm_scale_shift(f.bn_gamma, f.bn_beta, f.bn_mean, f.bn_var, eps);
  scale_rows(f.dw7x7, bn.scale, dim);  // no bias yet: scales the weights only
  f.dw7x7.b = bn.shift;
  scale_rows(f.fc2, layer_scale, dim);  // x + layer_scale * fc2(.)
  f.bn_gamma = f.bn_beta = f.bn_mean = f.bn_var = layer_scale = Tensor{};
}

// The load-time folds of the header: BatchNorm and layer scales, and the attention scale.
void fold_fastvithd(FastVitHdWeights& w) {
  const FastVitHdConfig& v = w.cfg;
  for (StageW& s : w.network) {
    for (AttentionBlockW& a : s.attention) {
      Tensor qscale = Tensor::zeros(DType::F32, {3 * s.dim});
      for (int o = 0; o < 3 * s.dim; ++o)  // q = q * head_dim^-0.5 (Q rows only)
        qscale.f32()[o] = o < s.dim ? 1.0f / std::sqrt(float(v.attention_head_dim)) : 1.0f;
      scale_rows(a.qkv, qscale, 3 * s.dim);
      scale_rows(a.proj, a.layer_scale_1, s.dim);
      a.layer_scale_1 = Tensor{};
      fold_conv_ffn(a.ffn, s.dim, v.batchnorm_eps, a.layer_scale_2);
    }
    for (RepMixerBlockW& r : s.repmixer) fold_conv_ffn(r.ffn, s.dim, v.batchnorm_eps, r.layer_scale);
  }
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
  FastVitHdWeights w;
  for_each_fastvithd_tensor(v, w, binder(vt, mode));
  fold_fastvithd(w);
  return w;
}

ProjectorW bind_projector(const ProjectorConfig& c, const TensorMap& tensors) {
  if (c.type.find("_gelu") == std::string::npos)
    throw Error(Errc::kUnsupported, "mm_projector_type " + c.type + " is not supported");
  const TensorMap pt = with_prefix(tensors, kProjectorPrefix);
  validate_tensors(projector_tensor_table(c), pt);
  ProjectorW p;
  for_each_projector_tensor(c, p, binder(pt, Binding::kEager));
  return p;
}

}  // namespace fvlm::enc
