// AVX-512 VNNI quantised matmul: EVEX vpdpbusd on ymm (AVX512_VNNI + VL). With 32 vector
// registers the prefill tile grows to 4 rows x 4 weight rows. See matmul_quant_x86.h.
#include "quant/matmul_quant_x86.h"

namespace fvlm::quant {
namespace avx512 {
namespace {

struct DotAvx512Vnni {
  static __m256i dot(__m256i u, __m256i s) { return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s); }
};

}  // namespace
}  // namespace avx512

void matmul_q8_0_avx512(const QuantizedRows& x, const QuantMatrix& w, int64_t n_begin, int64_t n_end,
                        float* y, int64_t ldy) {
  avx512::matmul_x86<avx512::WeightsQ8_0, avx512::DotAvx512Vnni, 4, 4>(x, w, n_begin, n_end, y, ldy);
}

void matmul_q4_0_avx512(const QuantizedRows& x, const QuantMatrix& w, int64_t n_begin, int64_t n_end,
                        float* y, int64_t ldy) {
  avx512::matmul_x86<avx512::WeightsQ4_0, avx512::DotAvx512Vnni, 4, 4>(x, w, n_begin, n_end, y, ldy);
}

}  // namespace fvlm::quant
