// The int8 prefill (--llm-precision int8): prefill matmuls as oneDNN s8 x s8 -> s32 primitives on
// copies of the weights requantised per row (PrefillMatmul with MatmulOperands::kS8), activations
// quantised per row (a scale per token, quant/s8_rows.h) at each call:
//   y[m, n] = xs[m] * ws[n] * sum_k qx[m, k] qw[n, k] + b[n]  (+ x's outlier columns in f32:
//   decoder/int8_outliers.h)
// linear_int8 returns false, having done nothing, when a matrix has no s8 copy (past the budget):
// the caller then runs its other path.
#pragma once
#include <cstdint>
#include <span>

#include "core/tensor.h"
#include "decoder/gemm.h"
#include "decoder/linear.h"

namespace fvlm::dec {

// linear_multi's int8 path: each of `outs` from one quantisation of x.
bool linear_int8(const float* x, int64_t M, std::span<const LinearOut> outs, GemmScratch& scratch);

}  // namespace fvlm::dec
