// The packed-weight matmul (quant/packed.h) over 256-bit vectors, for the AVX2 and AVX-VNNI files
// (matmul_packed_avx2.cpp, _avxvnni.cpp). A ymm holds 8 rows of a 16-row group (a half), over
// every block of the group:
//   dot  = exact int32 sum of the block's 32 products, per lane (a `Dot` policy)
//   acc  = fma(float(dot), d_w * d_x, acc)              the chain of matmul_packed_ref.cpp
// Dot policies, per 4-byte group j of x broadcast against chunk j of weights:
//   VNNI        dpbusd(u8 weights, x), minus offset * sum x at the end
//   AVX2, Q4_0  maddubs(nibbles, x) summed in int16 (8 x 2 x 15 x 127 < 2^15), then madd(., 1), - 8 sum x
//   AVX2, Q8_0  maddubs(|w|, sign(x, w)) per chunk (u8 weights minus 128 first: 2 x 255 x 127 would
//               saturate int16), madd(., 1), summed in int32; no offset left
// Include ONLY from those files (an island: internal linkage in fvlm::quant::FVLM_ISA).
#pragma once
#ifndef FVLM_ISA
#error "quant/matmul_packed_x86.h is for the matmul_packed ISA files only"
#endif
#include <immintrin.h>

#include <cstring>

#include "core/simd_avx2.h"
#include "quant/matmul_quant.h"
#include "quant/packed.h"

namespace fvlm::quant::FVLM_ISA {
namespace {

using fvlm::FVLM_ISA::Index;
using fvlm::FVLM_ISA::unroll;

constexpr int kMaxRows = 4;
constexpr int64_t kPrefetchBytes = 4096;  // as matmul_quant_x86.h

inline __m256i broadcast4(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

// Chunk j (0..7) of a block's quants for half h: the u8 weights of values 4j..4j+3 of 8 rows.
struct ChunksQ8_0 {
  static constexpr bool kQ4 = false;
  static __m256i chunk(const uint8_t* q, int j, int h) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + 64 * j + 32 * h));
  }
};
struct ChunksQ4_0 {
  static constexpr bool kQ4 = true;
  static __m256i chunk(const uint8_t* q, int j, int h) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + 64 * (j % 4) + 32 * h));
    return _mm256_and_si256(j < 4 ? v : _mm256_srli_epi16(v, 4), _mm256_set1_epi8(0x0f));
  }
};

// Rows [m0, m0+MR) of x against halves h0..h0+H-1 of the group at `group` (weight rows n0..n0+15);
// stores lanes [lb[h], le[h]) of each half.
template <class Chunks, class Dot, int MR, int H>
void half_tile(const QuantizedRows& x, int64_t m0, const uint8_t* group, int64_t nb, int h0, const int* lb,
               const int* le, float* y, int64_t ldy, int64_t n0) {
  constexpr int64_t kQuantBytes = Chunks::kQ4 ? 256 : 512;
  constexpr int32_t kOffset = Chunks::kQ4 ? 8 : 128;
  constexpr int64_t kStep = kPackRows * (Chunks::kQ4 ? 18 : 34);
  const uint8_t* scales = group + nb * kQuantBytes;
  const int8_t* xq[MR];
  const float* xd[MR];
  const int32_t* xs[MR];
  __m256 acc[H][MR];
  unroll<MR>([&](auto r) {
    xq[r] = x.qs + (m0 + r) * x.k;
    xd[r] = x.d + (m0 + r) * nb;
    xs[r] = x.sum + (m0 + r) * nb;
    unroll<H>([&](auto i) { acc[i][r] = _mm256_setzero_ps(); });
  });
  for (int64_t b = 0; b < nb; ++b) {
    if (h0 == 0) {  // the first pass over the group streams it in
      const char* ahead = reinterpret_cast<const char*>(group) + kPrefetchBytes + b * kStep;
      for (int64_t off = 0; off < kStep; off += 64) _mm_prefetch(ahead + off, _MM_HINT_T0);
    }
    const uint8_t* q = group + b * kQuantBytes;
    typename Dot::Sum sum[H][MR];
    unroll<H>([&](auto i) { unroll<MR>([&](auto r) { sum[i][r] = Dot::zero(); }); });
    unroll<8>([&](auto j) {
      unroll<H>([&](auto i) {
        const typename Dot::Weights wj = Dot::prepare(Chunks::chunk(q, j, h0 + i));
        unroll<MR>(
            [&](auto r) { sum[i][r] = Dot::add(sum[i][r], wj, broadcast4(xq[r] + b * kBlock + 4 * j)); });
      });
    });
    unroll<H>([&](auto i) {
      const __m256 dw =
          _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(scales + 32 * b + 16 * (h0 + i))));
      unroll<MR>([&](auto r) {
        const __m256i dot = Dot::finish(sum[i][r], kOffset * xs[r][b]);
        acc[i][r] =
            _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_mul_ps(dw, _mm256_set1_ps(xd[r][b])), acc[i][r]);
      });
    });
  }
  unroll<H>([&](auto i) {
    const int h = h0 + i;
    unroll<MR>([&](auto r) {
      float* out = y + (m0 + r) * ldy + n0 + 8 * h;
      if (lb[h] == 0 && le[h] == 8) {
        _mm256_storeu_ps(out, acc[i][r]);
      } else {
        alignas(32) float lanes[8];
        _mm256_store_ps(lanes, acc[i][r]);
        for (int l = lb[h]; l < le[h]; ++l) out[l] = lanes[l];
      }
    });
  });
}

