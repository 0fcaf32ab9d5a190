// AVX2 variants of int8_rows.cpp, bit-identical to it: the same float ops in the same order
// (multiply by 1/scale, round half to even with the default MXCSR mode, one fma per output).
// An ISA island: helpers in fvlm::avx2; the scalar tails spell out std::min/max/clamp and call
// libm's nearbyintf/fmaf (what std::nearbyint/std::fma of a float call).
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

void quantize_rows_u8_avx2(const float* x, int64_t rows, int64_t k, uint8_t* q, float* scale, int32_t* zero) {
  const int64_t k8 = k & ~int64_t(7);
  for (int64_t m = 0; m < rows; ++m) {
    const float* row = x + m * k;
    uint8_t* out = q + m * k;
    __m256 vlo = _mm256_setzero_ps(), vhi = _mm256_setzero_ps();
    for (int64_t i = 0; i < k8; i += 8) {
      const __m256 v = _mm256_loadu_ps(row + i);
      vlo = _mm256_min_ps(vlo, v);
      vhi = _mm256_max_ps(vhi, v);
    }
    float lo = hmin(vlo), hi = hmax(vhi);
    for (int64_t i = k8; i < k; ++i) lo = min_f(lo, row[i]), hi = max_f(hi, row[i]);
    const float s = hi > lo ? (hi - lo) / 255.0f : 1.0f;
    const float inv = 1.0f / s;
    const int32_t z = clamp_u8(static_cast<int32_t>(nearbyintf(-lo * inv)));
    scale[m] = s;
    zero[m] = z;
    const __m256 vinv = _mm256_set1_ps(inv);
    const __m256i vz = _mm256_set1_epi32(z);
    for (int64_t i = 0; i < k8; i += 8) {
      const __m256i qi =
          _mm256_add_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(row + i), vinv)), vz);
      // int32 -> int16 -> u8 with saturation (= clamp to [0, 255]); packs work per 128-bit lane.
      const __m128i w16 = _mm_packs_epi32(_mm256_castsi256_si128(qi), _mm256_extracti128_si256(qi, 1));
      _mm_storel_epi64(reinterpret_cast<__m128i*>(out + i), _mm_packus_epi16(w16, w16));
    }
    for (int64_t i = k8; i < k; ++i)
      out[i] = static_cast<uint8_t>(clamp_u8(static_cast<int32_t>(nearbyintf(row[i] * inv)) + z));
  }
}

void dequantize_rows_s32_avx2(const int32_t* acc, int64_t rows, int64_t n, const DequantArgs& a, float* dst) {
  const int64_t n8 = n & ~int64_t(7);
  for (int64_t m = 0; m < rows; ++m) {
    const float sa = a.row_scale[m];
    const int32_t za = a.row_zero[m];
    const __m256 vsa = _mm256_set1_ps(sa);
    const __m256i vza = _mm256_set1_epi32(za);
    const int32_t* in = acc + m * n;
    float* out = dst + m * n;
    for (int64_t j = 0; j < n8; j += 8) {
      const __m256i corr =
          _mm256_mullo_epi32(vza, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.col_sum + j)));
      const __m256 v = _mm256_cvtepi32_ps(
          _mm256_sub_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + j)), corr));
      const __m256 b = a.bias ? _mm256_loadu_ps(a.bias + j) : _mm256_setzero_ps();
      __m256 y = _mm256_fmadd_ps(v, _mm256_mul_ps(vsa, _mm256_loadu_ps(a.col_scale + j)), b);
      if (a.accumulate) y = _mm256_add_ps(_mm256_loadu_ps(out + j), y);
      _mm256_storeu_ps(out + j, y);
    }
    for (int64_t j = n8; j < n; ++j) {
      const float y = fmaf(float(in[j] - za * a.col_sum[j]), sa * a.col_scale[j], a.bias ? a.bias[j] : 0.0f);
      out[j] = a.accumulate ? out[j] + y : y;
    }
  }
}

}  // namespace fvlm::enc
