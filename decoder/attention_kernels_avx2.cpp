// AVX2 attention inner loops (spec: attention_kernels.cpp). head_dim % 8 == 0.
// Scores: four keys per pass share each load of q. Weighted sum: 64 output dims live in 8
// accumulators while the keys stream by.
#include <immintrin.h>

#include "core/simd_avx2.h"

#include "decoder/attention_kernels.h"

namespace fvlm::dec {

void attn_scores_avx2(const float* q, const float* k, int64_t ldk, int64_t n_keys, int hd, float scale,
                      float* s) {
  int64_t j = 0;
  for (; j + 4 <= n_keys; j += 4) {
    const float* k0 = k + j * ldk;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int d = 0; d < hd; d += 8) {
      const __m256 qv = _mm256_loadu_ps(q + d);
      a0 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k0 + d), a0);
      a1 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k0 + ldk + d), a1);
      a2 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k0 + 2 * ldk + d), a2);
      a3 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k0 + 3 * ldk + d), a3);
    }
    s[j] = hsum_avx2(a0) * scale;
    s[j + 1] = hsum_avx2(a1) * scale;
    s[j + 2] = hsum_avx2(a2) * scale;
    s[j + 3] = hsum_avx2(a3) * scale;
  }
  for (; j < n_keys; ++j) {
    __m256 a = _mm256_setzero_ps();
    for (int d = 0; d < hd; d += 8)
      a = _mm256_fmadd_ps(_mm256_loadu_ps(q + d), _mm256_loadu_ps(k + j * ldk + d), a);
    s[j] = hsum_avx2(a) * scale;
  }
}

void attn_weighted_sum_avx2(const float* p, const float* v, int64_t ldv, int64_t n_keys, int hd, float* out) {
  for (int d0 = 0; d0 < hd; d0 += 64) {
    const int nv = (hd - d0 >= 64) ? 8 : (hd - d0) / 8;
    __m256 acc[8];
    for (int i = 0; i < 8; ++i) acc[i] = _mm256_setzero_ps();
    for (int64_t j = 0; j < n_keys; ++j) {
      const __m256 pj = _mm256_set1_ps(p[j]);
      const float* vr = v + j * ldv + d0;
      for (int i = 0; i < nv; ++i) acc[i] = _mm256_fmadd_ps(pj, _mm256_loadu_ps(vr + 8 * i), acc[i]);
    }
    for (int i = 0; i < nv; ++i) _mm256_storeu_ps(out + d0 + 8 * i, acc[i]);
  }
}

}  // namespace fvlm::dec
