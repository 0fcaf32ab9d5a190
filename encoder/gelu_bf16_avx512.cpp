// gelu_bf16.h's avx512 variant: 16 bf16 values per step, widened to f32 by a shift, erf of v / sqrt 2
// as Eigen's rational function (odd numerator of degree 13 over an even denominator of degree 8, input
// clamped to [-4, 4] where erf is +-1 in f32), and rounded back to nearest even as f32_to_bf16 does
// (NaN kept quiet). A tail of n % 16 values goes through masked loads and stores.
// GCC 12's avx512fintrin.h trips -Wmaybe-uninitialized on its own masked builtins (false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "encoder/gelu_bf16.h"

namespace fvlm::enc {
namespace {

inline __m512 erf_rational(__m512 x) {
  x = _mm512_max_ps(_mm512_min_ps(x, _mm512_set1_ps(4.0f)), _mm512_set1_ps(-4.0f));
  const __m512 x2 = _mm512_mul_ps(x, x);
  __m512 p =
      _mm512_fmadd_ps(x2, _mm512_set1_ps(-2.72614225801306e-10f), _mm512_set1_ps(2.77068142495902e-08f));
  p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(-2.10102402082508e-06f));
  p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(-5.69250639462346e-05f));
  p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(-7.34990630326855e-04f));
  p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(-2.95459980854025e-03f));
  p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(-1.60960333262415e-02f));
  p = _mm512_mul_ps(x, p);
  __m512 q =
      _mm512_fmadd_ps(x2, _mm512_set1_ps(-1.45660718464996e-05f), _mm512_set1_ps(-2.13374055278905e-04f));
  q = _mm512_fmadd_ps(x2, q, _mm512_set1_ps(-1.68282697438203e-03f));
  q = _mm512_fmadd_ps(x2, q, _mm512_set1_ps(-7.37332916720468e-03f));
  q = _mm512_fmadd_ps(x2, q, _mm512_set1_ps(-1.42647390514189e-02f));
  return _mm512_div_ps(p, q);
}

inline __m256i gelu16(__m256i h) {
  const __m512 v = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  const __m512 half_v = _mm512_mul_ps(v, _mm512_set1_ps(0.5f));
  const __m512 g =
      _mm512_fmadd_ps(half_v, erf_rational(_mm512_mul_ps(v, _mm512_set1_ps(0.70710678118654752f))),
                      half_v);  // 0.5 v (1 + erf)
  // round to nearest even: u + 0x7fff + ((u >> 16) & 1), then >> 16; NaN: (u >> 16) | 0x40
  const __m512i u = _mm512_castps_si512(g);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  __m512i r = _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(u, _mm512_set1_epi32(0x7fff)), lsb), 16);
  const __mmask16 nan = _mm512_cmp_ps_mask(g, g, _CMP_UNORD_Q);
  r = _mm512_mask_mov_epi32(r, nan, _mm512_or_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(0x40)));
  return _mm512_cvtepi32_epi16(r);
}

}  // namespace

void gelu_erf_bf16_avx512(uint16_t* x, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(x + i), gelu16(h));
  }
  if (i < n) {
    const __mmask16 m = __mmask16((1u << (n - i)) - 1);
    const __m256i h = _mm256_maskz_loadu_epi16(m, x + i);
    _mm256_mask_storeu_epi16(x + i, m, gelu16(h));
  }
}

}  // namespace fvlm::enc
