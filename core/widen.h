// Widening of 16-bit float weights to f32: the encoder widens its checkpoint weights through it,
// the decoder's GEMM its weight panels and the embedding its rows (quantised rows go through
// quant::rows_to_f32, which calls this for the float types). Exact: every bf16/f16 is an f32.
#pragma once
#include <cstdint>
#include <span>

#include "core/dispatch.h"
#include "core/tensor.h"

namespace fvlm {

using WidenFn = void (*)(const uint16_t* src, int64_t n, float* dst);

void widen_bf16_ref(const uint16_t* src, int64_t n, float* dst);
void widen_f16_ref(const uint16_t* src, int64_t n, float* dst);
void widen_bf16_avx2(const uint16_t* src, int64_t n, float* dst);
void widen_f16_avx2(const uint16_t* src, int64_t n, float* dst);

// Variants for BF16 or F16 ("ref" first; core/dispatch.h). Other dtypes: FVLM_CHECK.
std::span<const Variant<WidenFn>> widen_variants(DType t);
// pick()'s choice for BF16 or F16 (once per dtype).
WidenFn best_widen(DType t);

// Rows [row_begin, row_end) of a F32/BF16/F16 matrix [rows, cols] as f32 into dst (row-major).
// Other dtypes: Error{kUnsupported}.
void widen_rows(const Tensor& m, int64_t row_begin, int64_t row_end, float* dst);

}  // namespace fvlm
