// Row-wise int8 quantisation kernels of the opt-in INT8 encoder path (encoder/int8_linear.h).
// Activations: dynamic, per token row, asymmetric u8 (x ~ sa * (q - za)), all 8 bits used.
// Weights: per output channel, symmetric, 7 bits (q in [-63, 63]) so that AVX2's vpmaddubsw
// (u8 x s8 pairs summed into a saturating int16) cannot saturate: 2 * 255 * 63 = 32130 < 32767.
// The scalar functions are the specification; the *_avx2 variants are bit-identical to them.
#pragma once
#include <cstdint>
#include <span>

#include "core/dispatch.h"

namespace fvlm::enc {

inline constexpr int kInt8WeightMax = 63;  // 7-bit symmetric weights (see above)

// w [n, k] row-major -> q [n, k] in [-63, 63], scale[n] = max|w[n,:]| / 63 (1 for an all-zero row),
// sum[n] = sum_k q[n, k] (the zero-point compensation term). Run once per weight.
void quantize_weights_s7(const float* w, int64_t n, int64_t k, int8_t* q, float* scale, int32_t* sum);

// x [rows, k] -> q [rows, k] u8 with, per row, lo = min(0, min x), hi = max(0, max x),
// scale = (hi - lo) / 255 (1 if hi == lo), zero = nearbyint(-lo / scale) in [0, 255] and
// q = clamp(nearbyint(x * (1 / scale)) + zero, 0, 255). Zero is exactly representable.
using QuantizeRowsU8Fn = void (*)(const float* x, int64_t rows, int64_t k, uint8_t* q, float* scale,
                                  int32_t* zero);
void quantize_rows_u8(const float* x, int64_t rows, int64_t k, uint8_t* q, float* scale, int32_t* zero);
void quantize_rows_u8_avx2(const float* x, int64_t rows, int64_t k, uint8_t* q, float* scale, int32_t* zero);

// acc [rows, n] = sum_k qa[m, k] qw[j, k] -> y[m, j] = fma(float(acc - za[m] wsum[j]), sa[m] sw[j], b[j])
// (b null: 0), stored to dst, or added to dst when accumulate (dst = dst + y).
struct DequantArgs {
  const float* row_scale;   // sa [rows]
  const int32_t* row_zero;  // za [rows]
  const float* col_scale;   // sw [n]
  const int32_t* col_sum;   // wsum [n]
  const float* bias;        // b [n] or null
  bool accumulate;
};
using DequantizeRowsS32Fn = void (*)(const int32_t* acc, int64_t rows, int64_t n, const DequantArgs& a,
                                     float* dst);
void dequantize_rows_s32(const int32_t* acc, int64_t rows, int64_t n, const DequantArgs& a, float* dst);
void dequantize_rows_s32_avx2(const int32_t* acc, int64_t rows, int64_t n, const DequantArgs& a, float* dst);

// "ref" (the scalar functions above) first, then "avx2" (core/dispatch.h).
std::span<const Variant<QuantizeRowsU8Fn>> quantize_rows_u8_variants();
std::span<const Variant<DequantizeRowsS32Fn>> dequantize_rows_s32_variants();

}  // namespace fvlm::enc
