// AVX2 conversions to bf16, bit-identical to bf16_rows.cpp's _ref: the dequantised value is the same
// exact f32 (int -> f32 conversion times the f16 scale, as blocks.cpp), then rounded to nearest even
// with the integer trick of core/half.h f32_to_bf16 (NaN kept quiet), 16 values per step.
#include <immintrin.h>

#include "core/simd_avx2.h"
#include "quant/bf16_rows.h"

namespace fvlm::quant {
namespace avx2 {
namespace {

// 8 floats -> 8 bf16 in the low 16 bits of each 32-bit lane.
inline __m256i round_to_bf16(__m256 v) {
  const __m256i u = _mm256_castps_si256(v);
  const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
  const __m256i rounded =
      _mm256_srli_epi32(_mm256_add_epi32(u, _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7fff))), 16);
  const __m256i quiet = _mm256_or_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(0x40));
  const __m256i is_nan =
      _mm256_cmpgt_epi32(_mm256_and_si256(u, _mm256_set1_epi32(0x7fffffff)), _mm256_set1_epi32(0x7f800000));
  return _mm256_blendv_epi8(rounded, quiet, is_nan);
}

// 16 floats (a, b) -> 16 bf16 at y.
inline void store_bf16x16(__m256 a, __m256 b, uint16_t* y) {
  // packus works per 128-bit lane: [a0-3 b0-3 a4-7 b4-7]; the permute restores a0-7 b0-7.
  const __m256i packed = _mm256_packus_epi32(round_to_bf16(a), round_to_bf16(b));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(y), _mm256_permute4x64_epi64(packed, 0xD8));
}

inline uint16_t scalar_bf16(float f) {
  uint32_t u;
  __builtin_memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}

// Sign-extends 16 int8 to two vectors of 8 floats scaled by d.
inline void scale16(__m128i q, __m256 d, __m256* lo, __m256* hi) {
  *lo = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q)), d);
  *hi = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(q, 8))), d);
}

}  // namespace
}  // namespace avx2

void f32_to_bf16_avx2(const float* x, int64_t n, uint16_t* y) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) avx2::store_bf16x16(_mm256_loadu_ps(x + i), _mm256_loadu_ps(x + i + 8), y + i);
  for (; i < n; ++i) y[i] = avx2::scalar_bf16(x[i]);
}

void q8_0_to_bf16_avx2(const BlockQ8_0* x, int64_t k, uint16_t* y) {
  for (int64_t b = 0; b < k / kBlock; ++b, y += kBlock) {
    const __m256 d = _mm256_cvtph_ps(_mm_set1_epi16(static_cast<short>(x[b].d)));
    for (int j = 0; j < kBlock; j += 16) {
      __m256 lo, hi;
      avx2::scale16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x[b].qs + j)), d, &lo, &hi);
      avx2::store_bf16x16(lo, hi, y + j);
    }
  }
}

void q4_0_to_bf16_avx2(const BlockQ4_0* x, int64_t k, uint16_t* y) {
  const __m128i low4 = _mm_set1_epi8(0x0f), eight = _mm_set1_epi8(8);
  for (int64_t b = 0; b < k / kBlock; ++b, y += kBlock) {
    const __m256 d = _mm256_cvtph_ps(_mm_set1_epi16(static_cast<short>(x[b].d)));
    const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x[b].qs));
    // Low nibbles are elements 0..15, high nibbles 16..31; both offset by -8.
    const __m128i halves[2] = {_mm_sub_epi8(_mm_and_si128(packed, low4), eight),
                               _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(packed, 4), low4), eight)};
    for (int h = 0; h < 2; ++h) {
      __m256 lo, hi;
      avx2::scale16(halves[h], d, &lo, &hi);
      avx2::store_bf16x16(lo, hi, y + 16 * h);
    }
  }
}

}  // namespace fvlm::quant
