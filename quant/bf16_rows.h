// Weight rows and activations to bf16 for the bf16 prefill matmuls (decoder/prefill_matmul.h): each
// value is first made exactly the f32 that rows_to_f32 gives (quant/dequantize.h: an f16 scale times
// an int, or the stored float), then rounded to nearest even bf16 (core/half.h f32_to_bf16, NaN kept).
// _ref is that spec, one value at a time; the AVX2 variants are bit-identical to it (tests/unit).
#pragma once
#include <cstdint>
#include <span>

#include "core/dispatch.h"
#include "core/tensor.h"
#include "quant/blocks.h"

namespace fvlm::quant {

using F32ToBf16Fn = void (*)(const float* x, int64_t n, uint16_t* y);
using Q8_0ToBf16Fn = void (*)(const BlockQ8_0* x, int64_t k, uint16_t* y);  // k % 32 == 0
using Q4_0ToBf16Fn = void (*)(const BlockQ4_0* x, int64_t k, uint16_t* y);

void f32_to_bf16_ref(const float* x, int64_t n, uint16_t* y);
void f32_to_bf16_avx2(const float* x, int64_t n, uint16_t* y);
void q8_0_to_bf16_ref(const BlockQ8_0* x, int64_t k, uint16_t* y);
void q8_0_to_bf16_avx2(const BlockQ8_0* x, int64_t k, uint16_t* y);
void q4_0_to_bf16_ref(const BlockQ4_0* x, int64_t k, uint16_t* y);
void q4_0_to_bf16_avx2(const BlockQ4_0* x, int64_t k, uint16_t* y);

// "ref" first, then "avx2" (core/dispatch.h).
std::span<const Variant<F32ToBf16Fn>> f32_to_bf16_variants();
std::span<const Variant<Q8_0ToBf16Fn>> q8_0_to_bf16_variants();
std::span<const Variant<Q4_0ToBf16Fn>> q4_0_to_bf16_variants();

// n floats to bf16 with pick()'s variant (once), over the threads when n is large.
void round_to_bf16(const float* x, int64_t n, uint16_t* y);

// Rows [row_begin, row_end) of a F32/BF16/F16/Q8_0/Q4_0 matrix [rows, cols] as bf16 into dst
// (row-major), single-threaded (callers split rows over threads). BF16 rows are copied as stored.
// Other dtypes: Error{kUnsupported}.
void rows_to_bf16(const Tensor& m, int64_t row_begin, int64_t row_end, uint16_t* dst);

}  // namespace fvlm::quant
