// Opt-in INT8 Linear (1x1 conv) for the vision encoder: y[M, N] = x[M, K] W^T + b, computed as
//   qa = per-row dynamic asymmetric u8 of x (sa[m], za[m]);  qw = per-channel symmetric 7-bit s8 of W (sw[n])
//   acc = qa qw^T in int32 (oneDNN dnnl_gemm_u8s8s32)
//   y = sa[m] sw[n] (acc - za[m] * sum_k qw[n, k]) + b[n]      (rank-1 zero-point correction)
// then GELU (oneDNN eltwise, the same gelu_erf the FP32 path fuses) or a residual accumulate.
// Rows run in chunks so the int32 block stays in cache between the GEMM and the dequantisation.
// Kernels and their scalar references: encoder/int8_rows.h.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "core/runtime.h"
#include "core/tensor.h"

namespace fvlm::enc {

// One weight (and its bias) quantised once at plan time.
struct Int8Weights {
  int64_t n = 0, k = 0;
  std::vector<int8_t> q;     // [n, k]
  std::vector<float> scale;  // sw [n]
  std::vector<int32_t> sum;  // sum_k q[n, k]
  std::vector<float> bias;   // [n] or empty
};
Int8Weights quantize_linear_weights(const Tensor& w, const Tensor& b);

// Scratch of one chunk, shared by every INT8 Linear of a backend (grown to the largest chunk).
struct Int8Workspace {
  std::vector<uint8_t> q;
  std::vector<int32_t> acc;
  std::vector<float> row_scale;
  std::vector<int32_t> row_zero;
};

struct Int8LinearPlan {
  int64_t m = 0, chunk_rows = 0;
  bool gelu = false, accumulate = false;
  std::shared_ptr<const Int8Weights> w;
  std::shared_ptr<Int8Workspace> ws;
  dnnl::eltwise_forward gelu_chunk, gelu_tail;  // GELU over one full chunk / the last partial one
  dnnl::memory::desc chunk_md, tail_md;
};
Int8LinearPlan make_int8_linear_plan(Runtime& rt, std::shared_ptr<const Int8Weights> w,
                                     std::shared_ptr<Int8Workspace> ws, int64_t m, bool gelu,
                                     bool accumulate);
void run_int8_linear(Runtime& rt, const Int8LinearPlan& p, const float* src, float* dst);

}  // namespace fvlm::enc
