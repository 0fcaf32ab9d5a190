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

// Decode rows of several sequences: y[m * ldy + n] = W[n] . x[m * K] for m < M, n in [n_begin, n_end).
// Each output is computed by `fn` exactly as the one-row call computes it (same function, same
// accumulation order), so a sequence's values do not depend on how many share the call. The weight
// rows are walked in tiles of ~16 KB and every x row passes over a tile while it is in cache: the
// weights come from memory once for all M rows (the bandwidth win of batching).
void gemv_rows(GemvFn fn, const void* w, DType weight_type, int64_t K, const float* x, int64_t M,
               int64_t n_begin, int64_t n_end, float* y, int64_t ldy);

void gemv_f32_ref(const void* w, int64_t K, const float* x, int64_t n_begin, int64_t n_end, float* y);
void gemv_bf16_ref(const void* w, int64_t K, const float* x, int64_t n_begin, int64_t n_end, float* y);
void gemv_f16_ref(const void* w, int64_t K, const float* x, int64_t n_begin, int64_t n_end, float* y);
void gemv_f32_avx2(const void* w, int64_t K, const float* x, int64_t n_begin, int64_t n_end, float* y);
void gemv_bf16_avx2(const void* w, int64_t K, const float* x, int64_t n_begin, int64_t n_end, float* y);
void gemv_f16_avx2(const void* w, int64_t K, const float* x, int64_t n_begin, int64_t n_end, float* y);

}  // namespace fvlm::dec
