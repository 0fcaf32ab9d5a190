// The x86 quantised matmul, written once over 256-bit vectors and instantiated per ISA file
// (matmul_quant_avx2.cpp, _avxvnni.cpp, _avx512.cpp) with a `Dot` policy for the int8 product:
//   AVX2:  madd(maddubs(|w|, sign(x, w)), 1)     (pairs fit int16: |w| <= 128, |x| <= 127)
//   VNNI:  dpbusd(0, |w|, sign(x, w))            (4 products straight into int32)
// Include ONLY from those files. Everything here has internal linkage, so the copies compiled with
// different ISA flags never merge at link time.
//
// Layout: one 32-byte vector holds one block (32 int8) of x or of unpacked weights. A tile of
// MR rows of x times NR weight rows keeps MR*NR f32 accumulators; per block, each weight block is
// unpacked once and used for MR rows, each x block loaded once and used for NR weight rows:
//   acc[r][c] += float(dot(x[r] block b, w[c] block b)) * (d_x[r,b] * d_w[c,b])
// Prefill (M > 1) walks weight rows in chunks that stay in cache while all row tiles pass.
#pragma once
#include <immintrin.h>

#include <algorithm>

#include "quant/matmul_quant.h"

namespace fvlm::quant {
namespace {

struct WeightsQ8_0 {
  using Block = BlockQ8_0;
  static __m256i load(const Block& b) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs)); }
};

struct WeightsQ4_0 {
  using Block = BlockQ4_0;
  // Low nibbles are elements 0..15, high nibbles 16..31; value = nibble - 8.
  static __m256i load(const Block& b) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs));
    const __m256i both = _mm256_set_m128i(_mm_srli_epi16(v, 4), v);
    const __m256i nib = _mm256_and_si256(both, _mm256_set1_epi8(0x0f));
    return _mm256_sub_epi8(nib, _mm256_set1_epi8(8));
  }
};

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// MR rows of x [m0, m0+MR) times NR weight rows [n0, n0+NR).
template <class W, class Dot, int MR, int NR>
void tile(const QuantizedRows& x, int64_t m0, const QuantMatrix& w, int64_t n0, float* y, int64_t ldy) {
  using Block = typename W::Block;
  const int64_t nb = w.k / kBlock;
  const Block* wrow[NR];
  for (int c = 0; c < NR; ++c) wrow[c] = reinterpret_cast<const Block*>(w.data) + (n0 + c) * nb;
  const int8_t* xq[MR];
  const float* xd[MR];
  for (int r = 0; r < MR; ++r) {
    xq[r] = x.qs + (m0 + r) * x.k;
    xd[r] = x.d + (m0 + r) * nb;
  }
  __m256 acc[MR][NR];
  for (int r = 0; r < MR; ++r)
    for (int c = 0; c < NR; ++c) acc[r][c] = _mm256_setzero_ps();

  for (int64_t b = 0; b < nb; ++b) {
    __m256i ws[NR], wa[NR];
    __m256 dw[NR];
    for (int c = 0; c < NR; ++c) {
      ws[c] = W::load(wrow[c][b]);
      wa[c] = _mm256_sign_epi8(ws[c], ws[c]);   // |w| (as unsigned bytes)
      dw[c] = _mm256_set1_ps(_cvtsh_ss(wrow[c][b].d));
    }
    for (int r = 0; r < MR; ++r) {
      const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq[r] + b * kBlock));
      const __m256 dx = _mm256_broadcast_ss(xd[r] + b);
      for (int c = 0; c < NR; ++c) {
        const __m256i p = Dot::dot(wa[c], _mm256_sign_epi8(xv, ws[c]));   // x * sign(w)
        acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_mul_ps(dx, dw[c]), acc[r][c]);
      }
    }
  }
  for (int r = 0; r < MR; ++r)
    for (int c = 0; c < NR; ++c) y[(m0 + r) * ldy + n0 + c] = hsum(acc[r][c]);
}

// Rows [m0, m0+MR) against weight rows [n_begin, n_end): NR at a time, then single rows.
template <class W, class Dot, int MR, int NR>
void row_tile_over_n(const QuantizedRows& x, int64_t m0, const QuantMatrix& w, int64_t n_begin,
                     int64_t n_end, float* y, int64_t ldy) {
  int64_t n = n_begin;
  for (; n + NR <= n_end; n += NR) tile<W, Dot, MR, NR>(x, m0, w, n, y, ldy);
  for (; n < n_end; ++n) tile<W, Dot, MR, 1>(x, m0, w, n, y, ldy);
}

template <class W, class Dot, int MR, int NR>
void matmul_x86(const QuantizedRows& x, const QuantMatrix& w, int64_t n_begin, int64_t n_end,
                float* y, int64_t ldy) {
  if (x.rows == 1) {   // decode GEMV: stream 4 weight rows at a time against one x row
    row_tile_over_n<W, Dot, 1, 4>(x, 0, w, n_begin, n_end, y, ldy);
    return;
  }
  // Prefill: ~64 KB of weights per chunk stays in L2 while every row tile passes over it.
  const int64_t row_bytes = w.k / kBlock * int64_t(sizeof(typename W::Block));
  const int64_t chunk = std::max<int64_t>(NR, (65536 / row_bytes) / NR * NR);
  for (int64_t c0 = n_begin; c0 < n_end; c0 += chunk) {
    const int64_t c1 = std::min(n_end, c0 + chunk);
    int64_t m = 0;
    for (; m + MR <= x.rows; m += MR) row_tile_over_n<W, Dot, MR, NR>(x, m, w, c0, c1, y, ldy);
    switch (x.rows - m) {   // MR <= 4
      case 3: row_tile_over_n<W, Dot, 3, NR>(x, m, w, c0, c1, y, ldy); break;
      case 2: row_tile_over_n<W, Dot, 2, NR>(x, m, w, c0, c1, y, ldy); break;
      case 1: row_tile_over_n<W, Dot, 1, NR>(x, m, w, c0, c1, y, ldy); break;
      default: break;
    }
  }
}

}  // namespace
}  // namespace fvlm::quant
