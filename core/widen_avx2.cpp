// AVX2/F16C widening (spec: widen.cpp *_ref): 8 elements per step, scalar tail (the ISA island's
// own conversions, core/simd_avx2.h).
#include <immintrin.h>

#include "core/simd_avx2.h"
#include "core/widen.h"

namespace fvlm {

void widen_bf16_avx2(const uint16_t* src, int64_t n, float* dst) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i)));
    _mm256_storeu_ps(dst + i, _mm256_castsi256_ps(_mm256_slli_epi32(v, 16)));
  }
  for (; i < n; ++i) dst[i] = avx2::bf16_to_f32(src[i]);
}

void widen_f16_avx2(const uint16_t* src, int64_t n, float* dst) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i))));
  for (; i < n; ++i) dst[i] = avx2::f16_to_f32(src[i]);
}

}  // namespace fvlm
