// AVX2/FMA/F16C GEMV kernels (spec: gemv.cpp *_ref). Four weight rows per pass share each load of x;
// each row keeps two accumulators so FMA latency never limits the memory stream. The BF16 kernel
// prefetches its weight stream linearly, kPrefetchBytes ahead: the 4 rows of a pass are one
// contiguous span, and short rows (K = 896) are too short for the HW prefetcher to ramp up on
// (bench/README.md has the prefetch schemes and distances measured).
//
// BF16 trick: 16 bf16 weights are one 256-bit load; as 8 u32 lanes, lane j holds elements 2j (low
// half) and 2j+1 (high half). `lane << 16` is element 2j as f32 and `lane & 0xffff0000` is element
// 2j+1, so x is first split per 16-block into its even and odd elements (once per call).
// An ISA island: helpers in fvlm::avx2 (core/simd_avx2.h and below), nothing shared inline.
#include <immintrin.h>

#include "core/simd_avx2.h"
#include "decoder/gemv.h"

namespace fvlm::avx2 {
namespace {

constexpr int64_t kPrefetchBytes = 16384;

// x split per 16-block: [even elements (8), odd elements (8)] for the BF16 kernel.
void split_even_odd(const float* x, int64_t k16, float* xp) {
  for (int64_t c = 0; c < k16; c += 16)
    for (int j = 0; j < 8; ++j) {
      xp[c + j] = x[c + 2 * j];
      xp[c + 8 + j] = x[c + 2 * j + 1];
    }
}

inline __m256 bf16_even(__m256i v) { return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16)); }
inline __m256 bf16_odd(__m256i v) {
  return _mm256_castsi256_ps(_mm256_and_si256(v, _mm256_set1_epi32(int(0xffff0000u))));
}

// Shared body of the F32 and F16 kernels: Weights::load8(p) widens 8 weights to f32.
template <class Weights, class T>
void gemv_wide(const T* w, int64_t K, const float* x, int64_t n_begin, int64_t n_end, float* y) {
  const int64_t k16 = K / 16 * 16;
  int64_t n = n_begin;
  for (; n + 4 <= n_end; n += 4) {
    const T* r[4] = {w + n * K, w + (n + 1) * K, w + (n + 2) * K, w + (n + 3) * K};
    __m256 a[4][2];
    for (auto& ai : a) ai[0] = ai[1] = _mm256_setzero_ps();
    for (int64_t k = 0; k < k16; k += 16) {
      const __m256 x0 = _mm256_loadu_ps(x + k), x1 = _mm256_loadu_ps(x + k + 8);
      for (int i = 0; i < 4; ++i) {
        a[i][0] = _mm256_fmadd_ps(Weights::load8(r[i] + k), x0, a[i][0]);
        a[i][1] = _mm256_fmadd_ps(Weights::load8(r[i] + k + 8), x1, a[i][1]);
      }
    }
    for (int i = 0; i < 4; ++i) {
      float s = hsum_avx2(_mm256_add_ps(a[i][0], a[i][1]));
      for (int64_t k = k16; k < K; ++k) s += Weights::widen(r[i][k]) * x[k];
      y[n + i] = s;
    }
  }
  for (; n < n_end; ++n) {
    const T* r = w + n * K;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0;
    for (int64_t k = 0; k < k16; k += 16) {
      a0 = _mm256_fmadd_ps(Weights::load8(r + k), _mm256_loadu_ps(x + k), a0);
      a1 = _mm256_fmadd_ps(Weights::load8(r + k + 8), _mm256_loadu_ps(x + k + 8), a1);
    }
    float s = hsum_avx2(_mm256_add_ps(a0, a1));
    for (int64_t k = k16; k < K; ++k) s += Weights::widen(r[k]) * x[k];
    y[n] = s;
  }
}

// Loaders of 8 weights as f32 and the matching scalar widening (for the K % 16 tail).
struct F32Weights {
  static __m256 load8(const float* p) { return _mm256_loadu_ps(p); }
  static float widen(float v) { return v; }
};
struct F16Weights {
  static __m256 load8(const uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static float widen(uint16_t v) { return f16_to_f32(v); }
};

}  // namespace
}  // namespace fvlm::avx2

