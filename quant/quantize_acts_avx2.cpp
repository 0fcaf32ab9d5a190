// AVX2 activation quantiser, bit-identical to blocks.cpp's quantize_acts_row (see quantize_acts.h):
//   amax: max over |x| (vmaxps keeps the running max when |x| is NaN, as std::max(amax, |x|) does;
//         a max of non-NaN values does not depend on the order);
//   d = amax / 127 and id = 127 / amax in scalar f32, as there;
//   q = clamp(round-half-even(x * id), -127, 127): vcvtps2dq rounds with MXCSR's default mode (to
//       nearest even), as std::nearbyint; NaN gives INT_MIN, clamped to -127 (the scalar maps NaN to -127).
#include <immintrin.h>
#include <cfloat>

#include "quant/quantize_acts.h"

namespace fvlm::quant {

void quantize_acts_row_avx2(const float* x, int64_t k, int8_t* qs, float* d, int32_t* sum) {
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  const __m256i lo = _mm256_set1_epi32(-127), hi = _mm256_set1_epi32(127);
  for (int64_t b = 0; b < k / kBlock; ++b, x += kBlock, qs += kBlock) {
    __m256 v[4];
    __m256 m = _mm256_setzero_ps();
    for (int i = 0; i < 4; ++i) {
      v[i] = _mm256_loadu_ps(x + 8 * i);
      m = _mm256_max_ps(_mm256_and_ps(v[i], abs_mask), m);  // NaN |x| -> m (the second operand)
    }
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    const float amax = _mm_cvtss_f32(m4);
    float id = amax > 0.0f ? 127.0f / amax : 0.0f;
    // A block of subnormals (|x| < ~4e-37): 127 / amax overflows to inf and x * id would too (an
    // undefined conversion); such a block quantises to zeros (its true contribution is < 1e-35).
    if (id > FLT_MAX) id = 0.0f;
    d[b] = amax / 127.0f;
    const __m256 vid = _mm256_set1_ps(id);
    __m256i q[4];
    __m256i s = _mm256_setzero_si256();
    for (int i = 0; i < 4; ++i) {
      q[i] = _mm256_cvtps_epi32(_mm256_mul_ps(v[i], vid));
      q[i] = _mm256_max_epi32(_mm256_min_epi32(q[i], hi), lo);
      s = _mm256_add_epi32(s, q[i]);
    }
    // int32 -> int8 (values already in range): the packs interleave 128-bit lanes; undo with one
    // 64-bit permute.
    const __m256i q16a = _mm256_packs_epi32(q[0], q[1]), q16b = _mm256_packs_epi32(q[2], q[3]);
    const __m256i q8 = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(q16a, q16b),
                                                   _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(qs), q8);
    __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, _MM_SHUFFLE(1, 0, 3, 2)));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, _MM_SHUFFLE(2, 3, 0, 1)));
    sum[b] = _mm_cvtsi128_si32(s4);
  }
}

}  // namespace fvlm::quant
