#include "decoder/linear.h"

#include <fmt/format.h>

#include "core/error.h"
#include "core/parallel.h"
#include "decoder/gemm.h"
#include "decoder/gemv.h"

namespace fvlm::dec {

namespace {
// Below this many rows of x, streaming W once per row (GEMV) beats packing for a GEMM.
constexpr int64_t kGemmMinRows = 4;
// Weight rows per parallel chunk of a GEMV: enough to amortise the fork, small enough to balance.
constexpr int64_t kGemvGrain = 64;
}  // namespace

Tensor leading_rows(const Tensor& W, int64_t rows) {
  FVLM_CHECK(rows > 0 && rows <= W.dim(0), fmt::format("leading_rows {} of {}", rows, shape_str(W.shape())));
  return Tensor::view(W.dtype(), {rows, W.dim(1)}, W.data(), nullptr);
}

void linear(const float* x, int64_t M, const Tensor& W, const float* bias, float* y) {
  FVLM_CHECK(W.rank() == 2, "linear: weight must be [N, K]");
  const int64_t N = W.dim(0), K = W.dim(1);
  switch (W.dtype()) {
    case DType::F32: case DType::BF16: case DType::F16: break;
    case DType::Q8_0: case DType::Q4_0:   // TODO(lead): quant::matmul_quant(x, M, K, W, y)
    default:
      throw Error(Errc::kUnsupported, fmt::format("linear: {} weights are not supported yet", dtype_name(W.dtype())));
  }
  if (M >= kGemmMinRows) {
    gemm_xwt(x, M, K, W, y, N);
  } else {
    const GemvFn gemv = best_gemv(W.dtype()).fn;
    for (int64_t m = 0; m < M; ++m)
      parallel_for(N, kGemvGrain, [&](int64_t b, int64_t e) { gemv(W.data(), K, x + m * K, b, e, y + m * N); });
  }
  if (bias)
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) y[m * N + n] += bias[n];
}

}  // namespace fvlm::dec
