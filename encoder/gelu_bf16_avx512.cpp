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
