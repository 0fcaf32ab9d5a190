// Rows of floats to s8 with one scale per row: q[r, :] = round(x[r, :] / scale[r]), scale[r] =
// max|x[r, :]| / 127 (1 for an all-zero row), |q| <= 127, halves rounded to even. One function for
// both sides of an int8 matmul: weights once (the vision encoder's INT8 Linear, the LLM's s8 packed
// copies) and activations per call (the LLM's int8 prefill: a scale per token, so one token's large
// values do not flatten every other token's).
// quantize_rows_s8_ref is the specification; the AVX2 variant writes the same bytes and scales (the
// same max, the same f32 multiply by 1 / scale, the same rounding).
#pragma once
#include <cstdint>
#include <span>

#include "core/dispatch.h"

namespace fvlm::quant {

inline constexpr int kS8Max = 127;

using QuantizeRowsS8Fn = void (*)(const float* x, int64_t rows, int64_t k, int8_t* q, float* scale);
void quantize_rows_s8_ref(const float* x, int64_t rows, int64_t k, int8_t* q, float* scale);
void quantize_rows_s8_avx2(const float* x, int64_t rows, int64_t k, int8_t* q, float* scale);

// "ref" first, then "avx2" (core/dispatch.h).
std::span<const Variant<QuantizeRowsS8Fn>> quantize_rows_s8_variants();
// pick()'s variant (once), over the threads by rows: x [rows, k] -> q [rows, k], scale [rows].
void quantize_rows_s8(const float* x, int64_t rows, int64_t k, int8_t* q, float* scale);

}  // namespace fvlm::quant
