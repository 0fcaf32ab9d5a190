// AVX-512 VNNI quantised matmul on 512-bit vectors: two weight blocks per vector, one vpdpbusd per
// (x row, weight row) pair and block pair, no per-pair sign fix-up. (The AVX2 / AVX-VNNI files share
// matmul_quant_x86.h: 256-bit, one block per vector.)
//
// Per (x row r, weight row c) one accumulator of 16 f32 lanes: lanes 0-7 take block b, lanes 8-15
// block b+1. Per block pair:
//   p = dpbusd(init_r, u, s)                      exact int32: lane sums of 4 products, exact total
//   acc[r][c] += float(p) * (d_w[c,b] d_x[r,b] in lanes 0-7 | d_w[c,b+1] d_x[r,b+1] in lanes 8-15)
// and y = the sum of the 16 lanes at the end. The u8 x s8 instruction needs one unsigned side:
//   Q8_0: u = w + 128 (w ^ 0x80), s = x, init_r = -128 * (x's 4 bytes of each lane):
//         sum (w + 128) x - 128 sum x = sum w x
//   Q4_0: u = the nibbles q (0..15), s = x, init_r = -8 * (x's 4 bytes of each lane):
//         sum q x - 8 sum x = sum (q - 8) x
// The correction sits on the x side, so it is paid once per x row and shared by every weight row of
// the tile (the decode GEMV streams 4 weight rows against one x row).
//
// Every tile shape (MR x NR, the decode GEMV's 1 x NR, the tails) runs this same sequence on each
// accumulator, so each (r, c) result is bit-identical whatever the number of rows M and however the
// threads split N (continuous batching relies on it; tests/unit/test_quant_matmul.cpp).
// An odd last block runs in the low half with zeros (and zero scales) in the high half.
// GCC 12's avx512fintrin.h fills the pass-through operand of its masked builtins with a
// self-initialised "undefined" vector (__m512 __Y = __Y), which -Wuninitialized reports at every
// inlined use under -Werror (GCC PR 105593, fixed in GCC 13). Nothing here reads an undefined value.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <utility>

#include "quant/matmul_quant.h"

namespace fvlm::quant {
namespace avx512 {
namespace {

// The per-block helpers must melt into the tile loop: a call would spill every accumulator (all
// vector registers are caller-saved), and GCC 12 does not inline all of them on its own (measured).
#define FVLM_INLINE inline __attribute__((always_inline))

// Weight side of a block pair as the unsigned operand, 64 bytes (blocks b and b + 1). kTail: only
// block b exists; the high half is zero.
struct WeightsQ8_0 {
  using Block = BlockQ8_0;
  static constexpr int kInitScale = 128;  // init_r = -128 * sum x
  template <bool kTail>
  static FVLM_INLINE __m512i load(const Block* b) {
    const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[0].qs));
    const __m512i both =
        kTail ? _mm512_zextsi256_si512(lo)
              : _mm512_inserti64x4(_mm512_castsi256_si512(lo),
                                   _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[1].qs)), 1);
    // w + 128 as u8 (a zero tail stays 128 * x = 128 * 0).
    return _mm512_xor_si512(both, _mm512_set1_epi8(char(0x80)));
  }
};

struct WeightsQ4_0 {
  using Block = BlockQ4_0;
  static constexpr int kInitScale = 8;  // init_r = -8 * sum x
  // 128-bit lanes: low nibbles of b (elements 0..15), high nibbles of b (16..31), then b + 1: the
  // order of x's 64 bytes.
  template <bool kTail>
  static FVLM_INLINE __m512i load(const Block* b) {
    const __m256i lo =
        _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b[0].qs)));
    const __m512i both =
        kTail
            ? _mm512_zextsi256_si512(lo)
            : _mm512_inserti64x4(
                  _mm512_castsi256_si512(lo),
                  _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b[1].qs))), 1);
    const __m512i shifted = _mm512_srlv_epi64(both, _mm512_set_epi64(4, 4, 0, 0, 4, 4, 0, 0));
    return _mm512_and_si512(shifted, _mm512_set1_epi8(0x0f));
  }
};

// A compile-time index, and f(Index<0>) ... f(Index<N-1>) fully unrolled so that every accumulator
// of a tile stays in a register.
template <int I>
struct Index {
  static constexpr int value = I;
  constexpr operator int() const { return I; }
};
template <int N, class F>
FVLM_INLINE void unroll(F&& f) {
  [&]<int... I>(std::integer_sequence<int, I...>) { (f(Index<I>{}), ...); }
  (std::make_integer_sequence<int, N>{});
}

