// AVX2 attention inner loops (spec: attention_kernels.cpp): head_dim in steps of 8, then a scalar
// tail for head_dim % 8 (no real model has one; the tail keeps every head size valid).
// Scores: four keys per pass share each load of q. Weighted sum: 64 output dims live in 8
// accumulators while the keys stream by.
#include <immintrin.h>

#include "core/simd_avx2.h"
#include "decoder/attention_kernels.h"

namespace fvlm::avx2 {
namespace {
// dot(q[d0:hd], k[d0:hd]): the scalar tail of a score.
inline float dot_tail(const float* q, const float* k, int d0, int hd) {
  float acc = 0.f;
  for (int d = d0; d < hd; ++d) acc += q[d] * k[d];
  return acc;
}
}  // namespace
}  // namespace fvlm::avx2

namespace fvlm::dec {
using namespace fvlm::avx2;

void attn_scores_avx2(const float* q, const float* k, int64_t ldk, int64_t n_keys, int hd, float scale,
                      float* s) {
  const int hd8 = hd & ~7;
  int64_t j = 0;
  for (; j + 4 <= n_keys; j += 4) {
    const float* k0 = k + j * ldk;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int d = 0; d < hd8; d += 8) {
      const __m256 qv = _mm256_loadu_ps(q + d);
      a0 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k0 + d), a0);
      a1 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k0 + ldk + d), a1);
      a2 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k0 + 2 * ldk + d), a2);
      a3 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k0 + 3 * ldk + d), a3);
    }
    s[j] = (hsum_avx2(a0) + dot_tail(q, k0, hd8, hd)) * scale;
    s[j + 1] = (hsum_avx2(a1) + dot_tail(q, k0 + ldk, hd8, hd)) * scale;
    s[j + 2] = (hsum_avx2(a2) + dot_tail(q, k0 + 2 * ldk, hd8, hd)) * scale;
    s[j + 3] = (hsum_avx2(a3) + dot_tail(q, k0 + 3 * ldk, hd8, hd)) * scale;
  }
  for (; j < n_keys; ++j) {
    __m256 a = _mm256_setzero_ps();
    for (int d = 0; d < hd8; d += 8)
      a = _mm256_fmadd_ps(_mm256_loadu_ps(q + d), _mm256_loadu_ps(k + j * ldk + d), a);
    s[j] = (hsum_avx2(a) + dot_tail(q, k + j * ldk, hd8, hd)) * scale;
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
  for (int d = hd & ~7; d < hd; ++d) {  // tail dims, in the reference's order
    float acc = 0.f;
    for (int64_t j = 0; j < n_keys; ++j) acc += p[j] * v[j * ldv + d];
    out[d] = acc;
  }
}

}  // namespace fvlm::dec
