// AMX-INT8 matmul on packed weights (quant/packed.h), for prompts: 16 rows of x against one 16-row
// group, block by block, one TDPBSSD per 32-value block:
//   A = the block's 32 signed bytes of 16 rows of x (row-major, as QuantizedRows keeps them)
//   B = the block's quants, 8 rows x 64 bytes: packed.h's chunk j (values 4j..4j+3 of the 16 weight
//       rows) already is row j of AMX's four-bytes-per-column layout; made signed once per group
//       (signed_blocks) for all the tiles of x that use it
//   C = 16 x 16 exact int32 dots, the same integers as the AVX-512 kernel's (dot minus offset * sum
//       x), stored to L1 and taken through its chain: convert, fma with d_w * d_x. So every output
//       is the reference's bit for bit. The per-block scales are why the dots leave the tile after
//       each block; two tiles in flight let block b's product run while block b - 1 is scaled.
// Rows of x past the last full 16 (and calls with fewer than 32 rows of Q8_0, 16 of Q4_0, as decode's)
// go to the AVX-512 kernel.
// The OS must have granted the tile state (cpu_features.cpp asks for it once).
// GCC 12 warns maybe-uninitialized inside its own _mm512_cvtepi32_ps / _mm512_cvtph_ps (their
// pass-through operand is _mm512_undefined_ps(), by design): a false positive, off for this file.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstdint>

#include "quant/matmul_quant.h"
#include "quant/packed.h"

namespace fvlm::quant {
namespace FVLM_ISA {
namespace {

constexpr int kTileRows = 16;
// Tile numbers (the intrinsics take immediates): two of each, so that block b's product is in
// flight while block b - 1's dots go through the f32 chain.
#define FVLM_TILE_C0 0
#define FVLM_TILE_C1 1
#define FVLM_TILE_A0 2
#define FVLM_TILE_A1 3
#define FVLM_TILE_B0 4
#define FVLM_TILE_B1 5

// The LDTILECFG operand, built at compile time: GCC 12 does not see the instruction read the
// stores to a local one and drops all but the first (the tiles then fault as unconfigured).
struct alignas(64) TileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};

constexpr TileConfig make_tile_config() {
  TileConfig c;
  for (int t : {FVLM_TILE_C0, FVLM_TILE_C1}) {
    c.colsb[t] = 64;  // 16 int32 outputs per row
    c.rows[t] = kTileRows;
  }
  for (int t : {FVLM_TILE_A0, FVLM_TILE_A1}) {
    c.colsb[t] = kBlock;  // one block of x per row
    c.rows[t] = kTileRows;
  }
  for (int t : {FVLM_TILE_B0, FVLM_TILE_B1}) {
    c.colsb[t] = 64;  // 16 weight rows x 4 values
    c.rows[t] = kBlock / 4;
  }
  return c;
}

constexpr TileConfig kTileConfig = make_tile_config();

void configure_tiles() { _tile_loadconfig(&kTileConfig); }

// A group's quants as signed bytes, block after block in AMX's B layout (8 rows x 64 bytes: packed.h's
// chunk j, values 4j..4j+3 of the 16 weight rows, is row j): Q8_0_R16's unsigned bytes minus 128,
// Q4_0_R16's nibbles spread out minus 8. Done once per group for all the rows of x: the products are
// then the exact signed dots (TDPBSSD), with no offset left to take off.
template <bool kQ4>
void signed_blocks(const uint8_t* group, int64_t nb, int8_t* out) {
  if constexpr (kQ4) {
    const __m512i low = _mm512_set1_epi8(0x0f), eight = _mm512_set1_epi8(8);
    for (int64_t b = 0; b < nb; ++b)
      for (int j = 0; j < 4; ++j) {
        const __m512i v = _mm512_loadu_si512(group + 256 * b + 64 * j);
        _mm512_store_si512(out + 512 * b + 64 * j, _mm512_sub_epi8(_mm512_and_si512(v, low), eight));
        _mm512_store_si512(out + 512 * b + 64 * (j + 4),
                           _mm512_sub_epi8(_mm512_and_si512(_mm512_srli_epi16(v, 4), low), eight));
      }
  } else {
    const __m512i bias = _mm512_set1_epi8(char(0x80));
    for (int64_t i = 0; i < nb * 8; ++i)
      _mm512_store_si512(out + 64 * i, _mm512_xor_si512(_mm512_loadu_si512(group + 64 * i), bias));
  }
}

// Rows [m0, m0 + 16) of x against one group (its signed blocks `wq`, its f16 scales), storing `lanes`
// of y's columns n0..n0+15.
void tile_rows16(const QuantizedRows& x, int64_t m0, const int8_t* wq, const uint8_t* scales, int64_t nb,
                 __mmask16 lanes, float* y, int64_t ldy, int64_t n0) {
  alignas(64) int32_t dots[2][kTileRows][16];
  const int8_t* xq = x.qs + m0 * x.k;
  const float* xd = x.d + m0 * nb;
  __m512 acc[kTileRows];
  for (__m512& a : acc) a = _mm512_setzero_ps();
  auto chain = [&](int64_t b, int buf) {  // the AVX-512 kernel's per-lane chain, row by row
    const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(scales + 32 * b)));
    for (int r = 0; r < kTileRows; ++r)
      acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_load_si512(dots[buf][r])),
                               _mm512_mul_ps(dw, _mm512_set1_ps(xd[r * nb + b])), acc[r]);
  };
  for (int64_t b = 0; b < nb; b += 2) {
    _tile_zero(FVLM_TILE_C0);
    _tile_loadd(FVLM_TILE_A0, xq + b * kBlock, x.k);
    _tile_loadd(FVLM_TILE_B0, wq + 512 * b, 64);
    _tile_dpbssd(FVLM_TILE_C0, FVLM_TILE_A0, FVLM_TILE_B0);
    _tile_stored(FVLM_TILE_C0, dots[0], 64);
    if (b > 0) chain(b - 1, 1);
    if (b + 1 == nb) {
      chain(b, 0);
      break;
    }
    _tile_zero(FVLM_TILE_C1);
    _tile_loadd(FVLM_TILE_A1, xq + (b + 1) * kBlock, x.k);
    _tile_loadd(FVLM_TILE_B1, wq + 512 * (b + 1), 64);
    _tile_dpbssd(FVLM_TILE_C1, FVLM_TILE_A1, FVLM_TILE_B1);
    _tile_stored(FVLM_TILE_C1, dots[1], 64);
    chain(b, 0);
    if (b + 2 == nb) chain(b + 1, 1);
  }
  for (int r = 0; r < kTileRows; ++r) _mm512_mask_storeu_ps(y + (m0 + r) * ldy + n0, lanes, acc[r]);
}

