// AVX2 matmul on packed weights: vpmaddubsw + vpmaddwd products (see matmul_packed_x86.h).
#include "quant/matmul_packed_x86.h"

namespace fvlm::quant {
namespace FVLM_ISA {
namespace {

// Q4_0: nibbles (u8 0..15) x s8; eight chunks' pair sums stay inside int16 (8 * 2 * 15 * 127 < 32768).
struct DotNibbles {
  using Sum = __m256i;  // int16 pairs
  using Weights = __m256i;
  static Sum zero() { return _mm256_setzero_si256(); }
  static Weights prepare(__m256i w) { return w; }
  static Sum add(Sum s, Weights w, __m256i x) { return _mm256_add_epi16(s, _mm256_maddubs_epi16(w, x)); }
  static __m256i finish(Sum s, int32_t offset_sum) {
    return _mm256_sub_epi32(_mm256_madd_epi16(s, _mm256_set1_epi16(1)), _mm256_set1_epi32(offset_sum));
  }
};

// Q8_0: back to signed weights, then |w| x sign(x, w) (pairs fit int16: 2 * 128 * 127 < 32768).
struct DotSigned {
  struct Weights {
    __m256i abs, sign;
  };
  using Sum = __m256i;  // int32
  static Sum zero() { return _mm256_setzero_si256(); }
  static Weights prepare(__m256i u) {
    const __m256i w = _mm256_xor_si256(u, _mm256_set1_epi8(char(0x80)));  // u - 128
    return {_mm256_sign_epi8(w, w), w};
  }
  static Sum add(Sum s, Weights w, __m256i x) {
    const __m256i p = _mm256_maddubs_epi16(w.abs, _mm256_sign_epi8(x, w.sign));
    return _mm256_add_epi32(s, _mm256_madd_epi16(p, _mm256_set1_epi16(1)));
  }
  static __m256i finish(Sum s, int32_t) { return s; }  // signed weights: nothing to take off
};

}  // namespace
}  // namespace FVLM_ISA

void matmul_q8_0_r16_avx2(const QuantizedRows& x, const QuantMatrix& w, int64_t n_begin, int64_t n_end,
                          float* y, int64_t ldy) {
  FVLM_ISA::matmul_packed<FVLM_ISA::ChunksQ8_0, FVLM_ISA::DotSigned>(x, w, n_begin, n_end, y, ldy);
}

void matmul_q4_0_r16_avx2(const QuantizedRows& x, const QuantMatrix& w, int64_t n_begin, int64_t n_end,
                          float* y, int64_t ldy) {
  FVLM_ISA::matmul_packed<FVLM_ISA::ChunksQ4_0, FVLM_ISA::DotNibbles>(x, w, n_begin, n_end, y, ldy);
}

}  // namespace fvlm::quant
