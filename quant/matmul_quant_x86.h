// The x86 quantised matmul, written once over 256-bit vectors and instantiated per ISA file
// (matmul_quant_avx2.cpp, _avxvnni.cpp, _avx512.cpp) with a `Dot` policy for the u8 x s8 product:
//   AVX2:  madd(maddubs(u, s), 1)     (pairs fit int16: u <= 128, |s| <= 127)
//   VNNI:  dpbusd(0, u, s)            (4 products straight into int32)
// Include ONLY from those files (FVLM_ISA, set by CMakeLists.txt, names the ISA). Everything here
// lives in fvlm::quant::<isa> with internal linkage, and calls no inline function or template of a
// shared header, so the copies compiled with different ISA flags never merge at link time.
//
// Layout: one 32-byte vector holds one block (32 int8) of x or of unpacked weights. A tile of
// MR rows of x times NR weight rows keeps MR*NR f32 accumulators; per block, each weight block is
// unpacked once and used for MR rows, each x block loaded once and used for NR weight rows:
//   acc[r][c] += float(dot(x[r] block b, w[c] block b)) * (d_x[r,b] * d_w[c,b])
// Prefill (M > 1) walks weight rows in chunks that stay in cache while all row tiles pass.
#pragma once
#ifndef FVLM_ISA
#error "quant/matmul_quant_x86.h is for the matmul_quant ISA files only"
#endif
#include <immintrin.h>

#include <utility>

#include "core/simd_avx2.h"
#include "quant/matmul_quant.h"

namespace fvlm::quant::FVLM_ISA {
namespace {

// Weight block loaders. Q8_0 gives signed bytes (the product uses |w| * (x * sign(w)), as the
// u8 x s8 instructions need one unsigned side). Q4_0 gives the raw nibbles 0..15 as the unsigned
// side directly, and the -8 offset is applied once per block in f32:
//   sum_j (q_j - 8) x_j = sum_j q_j x_j - 8 * sum_j x_j     (sum_j x_j is QuantizedRows::sum)
struct WeightsQ8_0 {
  using Block = BlockQ8_0;
  static constexpr bool kNibbles = false;
  static __m256i load(const Block& b) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs)); }
};

struct WeightsQ4_0 {
  using Block = BlockQ4_0;
  static constexpr bool kNibbles = true;
  // Low nibbles are elements 0..15 (lower 128-bit lane), high nibbles 16..31 (upper lane).
  static __m256i load(const Block& b) {
    const __m256i both = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs)));
    const __m256i shifted = _mm256_srlv_epi64(both, _mm256_set_epi64x(4, 4, 0, 0));
    return _mm256_and_si256(shifted, _mm256_set1_epi8(0x0f));
  }
};

// The f16 scales of block b of NR (<= 4) weight rows, as 4 floats (unused lanes 0).
template <int NR, class Block>
__m128 load_scales(const Block* const* wrow, int64_t b) {
  __m128i d = _mm_cvtsi32_si128(wrow[0][b].d);  // register inserts: no store-forwarding stall
  if constexpr (NR > 1) d = _mm_insert_epi16(d, wrow[1][b].d, 1);
  if constexpr (NR > 2) d = _mm_insert_epi16(d, wrow[2][b].d, 2);
  if constexpr (NR > 3) d = _mm_insert_epi16(d, wrow[3][b].d, 3);
  return _mm_cvtph_ps(d);
}

// Lane C of each 128-bit half, everywhere (in-lane shuffle: no index register).
template <int C>
__m256 broadcast_lane(__m256 v) {
  return _mm256_permute_ps(v, C * 0x55);
}

using fvlm::FVLM_ISA::Index;
using fvlm::FVLM_ISA::unroll;

// How far ahead of the weight block being multiplied to prefetch. A decode GEMV streams ~0.5 GB of
// weights per token; the tile walks NR rows at once and the hardware prefetcher alone leaves much
// of the memory bandwidth idle. Asking for the bytes 4 KB ahead (a few tiles; the rows of a
// thread's range are contiguous) fills it (bench/README.md: 1/2/4/8 KB measured). Prefetching past
// the end of the range or the mapping is harmless (prefetches never fault).
constexpr int64_t kPrefetchBytes = 4096;

// Prefetch hints for the kBytes bytes at p, one per 64-byte line. (A template, not a runtime
// `if (bytes > 64)`: GCC 12 -O2 drops the conditional prefetches inside the loop, measured.)
template <int64_t kBytes>
inline void prefetch_span(const char* p) {
  for (int64_t off = 0; off < kBytes; off += 64) _mm_prefetch(p + off, _MM_HINT_T0);
}

