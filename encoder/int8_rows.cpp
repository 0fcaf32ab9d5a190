#include "encoder/int8_rows.h"

#include <algorithm>
#include <cmath>

namespace fvlm::enc {
namespace {
constexpr Variant<MinMaxFn> kMinMax[] = {
    {"ref", CpuFeature::kNone, minmax_f32},
    {"avx2", CpuFeature::kAvx2, minmax_f32_avx2},
};
constexpr Variant<QuantizeU8Fn> kQuantizeU8[] = {
    {"ref", CpuFeature::kNone, quantize_u8},
    {"avx2", CpuFeature::kAvx2, quantize_u8_avx2},
};
}  // namespace

std::span<const Variant<MinMaxFn>> minmax_f32_variants() { return kMinMax; }
std::span<const Variant<QuantizeU8Fn>> quantize_u8_variants() { return kQuantizeU8; }

void quantize_weights_s8(const float* w, int64_t n, int64_t k, int8_t* q, float* scale) {
  constexpr float qmax = kInt8WeightMax;
  // Round half to even by the 1.5 * 2^23 trick: for |x| < 2^22 the sum's last bit is the integer
  // part, rounded as the FPU rounds (to nearest even, the mode nearbyint uses by default). Same
  // values as std::nearbyint, which on this build's SSE2 baseline is a libm call per weight: it made
  // quantising the encoder's weights most of an int8 plan's 0.7-0.9 s.
  constexpr float kRound = 12582912.0f;
  for (int64_t j = 0; j < n; ++j) {
    const float* row = w + j * k;
    float amax = 0.0f;
    for (int64_t i = 0; i < k; ++i) amax = std::max(amax, std::fabs(row[i]));
    scale[j] = amax > 0.0f ? amax / qmax : 1.0f;
    const float inv = 1.0f / scale[j];
    for (int64_t i = 0; i < k; ++i)
      q[j * k + i] = static_cast<int8_t>(std::clamp((row[i] * inv + kRound) - kRound, -qmax, qmax));
  }
}

void minmax_f32(const float* x, int64_t n, float* lo, float* hi) {
  float l = *lo, h = *hi;
  for (int64_t i = 0; i < n; ++i) l = std::min(l, x[i]), h = std::max(h, x[i]);
  *lo = l;
  *hi = h;
}

U8Params u8_params(float lo, float hi, int levels) {
  const float s = hi > lo ? (hi - lo) / float(levels) : 1.0f;
  const float inv = 1.0f / s;
  return {s, inv, std::clamp(static_cast<int32_t>(std::nearbyint(-lo * inv)), 0, levels)};
}

void quantize_u8(const float* x, int64_t n, float inv, int32_t zero, uint8_t* q) {
  for (int64_t i = 0; i < n; ++i)
    q[i] = static_cast<uint8_t>(std::clamp(static_cast<int32_t>(std::nearbyint(x[i] * inv)) + zero, 0, 255));
}

}  // namespace fvlm::enc