// MR rows against the whole group: both halves in one pass when the registers allow (few rows:
// decode streams the group once), else one half after the other (the second from L2).
template <class Chunks, class Dot, int MR>
void group_tile(const QuantizedRows& x, int64_t m0, const uint8_t* group, int64_t nb, const int* lb,
                const int* le, float* y, int64_t ldy, int64_t n0) {
  if constexpr (MR <= 2) {
    half_tile<Chunks, Dot, MR, 2>(x, m0, group, nb, 0, lb, le, y, ldy, n0);
  } else {
    half_tile<Chunks, Dot, MR, 1>(x, m0, group, nb, 0, lb, le, y, ldy, n0);
    half_tile<Chunks, Dot, MR, 1>(x, m0, group, nb, 1, lb, le, y, ldy, n0);
  }
}

template <class Chunks, class Dot>
void matmul_packed(const QuantizedRows& x, const QuantMatrix& w, int64_t n_begin, int64_t n_end, float* y,
                   int64_t ldy) {
  const int64_t nb = w.k / kBlock;
  const int64_t group_bytes = kPackRows * nb * (Chunks::kQ4 ? 18 : 34);
  for (int64_t g = n_begin / kPackRows; g * kPackRows < n_end; ++g) {
    const int64_t n0 = g * kPackRows;
    const uint8_t* group = w.data + g * group_bytes;
    int lb[2], le[2];  // each half's lanes inside [n_begin, n_end) (empty: lb >= le)
    for (int h = 0; h < 2; ++h) {
      const int64_t first = n0 + 8 * h;
      const int64_t from = n_begin - first, to = n_end - first;
      lb[h] = int(from <= 0 ? 0 : from < 8 ? from : 8);
      le[h] = int(to <= lb[h] ? lb[h] : to < 8 ? to : 8);
    }
    int64_t m = 0;
    for (; m + kMaxRows <= x.rows; m += kMaxRows)
      group_tile<Chunks, Dot, kMaxRows>(x, m, group, nb, lb, le, y, ldy, n0);
    switch (x.rows - m) {
      case 3:
        group_tile<Chunks, Dot, 3>(x, m, group, nb, lb, le, y, ldy, n0);
        break;
      case 2:
        group_tile<Chunks, Dot, 2>(x, m, group, nb, lb, le, y, ldy, n0);
        break;
      case 1:
        group_tile<Chunks, Dot, 1>(x, m, group, nb, lb, le, y, ldy, n0);
        break;
      default:
        break;
    }
  }
}

}  // namespace
}  // namespace fvlm::quant::FVLM_ISA
