#include "quant/bf16_rows.h"

#include <fmt/format.h>

#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/half.h"
#include "core/parallel.h"
#include "core/widen.h"
#include "quant/packed.h"

namespace fvlm::quant {
namespace {
constexpr Variant<F32ToBf16Fn> kF32[] = {
    {"ref", CpuFeature::kNone, f32_to_bf16_ref},
    {"avx2", CpuFeature::kAvx2, f32_to_bf16_avx2},
};
constexpr Variant<Q8_0ToBf16Fn> kQ8_0[] = {
    {"ref", CpuFeature::kNone, q8_0_to_bf16_ref},
    {"avx2", CpuFeature::kAvx2, q8_0_to_bf16_avx2},
};
constexpr Variant<Q4_0ToBf16Fn> kQ4_0[] = {
    {"ref", CpuFeature::kNone, q4_0_to_bf16_ref},
    {"avx2", CpuFeature::kAvx2, q4_0_to_bf16_avx2},
};

F32ToBf16Fn best_f32() {
  static const F32ToBf16Fn fn = pick("f32_to_bf16", kF32).fn;
  return fn;
}
}  // namespace

std::span<const Variant<F32ToBf16Fn>> f32_to_bf16_variants() { return kF32; }
std::span<const Variant<Q8_0ToBf16Fn>> q8_0_to_bf16_variants() { return kQ8_0; }
std::span<const Variant<Q4_0ToBf16Fn>> q4_0_to_bf16_variants() { return kQ4_0; }

void f32_to_bf16_ref(const float* x, int64_t n, uint16_t* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = f32_to_bf16(x[i]);
}

void q8_0_to_bf16_ref(const BlockQ8_0* x, int64_t k, uint16_t* y) {
  float block[kBlock];
  for (int64_t b = 0; b < k / kBlock; ++b) {
    dequantize_row_q8_0(x + b, block, kBlock);
    f32_to_bf16_ref(block, kBlock, y + b * kBlock);
  }
}

void q4_0_to_bf16_ref(const BlockQ4_0* x, int64_t k, uint16_t* y) {
  float block[kBlock];
  for (int64_t b = 0; b < k / kBlock; ++b) {
    dequantize_row_q4_0(x + b, block, kBlock);
    f32_to_bf16_ref(block, kBlock, y + b * kBlock);
  }
}

void round_to_bf16(const float* x, int64_t n, uint16_t* y) {
  const F32ToBf16Fn fn = best_f32();
  parallel_for(n, 32768, [&](int64_t b, int64_t e) { fn(x + b, e - b, y + b); });
}

void rows_to_bf16(const Tensor& m, int64_t row_begin, int64_t row_end, uint16_t* dst) {
  static const Q8_0ToBf16Fn q8_0 = pick("q8_0_to_bf16", kQ8_0).fn;
  static const Q4_0ToBf16Fn q4_0 = pick("q4_0_to_bf16", kQ4_0).fn;
  const int64_t cols = m.dim(-1), n = (row_end - row_begin) * cols;
  switch (m.dtype()) {
    case DType::BF16:
      std::memcpy(dst, static_cast<const uint16_t*>(m.data()) + row_begin * cols, size_t(n) * 2);
      return;
    case DType::F32:
      best_f32()(m.f32() + row_begin * cols, n, dst);
      return;
    case DType::F16: {  // widened exactly to f32 a row at a time, then rounded
      std::vector<float> row(static_cast<size_t>(cols));
      for (int64_t r = row_begin; r < row_end; ++r) {
        widen_rows(m, r, r + 1, row.data());
        best_f32()(row.data(), cols, dst + (r - row_begin) * cols);
      }
      return;
    }
    case DType::Q8_0:
      q8_0(static_cast<const BlockQ8_0*>(m.data()) + row_begin * (cols / kBlock), n, dst);
      return;
    case DType::Q4_0:
      q4_0(static_cast<const BlockQ4_0*>(m.data()) + row_begin * (cols / kBlock), n, dst);
      return;
    case DType::Q8_0_R16:
    case DType::Q4_0_R16:  // a row at a time back to ggml blocks, then as those
      for (int64_t r = row_begin; r < row_end; ++r) {
        const uint8_t* row = unpacked_row(m, r);
        uint16_t* out = dst + (r - row_begin) * cols;
        if (m.dtype() == DType::Q8_0_R16)
          q8_0(reinterpret_cast<const BlockQ8_0*>(row), cols, out);
        else
          q4_0(reinterpret_cast<const BlockQ4_0*>(row), cols, out);
      }
      return;
    default:
      throw Error(Errc::kUnsupported, fmt::format("rows_to_bf16: {} weights", dtype_name(m.dtype())));
  }
}

}  // namespace fvlm::quant