template <bool kQ4>
void matmul_packed(const QuantizedRows& x, const QuantMatrix& w, int64_t n_begin, int64_t n_end, float* y,
                   int64_t ldy) {
  // Below this many rows making each group signed and the tile round trips cost what the tiles save
  // (alternating with the AVX-512 kernel over 0.5B's matrices: Q8_0 0.86-0.93x at 16 rows, 1.0x at
  // 24, 1.29-1.33x at 32; Q4_0 1.05-1.34x from 16).
  constexpr int64_t kMinRows = kQ4 ? 16 : 32;
  const int64_t full = x.rows < kMinRows ? 0 : x.rows / kTileRows * kTileRows;
  const int64_t nb = w.k / kBlock;
  if (full > 0) {
    const int64_t quant_bytes = packed_quant_bytes(w.type), group_bytes = packed_group_bytes(w.type, w.k);
    int8_t* wq = static_cast<int8_t*>(thread_scratch(nb * 512));  // one group's signed quants
    configure_tiles();
    for (int64_t g = n_begin / kPackRows; g * kPackRows < n_end; ++g) {
      const int64_t n0 = g * kPackRows;
      const int lb = int(n_begin > n0 ? n_begin - n0 : 0);
      const int le = int(n_end - n0 < kPackRows ? n_end - n0 : kPackRows);
      const __mmask16 lanes = __mmask16(((1u << le) - 1) & ~((1u << lb) - 1));
      const uint8_t* group = w.data + g * group_bytes;
      signed_blocks<kQ4>(group, nb, wq);
      for (int64_t m = 0; m < full; m += kTileRows)
        tile_rows16(x, m, wq, group + nb * quant_bytes, nb, lanes, y, ldy, n0);
    }
    _tile_release();
  }
  if (full == x.rows) return;
  const QuantizedRows rest{x.rows - full, x.k, x.qs + full * x.k, x.d + full * nb, x.sum + full * nb};
  if constexpr (kQ4)
    matmul_q4_0_r16_avx512(rest, w, n_begin, n_end, y + full * ldy, ldy);
  else
    matmul_q8_0_r16_avx512(rest, w, n_begin, n_end, y + full * ldy, ldy);
}

}  // namespace
}  // namespace FVLM_ISA

void matmul_q8_0_r16_amx(const QuantizedRows& x, const QuantMatrix& w, int64_t n_begin, int64_t n_end,
                         float* y, int64_t ldy) {
  FVLM_ISA::matmul_packed<false>(x, w, n_begin, n_end, y, ldy);
}

void matmul_q4_0_r16_amx(const QuantizedRows& x, const QuantMatrix& w, int64_t n_begin, int64_t n_end,
                         float* y, int64_t ldy) {
  FVLM_ISA::matmul_packed<true>(x, w, n_begin, n_end, y, ldy);
}

}  // namespace fvlm::quant
