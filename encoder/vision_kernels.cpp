#include "encoder/vision_kernels.h"

#include <cmath>
#include <vector>

#include "core/half.h"
#include "core/parallel.h"
#include "encoder/gelu_bf16.h"

namespace fvlm::enc {

namespace {

inline float as_is(float v) { return v; }
inline uint16_t rounded_bf16(float v) { return f32_to_bf16(v); }

template <class T, T (*Store)(float)>
void repeat_channels_as(const float* src, T* dst, int64_t rows, int64_t c, int64_t m) {
  parallel_for(rows, 256, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t i = 0; i < c; ++i) {
        const T v = Store(src[r * c + i]);
        for (int64_t j = 0; j < m; ++j) dst[(r * c + i) * m + j] = v;
      }
  });
}

template <class T, T (*Store)(float)>
void layer_norm_rows_as(const float* x, T* y, int64_t rows, int64_t c, const float* w, const float* b,
                        float eps) {
  parallel_for(rows, 16, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * c;
      T* yr = y + r * c;
      float sum = 0;
      for (int64_t i = 0; i < c; ++i) sum += xr[i];
      const float mean = sum / float(c);  // u = x.mean(1, keepdim=True)
      float sq = 0;
      for (int64_t i = 0; i < c; ++i) sq += (xr[i] - mean) * (xr[i] - mean);
      const float inv = 1.0f / std::sqrt(sq / float(c) + eps);  // s = (x - u).pow(2).mean(1)
      for (int64_t i = 0; i < c; ++i) yr[i] = Store((xr[i] - mean) * inv * w[i] + b[i]);
    }
  });
}

}  // namespace

void repeat_channels(const float* src, float* dst, int64_t rows, int64_t c, int64_t m) {
  repeat_channels_as<float, as_is>(src, dst, rows, c, m);
}

void repeat_channels_bf16(const float* src, uint16_t* dst, int64_t rows, int64_t c, int64_t m) {
  repeat_channels_as<uint16_t, rounded_bf16>(src, dst, rows, c, m);
}

void gelu_erf_inplace(float* x, int64_t n) {
  parallel_for(n, 4096, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) x[i] = gelu_erf(x[i]);
  });
}

void gelu_erf_bf16_inplace(uint16_t* x, int64_t n) {
  static const GeluBf16Fn gelu = pick("gelu_erf_bf16", gelu_erf_bf16_variants()).fn;
  parallel_for(n, 16384, [&](int64_t b, int64_t e) { gelu(x + b, e - b); });
}

void gelu_erf_f32_via_bf16_inplace(float* x, int64_t n) {
  static const GeluF32Fn gelu = pick("gelu_erf_f32_via_bf16", gelu_erf_f32_via_bf16_variants()).fn;
  parallel_for(n, 16384, [&](int64_t b, int64_t e) { gelu(x + b, e - b); });
}

void layer_norm_rows(const float* x, float* y, int64_t rows, int64_t c, const float* w, const float* b,
                     float eps) {
  layer_norm_rows_as<float, as_is>(x, y, rows, c, w, b, eps);
}

void layer_norm_rows_bf16(const float* x, uint16_t* y, int64_t rows, int64_t c, const float* w,
                          const float* b, float eps) {
  layer_norm_rows_as<uint16_t, rounded_bf16>(x, y, rows, c, w, b, eps);
}

void squeeze_excite_inplace(float* x, int64_t hw, int64_t c, const float* wr, const float* br, int64_t r,
                            const float* we, const float* be) {
  std::vector<double> acc(c, 0.0);
  for (int64_t p = 0; p < hw; ++p)  // F.avg_pool2d(inputs, kernel_size=[h, w])
    for (int64_t i = 0; i < c; ++i) acc[i] += x[p * c + i];
  std::vector<float> mean(c), s(r), e(c);
  for (int64_t i = 0; i < c; ++i) mean[i] = float(acc[i] / double(hw));
  for (int64_t j = 0; j < r; ++j) {  // x = F.relu(self.reduce(x))
    float v = br[j];
    for (int64_t i = 0; i < c; ++i) v += wr[j * c + i] * mean[i];
    s[j] = v > 0 ? v : 0;
  }
  for (int64_t i = 0; i < c; ++i) {  // x = torch.sigmoid(self.expand(x))
    float v = be[i];
    for (int64_t j = 0; j < r; ++j) v += we[i * r + j] * s[j];
    e[i] = 1.0f / (1.0f + std::exp(-v));
  }
  parallel_for(hw, 16, [&](int64_t p0, int64_t p1) {  // inputs * x
    for (int64_t p = p0; p < p1; ++p)
      for (int64_t i = 0; i < c; ++i) x[p * c + i] *= e[i];
  });
}

}  // namespace fvlm::enc
