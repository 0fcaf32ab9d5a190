#include "encoder/int8_rows.h"

#include <algorithm>
#include <cmath>

namespace fvlm::enc {
namespace {
constexpr Variant<QuantizeRowsU8Fn> kQuantizeRows[] = {
    {"ref", CpuFeature::kNone, quantize_rows_u8},
    {"avx2", CpuFeature::kAvx2, quantize_rows_u8_avx2},
};
constexpr Variant<DequantizeRowsS32Fn> kDequantizeRows[] = {
    {"ref", CpuFeature::kNone, dequantize_rows_s32},
    {"avx2", CpuFeature::kAvx2, dequantize_rows_s32_avx2},
};
}  // namespace

std::span<const Variant<QuantizeRowsU8Fn>> quantize_rows_u8_variants() { return kQuantizeRows; }
std::span<const Variant<DequantizeRowsS32Fn>> dequantize_rows_s32_variants() { return kDequantizeRows; }

void quantize_weights_s7(const float* w, int64_t n, int64_t k, int8_t* q, float* scale, int32_t* sum) {
  for (int64_t j = 0; j < n; ++j) {
    const float* row = w + j * k;
    float amax = 0.0f;
    for (int64_t i = 0; i < k; ++i) amax = std::max(amax, std::fabs(row[i]));
    scale[j] = amax > 0.0f ? amax / float(kInt8WeightMax) : 1.0f;
    const float inv = 1.0f / scale[j];
    int32_t s = 0;
    for (int64_t i = 0; i < k; ++i) {
      const float v = std::clamp(std::nearbyint(row[i] * inv), float(-kInt8WeightMax), float(kInt8WeightMax));
      q[j * k + i] = static_cast<int8_t>(v);
      s += static_cast<int32_t>(v);
    }
    sum[j] = s;
  }
}

void quantize_rows_u8(const float* x, int64_t rows, int64_t k, uint8_t* q, float* scale, int32_t* zero) {
  for (int64_t m = 0; m < rows; ++m) {
    const float* row = x + m * k;
    float lo = 0.0f, hi = 0.0f;
    for (int64_t i = 0; i < k; ++i) lo = std::min(lo, row[i]), hi = std::max(hi, row[i]);
    const float s = hi > lo ? (hi - lo) / 255.0f : 1.0f;
    const float inv = 1.0f / s;
    const int32_t z = std::clamp(static_cast<int32_t>(std::nearbyint(-lo * inv)), 0, 255);
    scale[m] = s;
    zero[m] = z;
    for (int64_t i = 0; i < k; ++i)
      q[m * k + i] =
          static_cast<uint8_t>(std::clamp(static_cast<int32_t>(std::nearbyint(row[i] * inv)) + z, 0, 255));
  }
}

void dequantize_rows_s32(const int32_t* acc, int64_t rows, int64_t n, const DequantArgs& a, float* dst) {
  for (int64_t m = 0; m < rows; ++m) {
    const float sa = a.row_scale[m];
    const int32_t za = a.row_zero[m];
    for (int64_t j = 0; j < n; ++j) {
      const float y =
          std::fma(float(acc[m * n + j] - za * a.col_sum[j]), sa * a.col_scale[j], a.bias ? a.bias[j] : 0.0f);
      dst[m * n + j] = a.accumulate ? dst[m * n + j] + y : y;
    }
  }
}

}  // namespace fvlm::enc
