// AVX-VNNI matmul on packed weights (Alder Lake and later laptops): VEX vpdpbusd on ymm, u8
// weights x s8 x straight into int32 (see matmul_packed_x86.h).
#include "quant/matmul_packed_x86.h"

namespace fvlm::quant {
namespace FVLM_ISA {
namespace {

struct DotVnni {
  using Sum = __m256i;
  using Weights = __m256i;
  static Sum zero() { return _mm256_setzero_si256(); }
  static Weights prepare(__m256i w) { return w; }
  static Sum add(Sum s, Weights w, __m256i x) { return _mm256_dpbusd_avx_epi32(s, w, x); }
  static __m256i finish(Sum s, int32_t offset_sum) {
    return _mm256_sub_epi32(s, _mm256_set1_epi32(offset_sum));
  }
};

}  // namespace
}  // namespace FVLM_ISA

void matmul_q8_0_r16_avxvnni(const QuantizedRows& x, const QuantMatrix& w, int64_t n_begin, int64_t n_end,
                             float* y, int64_t ldy) {
  FVLM_ISA::matmul_packed<FVLM_ISA::ChunksQ8_0, FVLM_ISA::DotVnni>(x, w, n_begin, n_end, y, ldy);
}

void matmul_q4_0_r16_avxvnni(const QuantizedRows& x, const QuantMatrix& w, int64_t n_begin, int64_t n_end,
                             float* y, int64_t ldy) {
  FVLM_ISA::matmul_packed<FVLM_ISA::ChunksQ4_0, FVLM_ISA::DotVnni>(x, w, n_begin, n_end, y, ldy);
}

}  // namespace fvlm::quant
