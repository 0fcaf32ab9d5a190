// AVX2 variant of s8_rows.cpp, bit-identical to it: max|x| is exact in any order; 1 / scale is the
// same scalar division; vroundps rounds to nearest even, as the reference's 1.5 * 2^23 trick does,
// and both then clamp to [-127, 127].
// An ISA island: helpers in fvlm::avx2.
#include <immintrin.h>

#include "quant/s8_rows.h"

namespace fvlm::avx2 {
namespace {

float hmax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  return _mm_cvtss_f32(_mm_max_ss(m, _mm_shuffle_ps(m, m, 1)));
}

inline float abs_f(float v) { return v < 0.0f ? -v : v; }       // std::fabs but for -0 (max-neutral)
inline float max_f(float a, float b) { return a < b ? b : a; }  // std::max(a, b)

}  // namespace
}  // namespace fvlm::avx2

namespace fvlm::quant {
using namespace fvlm::avx2;

void quantize_rows_s8_avx2(const float* x, int64_t rows, int64_t k, int8_t* q, float* scale) {
  constexpr float qmax = kS8Max;
  const int64_t k8 = k & ~int64_t(7);
  const __m256 sign = _mm256_set1_ps(-0.0f), lo = _mm256_set1_ps(-qmax), hi = _mm256_set1_ps(qmax);
  for (int64_t j = 0; j < rows; ++j) {
    const float* row = x + j * k;
    int8_t* out = q + j * k;
    __m256 vmax = _mm256_setzero_ps();
    for (int64_t i = 0; i < k8; i += 8)
      vmax = _mm256_max_ps(vmax, _mm256_andnot_ps(sign, _mm256_loadu_ps(row + i)));
    float amax = hmax(vmax);
    for (int64_t i = k8; i < k; ++i) amax = max_f(amax, abs_f(row[i]));
    scale[j] = amax > 0.0f ? amax / qmax : 1.0f;
    const float inv = 1.0f / scale[j];
    const __m256 vinv = _mm256_set1_ps(inv);
    for (int64_t i = 0; i < k8; i += 8) {
      const __m256 v =
          _mm256_min_ps(_mm256_max_ps(_mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(row + i), vinv),
                                                      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC),
                                      lo),
                        hi);
      const __m256i qi = _mm256_cvtps_epi32(v);  // exact: v is an integer in [-127, 127]
      const __m128i w16 = _mm_packs_epi32(_mm256_castsi256_si128(qi), _mm256_extracti128_si256(qi, 1));
      _mm_storel_epi64(reinterpret_cast<__m128i*>(out + i), _mm_packs_epi16(w16, w16));
    }
    constexpr float kRound = 12582912.0f;  // the reference's rounding, for the tail
    for (int64_t i = k8; i < k; ++i) {
      const float r = (row[i] * inv + kRound) - kRound;
      out[i] = static_cast<int8_t>(r < -qmax ? -qmax : (qmax < r ? qmax : r));
    }
  }
}

}  // namespace fvlm::quant
