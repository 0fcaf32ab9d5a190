#include "quant/dequantize.h"

#include <fmt/format.h>

#include "core/error.h"
#include "core/half.h"
#include "core/widen.h"
#include "quant/packed.h"

namespace fvlm::quant {
namespace {
constexpr Variant<DequantizeQ8_0Fn> kDequantizeQ8_0[] = {
    {"ref", CpuFeature::kNone, dequantize_row_q8_0},
    {"avx2", CpuFeature::kAvx2, dequantize_row_q8_0_avx2},
};
constexpr Variant<DequantizeQ4_0Fn> kDequantizeQ4_0[] = {
    {"ref", CpuFeature::kNone, dequantize_row_q4_0},
    {"avx2", CpuFeature::kAvx2, dequantize_row_q4_0_avx2},
};
}  // namespace

std::span<const Variant<DequantizeQ8_0Fn>> dequantize_q8_0_variants() { return kDequantizeQ8_0; }
std::span<const Variant<DequantizeQ4_0Fn>> dequantize_q4_0_variants() { return kDequantizeQ4_0; }

void dequantize_rows(const Tensor& m, int64_t row_begin, int64_t row_end, float* dst) {
  static const DequantizeQ8_0Fn q8_0 = pick("dequantize_q8_0", kDequantizeQ8_0).fn;
  static const DequantizeQ4_0Fn q4_0 = pick("dequantize_q4_0", kDequantizeQ4_0).fn;
  const int64_t cols = m.dim(-1), n = (row_end - row_begin) * cols;
  const int64_t first_block = row_begin * (cols / kBlock);
  if (is_packed(m.dtype())) {  // a row at a time back to ggml blocks, then as those
    for (int64_t r = row_begin; r < row_end; ++r) {
      const uint8_t* row = unpacked_row(m, r);
      float* out = dst + (r - row_begin) * cols;
      if (m.dtype() == DType::Q8_0_R16)
        q8_0(reinterpret_cast<const BlockQ8_0*>(row), out, cols);
      else
        q4_0(reinterpret_cast<const BlockQ4_0*>(row), out, cols);
    }
  } else if (m.dtype() == DType::Q8_0) {
    const BlockQ8_0* blocks = static_cast<const BlockQ8_0*>(m.data()) + first_block;
    q8_0(blocks, dst, n);
  } else if (m.dtype() == DType::Q4_0) {
    const BlockQ4_0* blocks = static_cast<const BlockQ4_0*>(m.data()) + first_block;
    q4_0(blocks, dst, n);
  } else {
    throw Error(Errc::kUnsupported,
                fmt::format("dequantize_rows: {} is not a quantised type", dtype_name(m.dtype())));
  }
}

void rows_to_f32(const Tensor& m, int64_t row_begin, int64_t row_end, float* dst) {
  if (is_block_quantized(m.dtype()))
    dequantize_rows(m, row_begin, row_end, dst);
  else
    widen_rows(m, row_begin, row_end, dst);
}

namespace {
// Element (r, k) of a ggml Q8_0 / Q4_0 matrix: its block decoded by the specification.
template <class Block>
float block_value(const Tensor& m, int64_t r, int64_t k, void (*decode)(const Block*, float*, int64_t)) {
  float block[kBlock];
  decode(static_cast<const Block*>(m.data()) + r * (m.dim(-1) / kBlock) + k / kBlock, block, kBlock);
  return block[k % kBlock];
}
}  // namespace

float value_f32(const Tensor& m, int64_t r, int64_t k) {
  const int64_t at = r * m.dim(-1) + k;
  switch (m.dtype()) {
    case DType::F32:
      return m.f32()[at];
    case DType::BF16:
      return bf16_to_f32(static_cast<const uint16_t*>(m.data())[at]);
    case DType::F16:
      return f16_to_f32(static_cast<const uint16_t*>(m.data())[at]);
    case DType::Q8_0:
      return block_value(m, r, k, dequantize_row_q8_0);
    case DType::Q4_0:
      return block_value(m, r, k, dequantize_row_q4_0);
    default:
      if (is_packed(m.dtype())) return packed_value(m, r, k);
      throw Error(Errc::kUnsupported, fmt::format("value_f32: no f32 values of {}", dtype_name(m.dtype())));
  }
}

}  // namespace fvlm::quant
