// AVX-512 VNNI matmul on packed weights (quant/packed.h): one zmm is the 16 rows of a group.
// Per block, 8 vpdpbusd (64-byte chunk of u8 weights x a broadcast 4-byte group of x) give the 16
// exact int32 dots; the offset is taken off (offset * sum x), and one convert + FMA per block
// applies d_w * d_x to all 16 outputs: the chain matmul_packed_ref.cpp specifies, lane by lane.
// Up to 8 rows of x share each loaded chunk (a batched decode step is one call with 8 rows).
// GCC 12 warns maybe-uninitialized inside its own _mm512_cvtepi32_ps / _mm512_cvtph_ps (their
// pass-through operand is _mm512_undefined_ps(), by design): a false positive, off for this file.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstring>

#include "core/simd_avx2.h"
#include "quant/matmul_quant.h"
#include "quant/packed.h"

namespace fvlm::quant {
namespace FVLM_ISA {
namespace {

constexpr int kMaxRows = 8;
// Decode streams the weights: ask for the bytes this far ahead (as matmul_quant_x86.h does).
constexpr int64_t kPrefetchBytes = 4096;
// Into L2 for Q8_0 (on par with the ggml-layout kernel at one row of x; into L1 it was ~10% behind,
// bench_quant --layouts), into L1 for Q4_0 (no better into L2).
template <bool kQ4>
inline void prefetch_line(const char* p) {
  if constexpr (kQ4)
    _mm_prefetch(p, _MM_HINT_T0);
  else
    _mm_prefetch(p, _MM_HINT_T1);
}

using fvlm::FVLM_ISA::Index;
using fvlm::FVLM_ISA::unroll;

inline int32_t load4(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

template <bool kQ4>
inline void load_chunks(const uint8_t* q, __m512i w[8]) {
  if constexpr (kQ4) {
    const __m512i low = _mm512_set1_epi8(0x0f);
    unroll<4>([&](auto j) {
      const __m512i v = _mm512_loadu_si512(q + 64 * j);
      w[j] = _mm512_and_si512(v, low);                            // values 4j..4j+3
      w[j + 4] = _mm512_and_si512(_mm512_srli_epi16(v, 4), low);  // values 16+4j..
    });
  } else {
    unroll<8>([&](auto j) { w[j] = _mm512_loadu_si512(q + 64 * j); });
  }
}

// Rows [m0, m0+MR) of x against G groups (weight rows n0[i]..n0[i]+15 at group[i]), storing the
// lanes in lanes[i] (the rows of each group inside the caller's range).
template <bool kQ4, int MR, int G>
void group_tile(const QuantizedRows& x, int64_t m0, const uint8_t* const* group, int64_t nb,
                const __mmask16* lanes, float* y, int64_t ldy, const int64_t* n0) {
  constexpr int64_t kQuantBytes = kQ4 ? 256 : 512;
  constexpr int32_t kOffset = kQ4 ? 8 : 128;
  constexpr int64_t kStep = kPackRows * (kQ4 ? 18 : 34);  // group bytes per block, both regions
  const int8_t* xq[MR];
  const float* xd[MR];
  const int32_t* xs[MR];
  __m512 acc[G][MR];
  unroll<MR>([&](auto r) {
    xq[r] = x.qs + (m0 + r) * x.k;
    xd[r] = x.d + (m0 + r) * nb;
    xs[r] = x.sum + (m0 + r) * nb;
    unroll<G>([&](auto i) { acc[i][r] = _mm512_setzero_ps(); });
  });
  for (int64_t b = 0; b < nb; ++b) {
    unroll<G>([&](auto i) {
      const char* ahead = reinterpret_cast<const char*>(group[i]) + kPrefetchBytes + b * kStep;
      for (int64_t off = 0; off < kStep; off += 64) prefetch_line<kQ4>(ahead + off);
      __m512i w[8];
      load_chunks<kQ4>(group[i] + b * kQuantBytes, w);
      const __m512 dw = _mm512_cvtph_ps(
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(group[i] + nb * kQuantBytes + 32 * b)));
      unroll<MR>([&](auto r) {
        const int8_t* xb = xq[r] + b * kBlock;
        __m512i dot;
        if constexpr (MR <= 2) {  // few rows: two chains, so the 8 products do not wait on each other
          __m512i even = _mm512_setzero_si512(), odd = _mm512_setzero_si512();
          unroll<4>([&](auto j) {
            even = _mm512_dpbusd_epi32(even, w[2 * j], _mm512_set1_epi32(load4(xb + 8 * j)));
            odd = _mm512_dpbusd_epi32(odd, w[2 * j + 1], _mm512_set1_epi32(load4(xb + 8 * j + 4)));
          });
          dot = _mm512_add_epi32(even, odd);
        } else {
          dot = _mm512_setzero_si512();
          unroll<8>(
              [&](auto j) { dot = _mm512_dpbusd_epi32(dot, w[j], _mm512_set1_epi32(load4(xb + 4 * j))); });
        }
        dot = _mm512_sub_epi32(dot, _mm512_set1_epi32(kOffset * xs[r][b]));
        acc[i][r] =
            _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(dw, _mm512_set1_ps(xd[r][b])), acc[i][r]);
      });
    });
  }
  unroll<G>([&](auto i) {
    unroll<MR>([&](auto r) { _mm512_mask_storeu_ps(y + (m0 + r) * ldy + n0[i], lanes[i], acc[i][r]); });
  });
}

template <bool kQ4>
void matmul_packed(const QuantizedRows& x, const QuantMatrix& w, int64_t n_begin, int64_t n_end, float* y,
                   int64_t ldy) {
  const int64_t nb = w.k / kBlock;
  const int64_t group_bytes = kPackRows * nb * (kQ4 ? 18 : 34);
  const int64_t g_end = (n_end + kPackRows - 1) / kPackRows;
  // Group g's first row, its bytes, and its rows inside [n_begin, n_end) as a lane mask.
  auto n0_of = [](int64_t g) { return g * kPackRows; };
  auto lanes_of = [&](int64_t g) {
    const int64_t n0 = n0_of(g);
    const int lb = int(n_begin > n0 ? n_begin - n0 : 0);
    const int le = int(n_end - n0 < kPackRows ? n_end - n0 : kPackRows);
    return __mmask16(((1u << le) - 1) & ~((1u << lb) - 1));
  };
  for (int64_t g = n_begin / kPackRows; g < g_end; ++g) {
    const uint8_t* group = w.data + g * group_bytes;
    const __mmask16 lanes = lanes_of(g);
    const int64_t n0 = n0_of(g);
    int64_t m = 0;
    for (; m + kMaxRows <= x.rows; m += kMaxRows)
      group_tile<kQ4, kMaxRows, 1>(x, m, &group, nb, &lanes, y, ldy, &n0);
    switch (x.rows - m) {
      case 7:
        group_tile<kQ4, 7, 1>(x, m, &group, nb, &lanes, y, ldy, &n0);
        break;
      case 6:
        group_tile<kQ4, 6, 1>(x, m, &group, nb, &lanes, y, ldy, &n0);
        break;
      case 5:
        group_tile<kQ4, 5, 1>(x, m, &group, nb, &lanes, y, ldy, &n0);
        break;
      case 4:
        group_tile<kQ4, 4, 1>(x, m, &group, nb, &lanes, y, ldy, &n0);
        break;
      case 3:
        group_tile<kQ4, 3, 1>(x, m, &group, nb, &lanes, y, ldy, &n0);
        break;
      case 2:
        group_tile<kQ4, 2, 1>(x, m, &group, nb, &lanes, y, ldy, &n0);
        break;
      case 1:
        group_tile<kQ4, 1, 1>(x, m, &group, nb, &lanes, y, ldy, &n0);
        break;
      default:
        break;
    }
  }
}

}  // namespace
}  // namespace FVLM_ISA

void matmul_q8_0_r16_avx512(const QuantizedRows& x, const QuantMatrix& w, int64_t n_begin, int64_t n_end,
                            float* y, int64_t ldy) {
  FVLM_ISA::matmul_packed<false>(x, w, n_begin, n_end, y, ldy);
}

void matmul_q4_0_r16_avx512(const QuantizedRows& x, const QuantMatrix& w, int64_t n_begin, int64_t n_end,
                            float* y, int64_t ldy) {
  FVLM_ISA::matmul_packed<true>(x, w, n_begin, n_end, y, ldy);
}

}  // namespace fvlm::quant
