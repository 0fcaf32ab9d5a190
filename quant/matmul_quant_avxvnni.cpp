// AVX-VNNI quantised matmul (VEX vpdpbusd on ymm; e.g. Alder Lake, Zen 5): see matmul_quant_x86.h.
#include "quant/matmul_quant_x86.h"

namespace fvlm::quant {
namespace avxvnni {
namespace {

struct DotAvxVnni {
  // u8 x s8, four adjacent products summed straight into int32: no int16 intermediate.
  static __m256i dot(__m256i u, __m256i s) { return _mm256_dpbusd_avx_epi32(_mm256_setzero_si256(), u, s); }
};

}  // namespace
}  // namespace avxvnni

void matmul_q8_0_avxvnni(const QuantizedRows& x, const QuantMatrix& w, int64_t n_begin, int64_t n_end,
                         float* y, int64_t ldy) {
  avxvnni::matmul_x86<avxvnni::WeightsQ8_0, avxvnni::DotAvxVnni, 4, 2>(x, w, n_begin, n_end, y, ldy);
}

void matmul_q4_0_avxvnni(const QuantizedRows& x, const QuantMatrix& w, int64_t n_begin, int64_t n_end,
                         float* y, int64_t ldy) {
  avxvnni::matmul_x86<avxvnni::WeightsQ4_0, avxvnni::DotAvxVnni, 4, 2>(x, w, n_begin, n_end, y, ldy);
}

}  // namespace fvlm::quant
