// Quantised rows back to f32, at speed: the prefill GEMM dequantises Q8_0/Q4_0 weight panels and
// runs oneDNN's f32 sgemm on them, which on AVX2 (no VNNI) outruns the int8 dot-product kernels
// once a matrix is shared by more than a few dozen tokens (bench_quant prints both).
// The scalar specification is blocks.h's dequantize_row_q8_0 / _q4_0; the AVX2 variants are
// bit-identical to it.
#pragma once
#include <cstdint>

#include <span>

#include "core/dispatch.h"
#include "core/tensor.h"
#include "quant/blocks.h"

namespace fvlm::quant {

void dequantize_row_q8_0_avx2(const BlockQ8_0* x, float* y, int64_t k);
void dequantize_row_q4_0_avx2(const BlockQ4_0* x, float* y, int64_t k);

// k values (k % 32 == 0) from k / 32 blocks.
using DequantizeQ8_0Fn = void (*)(const BlockQ8_0* x, float* y, int64_t k);
using DequantizeQ4_0Fn = void (*)(const BlockQ4_0* x, float* y, int64_t k);
// "ref" (blocks.h) first, then "avx2".
std::span<const Variant<DequantizeQ8_0Fn>> dequantize_q8_0_variants();
std::span<const Variant<DequantizeQ4_0Fn>> dequantize_q4_0_variants();

// Rows [row_begin, row_end) of a Q8_0/Q4_0 matrix [rows, cols] as f32 into dst (row-major), with
// the variant pick() chose (once).
void dequantize_rows(const Tensor& m, int64_t row_begin, int64_t row_end, float* dst);
// The same for any weight dtype: F32/BF16/F16 widened (core/widen.h), Q8_0/Q4_0 dequantised (as
// ggml_get_rows does). Other dtypes: Error{kUnsupported}.
void rows_to_f32(const Tensor& m, int64_t row_begin, int64_t row_end, float* dst);
// Element (r, k) alone, the value rows_to_f32 gives there: one element, or one block of 32, read
// where it is (the int8 prefill takes single weight columns so, decoder/int8_outliers.h).
float value_f32(const Tensor& m, int64_t r, int64_t k);

}  // namespace fvlm::quant
