#include "quant/s8_rows.h"

#include <algorithm>
#include <cmath>

#include "core/parallel.h"

namespace fvlm::quant {
namespace {
constexpr Variant<QuantizeRowsS8Fn> kVariants[] = {
    {"ref", CpuFeature::kNone, quantize_rows_s8_ref},
    {"avx2", CpuFeature::kAvx2, quantize_rows_s8_avx2},
};
}  // namespace

std::span<const Variant<QuantizeRowsS8Fn>> quantize_rows_s8_variants() { return kVariants; }

void quantize_rows_s8_ref(const float* x, int64_t rows, int64_t k, int8_t* q, float* scale) {
  constexpr float qmax = kS8Max;
  // Round half to even by the 1.5 * 2^23 trick: for |x| < 2^22 the sum's last bit is the integer
  // part, rounded as the FPU rounds (to nearest even, the mode nearbyint uses by default). Same
  // values as std::nearbyint, which on this build's SSE2 baseline is a libm call per value: it made
  // quantising the encoder's weights most of an int8 plan's 0.7-0.9 s.
  constexpr float kRound = 12582912.0f;
  for (int64_t j = 0; j < rows; ++j) {
    const float* row = x + j * k;
    float amax = 0.0f;
    for (int64_t i = 0; i < k; ++i) amax = std::max(amax, std::fabs(row[i]));
    scale[j] = amax > 0.0f ? amax / qmax : 1.0f;
    const float inv = 1.0f / scale[j];
    for (int64_t i = 0; i < k; ++i)
      q[j * k + i] = static_cast<int8_t>(std::clamp((row[i] * inv + kRound) - kRound, -qmax, qmax));
  }
}

void quantize_rows_s8(const float* x, int64_t rows, int64_t k, int8_t* q, float* scale) {
  static const QuantizeRowsS8Fn fn = pick("quantize_rows_s8", quantize_rows_s8_variants()).fn;
  parallel_for(rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(k, 1)),
               [&](int64_t a, int64_t b) { fn(x + a * k, b - a, k, q + a * k, scale + a); });
}

}  // namespace fvlm::quant