// Prefetch distance for the weight stream (see matmul_quant_x86.h: 4 KB ahead measured best), one
// hint per 64-byte line; a template so that GCC keeps the hints inside the loop.
constexpr int64_t kPrefetchBytes = 4096;
template <int64_t kBytes>
FVLM_INLINE void prefetch_span(const char* p) {
  for (int64_t off = 0; off < kBytes; off += 64) _mm_prefetch(p + off, _MM_HINT_T0);
}

// The f16 scales of blocks b (and b + 1 unless kTail) of NR (<= 4) weight rows as f32, laid out for
// broadcast_row<c>: 128-bit lanes [dw(b) x4 | dw(b) x4 | dw(b+1) x4 | dw(b+1) x4], row c in lane c
// of each (unused rows and a missing b + 1 are 0).
template <int NR, bool kTail, class Block>
FVLM_INLINE __m512 weight_scales(const Block* const* wrow, int64_t b) {
  __m128i h = _mm_cvtsi32_si128(wrow[0][b].d);  // register inserts: no store-forwarding stall
  unroll<NR>([&](auto c) {
    if constexpr (c > 0) h = _mm_insert_epi16(h, wrow[c][b].d, decltype(c)::value);
    if constexpr (!kTail) h = _mm_insert_epi16(h, wrow[c][b + 1].d, 4 + decltype(c)::value);
  });
  const __m512 f = _mm512_castps256_ps512(_mm256_cvtph_ps(h));
  return _mm512_shuffle_f32x4(f, f, _MM_SHUFFLE(1, 1, 0, 0));
}

// [d_x(b) x8 | d_x(b+1) x8] (kTail: high half 0).
template <bool kTail>
FVLM_INLINE __m512 row_scales(const float* xd) {
  const __m128 two =
      kTail ? _mm_load_ss(xd) : _mm_castsi128_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(xd)));
  return _mm512_permutexvar_ps(_mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0),
                               _mm512_castps128_ps512(two));
}

// One block pair (or the odd last block) of an MR x NR tile: the accumulation every (r, c) shares.
template <class W, int MR, int NR, bool kTail>
FVLM_INLINE void block_step(const typename W::Block* const* wrow, const int8_t* const* xq,
                            const float* const* xd, int64_t b, __m512 (&acc)[MR][NR]) {
  __m512i wv[NR];
  unroll<NR>([&](auto c) { wv[c] = W::template load<kTail>(wrow[c] + b); });
  // Scales of rows 0-3 and (NR > 4) rows 4-7: the permute below picks a row within a 128-bit lane.
  constexpr int kLow = NR < 4 ? NR : 4;
  const __m512 dw_lo = weight_scales<kLow, kTail>(wrow, b);
  __m512 dw_hi = _mm512_setzero_ps();
  if constexpr (NR > 4) dw_hi = weight_scales<NR - 4, kTail>(wrow + 4, b);
  unroll<MR>([&](auto r) {
    const int8_t* xp = xq[r] + b * kBlock;
    const __m512i xv = kTail
                           ? _mm512_zextsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(xp)))
                           : _mm512_loadu_si512(xp);
    // -k * (sum of each lane's 4 x bytes): k * sum via dpbusd with u = k, then negated.
    const __m512i init = _mm512_sub_epi32(
        _mm512_setzero_si512(),
        _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8(char(W::kInitScale)), xv));
    const __m512 xs = row_scales<kTail>(xd[r] + b);
    const __m512 s_lo = _mm512_mul_ps(dw_lo, xs);
    __m512 s_hi = _mm512_setzero_ps();
    if constexpr (NR > 4) s_hi = _mm512_mul_ps(dw_hi, xs);
    unroll<NR>([&](auto c) {
      constexpr int kC = decltype(c)::value;
      const __m512i p = _mm512_dpbusd_epi32(init, wv[c], xv);
      const __m512 s = _mm512_permute_ps(kC < 4 ? s_lo : s_hi, (kC % 4) * 0x55);
      acc[r][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), s, acc[r][c]);
    });
  });
}