namespace fvlm::dec {
using namespace fvlm::avx2;

void gemv_bf16_avx2(const void* w, int64_t K, const float* x, int64_t n_begin, int64_t n_end, float* y) {
  const uint16_t* wb = static_cast<const uint16_t*>(w);
  const int64_t k16 = K / 16 * 16;
  const ZeroedArray<float> split(size_t(k16) + 16);
  const float* xp = split.data;
  split_even_odd(x, k16, split.data);
  int64_t n = n_begin;
  for (; n + 4 <= n_end; n += 4) {
    const uint16_t* r0 = wb + n * K;
    const uint16_t* r1 = r0 + K;
    const uint16_t* r2 = r1 + K;
    const uint16_t* r3 = r2 + K;
    const char* ahead = reinterpret_cast<const char*>(r0) + kPrefetchBytes;
    __m256 e0 = _mm256_setzero_ps(), e1 = e0, e2 = e0, e3 = e0, o0 = e0, o1 = e0, o2 = e0, o3 = e0;
    for (int64_t k = 0; k < k16; k += 16) {
      const __m256 xe = _mm256_loadu_ps(&xp[k]), xo = _mm256_loadu_ps(&xp[k + 8]);
      _mm_prefetch(ahead + k * 8, _MM_HINT_T0);  // the 4 rows consume 128 contiguous bytes a step
      _mm_prefetch(ahead + k * 8 + 64, _MM_HINT_T0);
      const __m256i v0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r0 + k));
      const __m256i v1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r1 + k));
      const __m256i v2 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r2 + k));
      const __m256i v3 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r3 + k));
      e0 = _mm256_fmadd_ps(bf16_even(v0), xe, e0);
      o0 = _mm256_fmadd_ps(bf16_odd(v0), xo, o0);
      e1 = _mm256_fmadd_ps(bf16_even(v1), xe, e1);
      o1 = _mm256_fmadd_ps(bf16_odd(v1), xo, o1);
      e2 = _mm256_fmadd_ps(bf16_even(v2), xe, e2);
      o2 = _mm256_fmadd_ps(bf16_odd(v2), xo, o2);
      e3 = _mm256_fmadd_ps(bf16_even(v3), xe, e3);
      o3 = _mm256_fmadd_ps(bf16_odd(v3), xo, o3);
    }
    float s0 = hsum_avx2(_mm256_add_ps(e0, o0)), s1 = hsum_avx2(_mm256_add_ps(e1, o1));
    float s2 = hsum_avx2(_mm256_add_ps(e2, o2)), s3 = hsum_avx2(_mm256_add_ps(e3, o3));
    for (int64_t k = k16; k < K; ++k) {
      s0 += bf16_to_f32(r0[k]) * x[k];
      s1 += bf16_to_f32(r1[k]) * x[k];
      s2 += bf16_to_f32(r2[k]) * x[k];
      s3 += bf16_to_f32(r3[k]) * x[k];
    }
    y[n] = s0, y[n + 1] = s1, y[n + 2] = s2, y[n + 3] = s3;
  }
  for (; n < n_end; ++n) {
    const uint16_t* r = wb + n * K;
    __m256 e = _mm256_setzero_ps(), o = e;
    for (int64_t k = 0; k < k16; k += 16) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r + k));
      e = _mm256_fmadd_ps(bf16_even(v), _mm256_loadu_ps(&xp[k]), e);
      o = _mm256_fmadd_ps(bf16_odd(v), _mm256_loadu_ps(&xp[k + 8]), o);
    }
    float s = hsum_avx2(_mm256_add_ps(e, o));
    for (int64_t k = k16; k < K; ++k) s += bf16_to_f32(r[k]) * x[k];
    y[n] = s;
  }
}

void gemv_f32_avx2(const void* w, int64_t K, const float* x, int64_t n_begin, int64_t n_end, float* y) {
  gemv_wide<F32Weights>(static_cast<const float*>(w), K, x, n_begin, n_end, y);
}

void gemv_f16_avx2(const void* w, int64_t K, const float* x, int64_t n_begin, int64_t n_end, float* y) {
  gemv_wide<F16Weights>(static_cast<const uint16_t*>(w), K, x, n_begin, n_end, y);
}

}  // namespace fvlm::dec
