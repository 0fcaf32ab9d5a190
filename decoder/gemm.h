// GEMM for prefill: y[M, N] = x[M, K] . W^T with W [N, K] row-major (F32, BF16, F16, Q8_0, Q4_0), M tokens
// at once. oneDNN's sgemm (JIT AVX2/AVX-512 kernels, OpenMP threads) does the f32 work; 16-bit and
// quantised weights are widened (dequantised) to f32 first, a whole matrix at a time (capped at
// kMaxPanelFloats: one sgemm over the whole matrix beats cache-sized panels, bench/README.md), into
// a caller-owned scratch so no page is faulted in per call.
// gemm_ref is the plain triple loop that specifies it.
#pragma once
#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "decoder/prefill_matmul.h"

namespace fvlm::dec {

// Widened-weight buffer, reused across calls (one per session). With `bf16` set (the model's
// --llm-precision resolved to bf16), linear() runs prefill matmuls in bf16 instead; with `int8` set
// (--llm-precision int8), in s8 on packed copies, and `bf16` (when set too) serves the attention
// (decoder/linear.cpp, decoder/qwen2.cpp).
struct GemmScratch {
  std::vector<float> panel;
  const PrefillMatmul* bf16 = nullptr;
  const PrefillMatmul* int8 = nullptr;
  MatmulScratch mm_scratch;
};

inline constexpr int64_t kMaxPanelFloats = int64_t(32) << 20;  // 128 MB of f32: the 7B MLP in 3 panels

// y has row stride ldy (>= N). Threads inside.
void gemm_xwt(const float* x, int64_t M, int64_t K, const Tensor& W, float* y, int64_t ldy,
              GemmScratch& scratch);

// Reference: y[m, n] = sum_k x[m, k] * W[n, k], single-threaded, f32 accumulation in k order.
void gemm_xwt_ref(const float* x, int64_t M, int64_t K, const Tensor& W, float* y, int64_t ldy);

}  // namespace fvlm::dec
