#include "quant/dequantize.h"

#include <fmt/format.h>

#include "core/cpu_features.h"
#include "core/error.h"

namespace fvlm::quant {

void dequantize_rows(const Tensor& m, int64_t row_begin, int64_t row_end, float* dst) {
  static const bool avx2 = cpu_has(CpuFeature::kAvx2);
  const int64_t cols = m.dim(-1), n = (row_end - row_begin) * cols;
  const int64_t first_block = row_begin * (cols / kBlock);
  if (m.dtype() == DType::Q8_0) {
    const BlockQ8_0* blocks = static_cast<const BlockQ8_0*>(m.data()) + first_block;
    (avx2 ? dequantize_row_q8_0_avx2 : dequantize_row_q8_0)(blocks, dst, n);
  } else if (m.dtype() == DType::Q4_0) {
    const BlockQ4_0* blocks = static_cast<const BlockQ4_0*>(m.data()) + first_block;
    (avx2 ? dequantize_row_q4_0_avx2 : dequantize_row_q4_0)(blocks, dst, n);
  } else {
    throw Error(Errc::kUnsupported, fmt::format("dequantize_rows: {} is not a quantised type", dtype_name(m.dtype())));
  }
}

}  // namespace fvlm::quant
