#include "decoder/gemm.h"

#include <fmt/format.h>
#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <vector>

#include "core/error.h"
#include "core/parallel.h"
#include "quant/dequantize.h"

namespace fvlm::dec {

namespace {
int64_t panel_rows(int64_t K) { return std::max<int64_t>(16, kMaxPanelFloats / K); }

// y[M, n_rows] = x . w^T for an f32 panel w [n_rows, K].
void sgemm_xwt(const float* x, int64_t M, int64_t K, const float* w, int64_t n_rows, float* y, int64_t ldy) {
  const dnnl_status_t st = dnnl_sgemm('N', 'T', M, n_rows, K, 1.0f, x, K, w, K, 0.0f, y, ldy);
  if (st != dnnl_success) throw Error(Errc::kInternal, fmt::format("dnnl_sgemm failed ({})", int(st)));
}
}  // namespace

void gemm_xwt(const float* x, int64_t M, int64_t K, const Tensor& W, float* y, int64_t ldy,
              GemmScratch& scratch) {
  const int64_t N = W.dim(0);
  FVLM_CHECK(W.dim(1) == K, "gemm: K mismatch");
  if (W.dtype() == DType::F32) {
    sgemm_xwt(x, M, K, W.f32(), N, y, ldy);
    return;
  }
  const int64_t rows = panel_rows(K);
  std::vector<float>& panel = scratch.panel;
  if (panel.size() < size_t(std::min(rows, N) * K)) panel.resize(size_t(std::min(rows, N) * K));
  for (int64_t n0 = 0; n0 < N; n0 += rows) {
    const int64_t n1 = std::min(N, n0 + rows);
    parallel_for(n1 - n0, 8,
                 [&](int64_t b, int64_t e) { quant::rows_to_f32(W, n0 + b, n0 + e, panel.data() + b * K); });
    sgemm_xwt(x, M, K, panel.data(), n1 - n0, y + n0, ldy);
  }
}

void gemm_xwt_ref(const float* x, int64_t M, int64_t K, const Tensor& W, float* y, int64_t ldy) {
  const int64_t N = W.dim(0);
  std::vector<float> row(static_cast<size_t>(K));
  for (int64_t n = 0; n < N; ++n) {
    quant::rows_to_f32(W, n, n + 1, row.data());
    for (int64_t m = 0; m < M; ++m) {
      float acc = 0.f;
      for (int64_t k = 0; k < K; ++k) acc += x[m * K + k] * row[k];
      y[m * ldy + n] = acc;
    }
  }
}

}  // namespace fvlm::dec
