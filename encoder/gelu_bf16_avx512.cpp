// gelu_bf16.h's avx512 variant: the spec's table, 16 values per gather. Each bf16 widens to a 32-bit
// index; vpgatherdd with scale 2 reads the 4 bytes at entry i (the table has a spare entry at the
// end), and the narrowing to 16 bits keeps entry i. A tail of n % 16 values goes through masked
// loads, a masked gather and masked stores.
// GCC 12's avx512fintrin.h trips -Wmaybe-uninitialized on its own masked builtins (false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "encoder/gelu_bf16.h"

namespace fvlm::enc {

void gelu_erf_bf16_avx512(uint16_t* x, int64_t n) {
  const int* table = reinterpret_cast<const int*>(gelu_erf_bf16_table());
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512i index = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i)));
    const __m512i g = _mm512_i32gather_epi32(index, table, 2);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(x + i), _mm512_cvtepi32_epi16(g));
  }
  if (i < n) {
    const __mmask16 m = __mmask16((1u << (n - i)) - 1);
    const __m512i index = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, x + i));
    const __m512i g = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), m, index, table, 2);
    _mm256_mask_storeu_epi16(x + i, m, _mm512_cvtepi32_epi16(g));
  }
}

}  // namespace fvlm::enc

namespace fvlm::enc {

// The F32 variant: each value rounded to bf16 as core/half.h's f32_to_bf16 does (nearest even; NaN
// kept, quieted), 16 lookups per gather, widened back to F32; the tail under a mask.
void gelu_erf_f32_via_bf16_avx512(float* x, int64_t n) {
  const int* table = reinterpret_cast<const int*>(gelu_erf_bf16_table());
  const __m512i abs_mask = _mm512_set1_epi32(0x7fffffff), inf = _mm512_set1_epi32(0x7f800000);
  const __m512i one = _mm512_set1_epi32(1), half = _mm512_set1_epi32(0x7fff), quiet = _mm512_set1_epi32(0x40);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? __mmask16(0xffff) : __mmask16((1u << (n - i)) - 1);
    const __m512i u = _mm512_maskz_loadu_epi32(m, x + i);
    const __m512i high = _mm512_srli_epi32(u, 16);
    __m512i index =
        _mm512_srli_epi32(_mm512_add_epi32(u, _mm512_add_epi32(half, _mm512_and_si512(high, one))), 16);
    const __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, abs_mask), inf);
    index = _mm512_mask_or_epi32(index, nan, high, quiet);
    const __m512i g = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), m, index, table, 2);
    _mm512_mask_storeu_epi32(x + i, m, _mm512_slli_epi32(g, 16));
  }
}

}  // namespace fvlm::enc