// MR rows of x [m0, m0+MR) times NR (<= 8) weight rows [n0, n0+NR).
template <class W, int MR, int NR>
void tile(const QuantizedRows& x, int64_t m0, const QuantMatrix& w, int64_t n0, float* y, int64_t ldy) {
  static_assert(NR >= 1 && NR <= 8);
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
  __m512 acc[MR][NR];
  unroll<MR>([&](auto r) { unroll<NR>([&](auto c) { acc[r][c] = _mm512_setzero_ps(); }); });

  // Rows n0..n0+NR-1 are contiguous: each block pair consumes the next 2 * NR blocks of that span.
  constexpr int64_t kStepBytes = 2 * NR * int64_t(sizeof(Block));
  const char* ahead = reinterpret_cast<const char*>(wrow[0]) + kPrefetchBytes;
  int64_t b = 0;
  for (; b + 2 <= nb; b += 2) {
    prefetch_span<kStepBytes>(ahead + b / 2 * kStepBytes);
    block_step<W, MR, NR, false>(wrow, xq, xd, b, acc);
  }
  if (b < nb) block_step<W, MR, NR, true>(wrow, xq, xd, b, acc);
  unroll<MR>([&](auto r) {
    unroll<NR>([&](auto c) { y[(m0 + r) * ldy + n0 + c] = _mm512_reduce_add_ps(acc[r][c]); });
  });
}

// Rows [m0, m0+MR) against weight rows [n_begin, n_end): NR at a time, then single rows.
template <class W, int MR, int NR>
void row_tile_over_n(const QuantizedRows& x, int64_t m0, const QuantMatrix& w, int64_t n_begin, int64_t n_end,
                     float* y, int64_t ldy) {
  int64_t n = n_begin;
  for (; n + NR <= n_end; n += NR) tile<W, MR, NR>(x, m0, w, n, y, ldy);
  for (; n < n_end; ++n) tile<W, MR, 1>(x, m0, w, n, y, ldy);
}

// Decode streams 4 weight rows per tile: 8 measured slower from DRAM (more concurrent streams than
// the prefetch covers), though faster from cache.
constexpr int kDecodeNR = 4;
template <class W>
void matmul(const QuantizedRows& x, const QuantMatrix& w, int64_t n_begin, int64_t n_end, float* y,
            int64_t ldy) {
  constexpr int MR = 4, NR = 4;
  if (x.rows == 1) {  // decode GEMV: stream kDecodeNR weight rows at a time against one x row
    row_tile_over_n<W, 1, kDecodeNR>(x, 0, w, n_begin, n_end, y, ldy);
    return;
  }
  // Several rows (batched decode, short prefill): ~64 KB of weights per chunk stays in L2 while
  // every row tile passes over it, so the weights come from memory once.
  const int64_t row_bytes = w.k / kBlock * int64_t(sizeof(typename W::Block));
  const int64_t whole_tiles = (65536 / row_bytes) / NR * NR;
  const int64_t chunk = whole_tiles > NR ? whole_tiles : NR;
  for (int64_t c0 = n_begin; c0 < n_end; c0 += chunk) {
    const int64_t c1 = c0 + chunk < n_end ? c0 + chunk : n_end;
    int64_t m = 0;
    for (; m + MR <= x.rows; m += MR) row_tile_over_n<W, MR, NR>(x, m, w, c0, c1, y, ldy);
    switch (x.rows - m) {
      case 3:
        row_tile_over_n<W, 3, NR>(x, m, w, c0, c1, y, ldy);
        break;
      case 2:
        row_tile_over_n<W, 2, NR>(x, m, w, c0, c1, y, ldy);
        break;
      case 1:
        row_tile_over_n<W, 1, NR>(x, m, w, c0, c1, y, ldy);
        break;
      default:
        break;
    }
  }
}

#undef FVLM_INLINE

}  // namespace
}  // namespace avx512

void matmul_q8_0_avx512(const QuantizedRows& x, const QuantMatrix& w, int64_t n_begin, int64_t n_end,
                        float* y, int64_t ldy) {
  avx512::matmul<avx512::WeightsQ8_0>(x, w, n_begin, n_end, y, ldy);
}

void matmul_q4_0_avx512(const QuantizedRows& x, const QuantMatrix& w, int64_t n_begin, int64_t n_end,
                        float* y, int64_t ldy) {
  avx512::matmul<avx512::WeightsQ4_0>(x, w, n_begin, n_end, y, ldy);
}

}  // namespace fvlm::quant
