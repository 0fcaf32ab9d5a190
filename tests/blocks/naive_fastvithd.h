// A naive scalar FastViTHD forward for one image in CHW layout (plain loops, double accumulators),
// written straight from mci.py on the bound (folded) weights. It shares no code with the oneDNN
// path (layouts, plans, repeat trick, attention chunking), so agreement at a resolution without a
// golden checks those.
#pragma once
#include <cmath>
#include <vector>

#include "encoder/fastvithd_weights.h"
#include "tests/naive_attention.h"

namespace fvlm::test {

struct Chw {
  int64_t c = 0, h = 0, w = 0;
  std::vector<float> v;
  float& at(int64_t k, int64_t y, int64_t x) { return v[(k * h + y) * w + x]; }
  float at(int64_t k, int64_t y, int64_t x) const { return v[(k * h + y) * w + x]; }
};

inline float naive_gelu(float x) { return float(0.5 * x * (1 + std::erf(x / std::sqrt(2.0)))); }

// nn.Conv2d(groups, stride, padding = k // 2) with bias; optional GELU.
inline enc::ConvW plain_conv(Tensor w, Tensor b) {
  enc::ConvW c;
  c.w = std::move(w);
  c.b = std::move(b);
  return c;
}

inline Chw naive_conv(const Chw& x, const enc::ConvW& cw, int64_t stride, bool gelu) {
  const int64_t o_n = cw.w.dim(0), k = cw.w.rank() == 4 ? cw.w.dim(-1) : 1, pad = k / 2;
  const int64_t g = cw.groups, icg = x.c / g, ocg = o_n / g;
  Chw y{o_n, (x.h + 2 * pad - k) / stride + 1, (x.w + 2 * pad - k) / stride + 1, {}};
  y.v.assign(size_t(y.c * y.h * y.w), 0.f);
  const float* w = cw.w.f32();
  for (int64_t o = 0; o < o_n; ++o)
    for (int64_t oy = 0; oy < y.h; ++oy)
      for (int64_t ox = 0; ox < y.w; ++ox) {
        double acc = cw.b.empty() ? 0.0 : cw.b.f32()[o];
        for (int64_t i = 0; i < icg; ++i)
          for (int64_t ky = 0; ky < k; ++ky)
            for (int64_t kx = 0; kx < k; ++kx) {
              const int64_t iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
              if (iy < 0 || ix < 0 || iy >= x.h || ix >= x.w) continue;
              acc += double(w[((o * icg + i) * k + ky) * k + kx]) * x.at(o / ocg * icg + i, iy, ix);
            }
        y.at(o, oy, ox) = gelu ? naive_gelu(float(acc)) : float(acc);
      }
  return y;
}

inline void naive_add(Chw& x, const Chw& y) {
  for (size_t i = 0; i < x.v.size(); ++i) x.v[i] += y.v[i];
}

// x + layer_scale * ConvFFN(x)  (scale folded into fc2)
inline void naive_conv_ffn(Chw& x, const enc::ConvFfnW& f) {
  naive_add(x, naive_conv(naive_conv(naive_conv(x, f.dw7x7, 1, false), f.fc1, 1, true), f.fc2, 1, false));
}

// MHSA(LayerNormChannel(x)), heads of head_dim, q scale folded into qkv.
inline Chw naive_attention(const Chw& x, const enc::AttentionBlockW& a, int64_t head_dim, float eps) {
  const int64_t n = x.h * x.w, c = x.c, heads = c / head_dim;
  Chw t = x;
  for (int64_t p = 0; p < n; ++p) {  // LayerNormChannel
    double mean = 0, var = 0;
    for (int64_t k = 0; k < c; ++k) mean += x.v[k * n + p];
    mean /= double(c);
    for (int64_t k = 0; k < c; ++k) var += (x.v[k * n + p] - mean) * (x.v[k * n + p] - mean);
    const double inv = 1 / std::sqrt(var / double(c) + eps);
    for (int64_t k = 0; k < c; ++k)
      t.v[k * n + p] = float((x.v[k * n + p] - mean) * inv * a.norm_w.f32()[k] + a.norm_b.f32()[k]);
  }
  const Chw qkv = naive_conv(t, plain_conv(a.qkv.w.reshaped({3 * c, c, 1, 1}), {}), 1, false);  // [3C, n]
  Chw o{c, x.h, x.w, std::vector<float>(size_t(c * n))};
  const auto at = [&](int64_t part, int64_t h, int64_t t, int64_t e) {
    return qkv.v[size_t((part * c + h * head_dim + e) * n + t)];
  };
  test::naive_attention(
      n, heads, head_dim, [&](int64_t h, int64_t i, int64_t e) { return at(0, h, i, e); },
      [&](int64_t h, int64_t j, int64_t e) { return at(1, h, j, e); },
      [&](int64_t h, int64_t j, int64_t e) { return at(2, h, j, e); },
      [&](int64_t h, int64_t i, int64_t e, double x) { o.v[size_t((h * head_dim + e) * n + i)] = float(x); });
  return naive_conv(o, plain_conv(a.proj.w.reshaped({c, c, 1, 1}), a.proj.b), 1, false);
}

// pixels [3, R, R] -> conv_exp output [C_exp, R/64, R/64].
inline Chw naive_fastvithd(const enc::FastVitHdWeights& w, Chw x) {
  x = naive_conv(x, w.stem[0], 2, true);
  x = naive_conv(x, w.stem[1], 2, true);
  x = naive_conv(x, w.stem[2], 1, true);
  for (const enc::StageW& s : w.network) {
    using K = enc::StageW::Kind;
    if (s.kind == K::kPatchEmbed)
      x = naive_conv(naive_conv(x, s.down.lk, w.cfg.down_stride, true), s.down.pw, 1, true);
    if (s.kind == K::kRepCpe) x = naive_conv(x, s.cpe, 1, false);
    for (const auto& b : s.repmixer) {
      x = naive_conv(x, b.mixer, 1, false);
      naive_conv_ffn(x, b.ffn);
    }
    for (const auto& b : s.attention) {
      naive_add(x, naive_attention(x, b, w.cfg.attention_head_dim, w.cfg.layernorm_eps));
      naive_conv_ffn(x, b.ffn);
    }
  }
  x = naive_conv(x, w.conv_exp.conv, 1, false);
  const int64_t hw = x.h * x.w, r = w.conv_exp.se_reduce.w.dim(0);
  std::vector<double> m(static_cast<size_t>(x.c), 0.0), sq(static_cast<size_t>(r));
  for (int64_t k = 0; k < x.c; ++k)
    for (int64_t p = 0; p < hw; ++p) m[k] += x.v[k * hw + p] / double(hw);
  for (int64_t j = 0; j < r; ++j) {
    double v = w.conv_exp.se_reduce.b.f32()[j];
    for (int64_t k = 0; k < x.c; ++k) v += w.conv_exp.se_reduce.w.f32()[j * x.c + k] * m[k];
    sq[j] = std::max(v, 0.0);
  }
  for (int64_t k = 0; k < x.c; ++k) {
    double v = w.conv_exp.se_expand.b.f32()[k];
    for (int64_t j = 0; j < r; ++j) v += w.conv_exp.se_expand.w.f32()[k * r + j] * sq[j];
    const double e = 1 / (1 + std::exp(-v));
    for (int64_t p = 0; p < hw; ++p) x.v[k * hw + p] = naive_gelu(float(x.v[k * hw + p] * e));
  }
  return x;
}

}  // namespace fvlm::test
