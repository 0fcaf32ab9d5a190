// GEMM for prefill: y[M, N] = x[M, K] . W^T with W [N, K] row-major (F32, BF16 or F16) and M tokens
// at once. oneDNN's sgemm (JIT AVX2/AVX-512 kernels, OpenMP threads) does the f32 work; 16-bit
// weights are widened to f32 in panels of rows small enough to stay in cache, then multiplied.
// gemm_ref is the plain triple loop that specifies it.
#pragma once
#include <cstdint>

#include "core/tensor.h"

namespace fvlm::dec {

// y has row stride ldy (>= N). Threads inside.
void gemm_xwt(const float* x, int64_t M, int64_t K, const Tensor& W, float* y, int64_t ldy);

// Reference: y[m, n] = sum_k x[m, k] * W[n, k], single-threaded, f32 accumulation in k order.
void gemm_xwt_ref(const float* x, int64_t M, int64_t K, const Tensor& W, float* y, int64_t ldy);

}  // namespace fvlm::dec
