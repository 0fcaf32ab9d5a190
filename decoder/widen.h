// Widening of weights to f32: the GEMM path converts weight panels on the fly, and embedding rows
// are looked up through it. Exact for BF16/F16 (every bf16/f16 is an f32); Q8_0/Q4_0 rows are
// dequantised (quant/dequantize.h), as ggml_get_rows does.
#pragma once
#include <cstdint>
#include <span>

#include "core/dispatch.h"
#include "core/tensor.h"

namespace fvlm::dec {

using WidenFn = void (*)(const uint16_t* src, int64_t n, float* dst);

void widen_bf16_ref(const uint16_t* src, int64_t n, float* dst);
void widen_f16_ref(const uint16_t* src, int64_t n, float* dst);
void widen_bf16_avx2(const uint16_t* src, int64_t n, float* dst);
void widen_f16_avx2(const uint16_t* src, int64_t n, float* dst);

// Variants for BF16 or F16 ("ref" first; core/dispatch.h). Other dtypes: FVLM_CHECK.
std::span<const Variant<WidenFn>> widen_variants(DType t);
// pick()'s choice for BF16 or F16 (once per dtype).
WidenFn best_widen(DType t);

// Rows [row_begin, row_end) of a F32/BF16/F16/Q8_0/Q4_0 matrix [rows, cols] as f32 into dst (row-major).
void widen_rows(const Tensor& m, int64_t row_begin, int64_t row_end, float* dst);

}  // namespace fvlm::dec
