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
