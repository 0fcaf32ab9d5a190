// AVX2 block dequantisers, bit-identical to blocks.cpp's dequantize_row_q8_0 / _q4_0 (each value is
// one exact int -> f32 conversion and one f32 multiply by the f16 scale, as there). The prefill
// GEMM widens quantised weight panels through these before oneDNN's sgemm (decoder/widen.cpp).
#include <immintrin.h>

#include "quant/blocks.h"
#include "quant/dequantize.h"

namespace fvlm::quant {

void dequantize_row_q8_0_avx2(const BlockQ8_0* x, float* y, int64_t k) {
  for (int64_t b = 0; b < k / kBlock; ++b, y += kBlock) {
    const __m256 d = _mm256_cvtph_ps(_mm_set1_epi16(static_cast<short>(x[b].d)));
    for (int j = 0; j < kBlock; j += 8) {
      const __m128i q8 = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(x[b].qs + j));
      _mm256_storeu_ps(y + j, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q8)), d));
    }
  }
}

void dequantize_row_q4_0_avx2(const BlockQ4_0* x, float* y, int64_t k) {
  const __m128i low4 = _mm_set1_epi8(0x0f), eight = _mm_set1_epi8(8);
  for (int64_t b = 0; b < k / kBlock; ++b, y += kBlock) {
    const __m256 d = _mm256_cvtph_ps(_mm_set1_epi16(static_cast<short>(x[b].d)));
    const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x[b].qs));
    // Low nibbles are elements 0..15, high nibbles 16..31; both offset by -8.
    const __m128i lo = _mm_sub_epi8(_mm_and_si128(packed, low4), eight);
    const __m128i hi = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(packed, 4), low4), eight);
    const __m128i halves[2] = {lo, hi};
    for (int h = 0; h < 2; ++h) {
      const __m256i first8 = _mm256_cvtepi8_epi32(halves[h]);
      const __m256i next8 = _mm256_cvtepi8_epi32(_mm_srli_si128(halves[h], 8));
      _mm256_storeu_ps(y + 16 * h, _mm256_mul_ps(_mm256_cvtepi32_ps(first8), d));
      _mm256_storeu_ps(y + 16 * h + 8, _mm256_mul_ps(_mm256_cvtepi32_ps(next8), d));
    }
  }
}

}  // namespace fvlm::quant
