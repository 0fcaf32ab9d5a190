// AVX2 quantised matmul: int8 products with vpmaddubsw + vpmaddwd (see matmul_quant_x86.h).
#include "quant/matmul_quant_x86.h"

namespace fvlm::quant {
namespace avx2 {
namespace {

struct DotAvx2 {
  // u8 x s8: adjacent pairs to int16 (no saturation: 2*128*127 < 32768),
  // then pairs of int16 to int32.
  static __m256i dot(__m256i u, __m256i s) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
  }
};

}  // namespace
}  // namespace avx2

void matmul_q8_0_avx2(const QuantizedRows& x, const QuantMatrix& w, int64_t n_begin, int64_t n_end, float* y,
                      int64_t ldy) {
  avx2::matmul_x86<avx2::WeightsQ8_0, avx2::DotAvx2, 4, 2>(x, w, n_begin, n_end, y, ldy);
}

void matmul_q4_0_avx2(const QuantizedRows& x, const QuantMatrix& w, int64_t n_begin, int64_t n_end, float* y,
                      int64_t ldy) {
  avx2::matmul_x86<avx2::WeightsQ4_0, avx2::DotAvx2, 4, 2>(x, w, n_begin, n_end, y, ldy);
}

}  // namespace fvlm::quant
