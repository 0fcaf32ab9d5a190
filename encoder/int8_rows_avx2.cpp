// AVX2 variants of int8_rows.cpp, bit-identical to it: the same float ops (multiply by 1/scale,
// round half to even with the default MXCSR mode; min/max are exact in any order).
// An ISA island: helpers in fvlm::avx2; the scalar tails spell out std::min/max/clamp and call
// libm's nearbyintf (what std::nearbyint of a float calls).
#include <immintrin.h>
#include <math.h>

#include "encoder/int8_rows.h"

namespace fvlm::avx2 {
namespace {

inline float min_f(float a, float b) { return b < a ? b : a; }                  // std::min(a, b)
inline float max_f(float a, float b) { return a < b ? b : a; }                  // std::max(a, b)
inline int32_t clamp_u8(int32_t v) { return v < 0 ? 0 : (255 < v ? 255 : v); }  // std::clamp(v, 0, 255)

float hmin(__m256 v) {
  __m128 m = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_min_ps(m, _mm_movehl_ps(m, m));
  return _mm_cvtss_f32(_mm_min_ss(m, _mm_shuffle_ps(m, m, 1)));
}

float hmax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  return _mm_cvtss_f32(_mm_max_ss(m, _mm_shuffle_ps(m, m, 1)));
}

}  // namespace
}  // namespace fvlm::avx2

namespace fvlm::enc {
using namespace fvlm::avx2;

void minmax_f32_avx2(const float* x, int64_t n, float* lo, float* hi) {
  const int64_t n8 = n & ~int64_t(7);
  __m256 vlo = _mm256_set1_ps(*lo), vhi = _mm256_set1_ps(*hi);
  for (int64_t i = 0; i < n8; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    vlo = _mm256_min_ps(vlo, v);
    vhi = _mm256_max_ps(vhi, v);
  }
  float l = hmin(vlo), h = hmax(vhi);
  for (int64_t i = n8; i < n; ++i) l = min_f(l, x[i]), h = max_f(h, x[i]);
  *lo = l;
  *hi = h;
}

void quantize_u8_avx2(const float* x, int64_t n, float inv, int32_t zero, uint8_t* q) {
  const int64_t n8 = n & ~int64_t(7);
  const __m256 vinv = _mm256_set1_ps(inv);
  const __m256i vz = _mm256_set1_epi32(zero);
  for (int64_t i = 0; i < n8; i += 8) {
    const __m256i qi = _mm256_add_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + i), vinv)), vz);
    // int32 -> int16 -> u8 with saturation (= clamp to [0, 255]); packs work per 128-bit lane.
    const __m128i w16 = _mm_packs_epi32(_mm256_castsi256_si128(qi), _mm256_extracti128_si256(qi, 1));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(q + i), _mm_packus_epi16(w16, w16));
  }
  for (int64_t i = n8; i < n; ++i)
    q[i] = static_cast<uint8_t>(clamp_u8(static_cast<int32_t>(nearbyintf(x[i] * inv)) + zero));
}

}  // namespace fvlm::enc
