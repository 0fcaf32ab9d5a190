// Quantisation kernels of the INT8 encoder path (encoder/int8_linear.h).
// Activations: dynamic, per block of rows (one oneDNN matmul call), asymmetric u8 (x ~ s * (q - z)):
// oneDNN 2.6's VNNI kernel takes one runtime zero point and scale per call, not per row (a per-row
// scale falls back to its reference kernel). All 8 bits (q <= 255) where oneDNN runs int8 on VNNI
// (int32 dot products); 7 bits (q <= 127) below it, where u8 x s8 pairs are summed into saturating
// int16 (vpmaddubsw): 2 * 127 * 127 = 32258 < 32767.
// Weights: per output channel, symmetric, 8 bits (|q| <= 127: quant/s8_rows.h). On the golden model, 7-bit
// weights with 8-bit activations (the other way to stay clear of saturation) lost 3-4x more accuracy. The
// scalar functions are the specification; the *_avx2 variants are bit-identical to them.
#pragma once
#include <cstdint>
#include <span>

#include "core/dispatch.h"

namespace fvlm::enc {

// lo = min(lo, min x), hi = max(hi, max x) over x[0, n): callers start from lo = hi = 0, so zero is
// always inside the range (and exactly representable).
using MinMaxFn = void (*)(const float* x, int64_t n, float* lo, float* hi);
void minmax_f32(const float* x, int64_t n, float* lo, float* hi);
void minmax_f32_avx2(const float* x, int64_t n, float* lo, float* hi);

// The u8 parameters of a range [lo <= 0, hi >= 0] in `levels` steps (255 or 127, above):
// scale = (hi - lo) / levels (1 if hi == lo), inv = 1 / scale, zero = nearbyint(-lo * inv) in
// [0, levels].
struct U8Params {
  float scale, inv;
  int32_t zero;
};
U8Params u8_params(float lo, float hi, int levels);

// q = clamp(nearbyint(x * inv) + zero, 0, 255) over x[0, n) (x within the range of its U8Params: q
// stays within its levels).
using QuantizeU8Fn = void (*)(const float* x, int64_t n, float inv, int32_t zero, uint8_t* q);
void quantize_u8(const float* x, int64_t n, float inv, int32_t zero, uint8_t* q);
void quantize_u8_avx2(const float* x, int64_t n, float inv, int32_t zero, uint8_t* q);

// "ref" (the scalar functions above) first, then "avx2" (core/dispatch.h).
std::span<const Variant<MinMaxFn>> minmax_f32_variants();
std::span<const Variant<QuantizeU8Fn>> quantize_u8_variants();

}  // namespace fvlm::enc
