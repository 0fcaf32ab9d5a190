// GEMV for decode: y[n] = sum_k W[n, k] * x[k] for weight rows n in [n_begin, n_end), W row-major [N, K]
// stored as F32, BF16 or F16 (widened to f32 in registers; accumulation in f32). Memory-bound: each
// weight byte is read once per token, so the kernels stream rows and keep x in L1.
//
// One variant table per weight dtype: {name, cpu feature, fn} (core/dispatch.h). "ref" (plain loops)
// is the spec.
#pragma once
#include <cstdint>
#include <span>
#include <string_view>

#include "core/dispatch.h"
#include "core/tensor.h"

namespace fvlm::dec {

using GemvFn = void (*)(const void* w, int64_t K, const float* x, int64_t n_begin, int64_t n_end, float* y);

using GemvVariant = Variant<GemvFn>;

// Variants for F32, BF16 or F16 weights, "ref" first. Other dtypes: FVLM_CHECK.
std::span<const GemvVariant> gemv_variants(DType weight_type);
// pick()'s choice, once per dtype.
const GemvVariant& best_gemv(DType weight_type);

void gemv_f32_ref(const void* w, int64_t K, const float* x, int64_t n_begin, int64_t n_end, float* y);
void gemv_bf16_ref(const void* w, int64_t K, const float* x, int64_t n_begin, int64_t n_end, float* y);
void gemv_f16_ref(const void* w, int64_t K, const float* x, int64_t n_begin, int64_t n_end, float* y);
void gemv_f32_avx2(const void* w, int64_t K, const float* x, int64_t n_begin, int64_t n_end, float* y);
void gemv_bf16_avx2(const void* w, int64_t K, const float* x, int64_t n_begin, int64_t n_end, float* y);
void gemv_f16_avx2(const void* w, int64_t K, const float* x, int64_t n_begin, int64_t n_end, float* y);

}  // namespace fvlm::dec