// MR rows of x [m0, m0+MR) times NR (<= 4) weight rows [n0, n0+NR).
template <class W, class Dot, int MR, int NR>
void tile(const QuantizedRows& x, int64_t m0, const QuantMatrix& w, int64_t n0, float* y, int64_t ldy) {
  static_assert(NR >= 1 && NR <= 4);
  using Block = typename W::Block;
  const int64_t nb = w.k / kBlock;
  const Block* wrow[NR];
  for (int c = 0; c < NR; ++c) wrow[c] = reinterpret_cast<const Block*>(w.data) + (n0 + c) * nb;
  const int8_t* xq[MR];
  const float* xd[MR];
  const int32_t* xs[MR];
  for (int r = 0; r < MR; ++r) {
    xq[r] = x.qs + (m0 + r) * x.k;
    xd[r] = x.d + (m0 + r) * nb;
    xs[r] = x.sum + (m0 + r) * nb;
  }
  __m256 acc[MR][NR];
  __m128 corr[MR];  // Q4_0: sum_b d_w * (8 * d_x * sum x), one lane per weight row
  unroll<MR>([&](auto r) {
    corr[r] = _mm_setzero_ps();
    unroll<NR>([&](auto c) { acc[r][c] = _mm256_setzero_ps(); });
  });

  // Rows n0..n0+NR-1 are contiguous: each step consumes the next NR blocks' worth of that span.
  constexpr int64_t kStepBytes = NR * int64_t(sizeof(Block));
  const char* ahead = reinterpret_cast<const char*>(wrow[0]) + kPrefetchBytes;
  for (int64_t b = 0; b < nb; ++b) {
    prefetch_span<kStepBytes>(ahead + b * kStepBytes);
    __m256i wv[NR], wa[NR];
    unroll<NR>([&](auto c) {
      wv[c] = W::load(wrow[c][b]);
      if constexpr (!W::kNibbles) wa[c] = _mm256_sign_epi8(wv[c], wv[c]);  // |w| as u8
    });
    const __m128 dw = load_scales<NR>(wrow, b);
    const __m256 dw2 = _mm256_set_m128(dw, dw);  // [dw0..dw3 | dw0..dw3]
    unroll<MR>([&](auto r) {
      const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq[r] + b * kBlock));
      const __m256 s = _mm256_mul_ps(dw2, _mm256_broadcast_ss(xd[r] + b));
      if constexpr (W::kNibbles)
        corr[r] = _mm_fmadd_ps(dw, _mm_set1_ps(8.0f * xd[r][b] * float(xs[r][b])), corr[r]);
      unroll<NR>([&](auto c) {
        __m256i p;
        if constexpr (W::kNibbles)
          p = Dot::dot(wv[c], xv);
        else
          p = Dot::dot(wa[c], _mm256_sign_epi8(xv, wv[c]));  // |w| * (x * sign(w)) = w * x
        acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), broadcast_lane<c>(s), acc[r][c]);
      });
    });
  }
  unroll<MR>([&](auto r) {
    unroll<NR>([&](auto c) {
      const float cr =
          _mm_cvtss_f32(_mm_permute_ps(corr[r], decltype(c)::value * 0x55));  // a literal even at -O0
      y[(m0 + r) * ldy + n0 + c] = fvlm::FVLM_ISA::hsum_avx2(acc[r][c]) - cr;
    });
  });
}

// Rows [m0, m0+MR) against weight rows [n_begin, n_end): NR at a time, then single rows.
template <class W, class Dot, int MR, int NR>
void row_tile_over_n(const QuantizedRows& x, int64_t m0, const QuantMatrix& w, int64_t n_begin, int64_t n_end,
                     float* y, int64_t ldy) {
  int64_t n = n_begin;
  for (; n + NR <= n_end; n += NR) tile<W, Dot, MR, NR>(x, m0, w, n, y, ldy);
  for (; n < n_end; ++n) tile<W, Dot, MR, 1>(x, m0, w, n, y, ldy);
}

template <class W, class Dot, int MR, int NR>
void matmul_x86(const QuantizedRows& x, const QuantMatrix& w, int64_t n_begin, int64_t n_end, float* y,
                int64_t ldy) {
  if (x.rows == 1) {  // decode GEMV: stream 4 weight rows at a time against one x row
    row_tile_over_n<W, Dot, 1, 4>(x, 0, w, n_begin, n_end, y, ldy);
    return;
  }
  // Prefill: ~64 KB of weights per chunk stays in L2 while every row tile passes over it.
  const int64_t row_bytes = w.k / kBlock * int64_t(sizeof(typename W::Block));
  const int64_t whole_tiles = (65536 / row_bytes) / NR * NR;
  const int64_t chunk = whole_tiles > NR ? whole_tiles : NR;
  for (int64_t c0 = n_begin; c0 < n_end; c0 += chunk) {
    const int64_t c1 = c0 + chunk < n_end ? c0 + chunk : n_end;
    int64_t m = 0;
    for (; m + MR <= x.rows; m += MR) row_tile_over_n<W, Dot, MR, NR>(x, m, w, c0, c1, y, ldy);
    switch (x.rows - m) {  // MR <= 4
      case 3:
        row_tile_over_n<W, Dot, 3, NR>(x, m, w, c0, c1, y, ldy);
        break;
      case 2:
        row_tile_over_n<W, Dot, 2, NR>(x, m, w, c0, c1, y, ldy);
        break;
      case 1:
        row_tile_over_n<W, Dot, 1, NR>(x, m, w, c0, c1, y, ldy);
        break;
      default:
        break;
    }
  }
}

}  // namespace
}  // namespace fvlm::quant::FVLM_ISA
