// gelu_bf16.h's avx2 variant of the F32 GELU: each value rounded to bf16 as core/half.h's f32_to_bf16
// does (nearest even; NaN kept, quieted), looked up 8 at a time with vpgatherdd (scale 2, the low half
// of each 32-bit read is the entry), widened back to F32. A tail of n % 8 values takes the scalar spec
// (called, not inlined: an ISA file keeps header inlines out, ctest isa_islands).
#include <immintrin.h>

#include "encoder/gelu_bf16.h"

namespace fvlm::enc {

void gelu_erf_f32_via_bf16_avx2(float* x, int64_t n) {
  const int* table = reinterpret_cast<const int*>(gelu_erf_bf16_table());
  const __m256i abs_mask = _mm256_set1_epi32(0x7fffffff), inf = _mm256_set1_epi32(0x7f800000);
  const __m256i one = _mm256_set1_epi32(1), half = _mm256_set1_epi32(0x7fff), quiet = _mm256_set1_epi32(0x40);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i u = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i));
    const __m256i high = _mm256_srli_epi32(u, 16);
    const __m256i rounded =
        _mm256_srli_epi32(_mm256_add_epi32(u, _mm256_add_epi32(half, _mm256_and_si256(high, one))), 16);
    const __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, abs_mask), inf);  // |u| < 2^31: signed is fine
    const __m256i index = _mm256_blendv_epi8(rounded, _mm256_or_si256(high, quiet), nan);
    const __m256i g = _mm256_i32gather_epi32(table, index, 2);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(x + i), _mm256_slli_epi32(g, 16));
  }
  if (i < n) gelu_erf_f32_via_bf16_ref(x + i, n - i);
}

}  // namespace fvlm::enc
