#include "decoder/linear.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/error.h"
#include "core/parallel.h"
#include "decoder/gemm.h"
#include "decoder/gemv.h"
#include "decoder/linear_int8.h"
#include "quant/bf16_rows.h"
#include "quant/matmul_quant.h"
#include "quant/packed.h"

namespace fvlm::dec {

namespace {
// Weight rows per parallel chunk of a GEMV: enough to amortise the fork, small enough to balance.
constexpr int64_t kGemvGrain = 64;
// A bf16 weight panel holds at most this many values (128 MB): the 0.5B's largest matrix (4.4M) in
// one piece, the 7B MLP (68M) in two.
constexpr int64_t kMaxBf16PanelValues = int64_t(64) << 20;
}  // namespace

Tensor leading_rows(const Tensor& W, int64_t rows) {
  FVLM_CHECK(rows > 0 && rows <= W.dim(0), fmt::format("leading_rows {} of {}", rows, shape_str(W.shape())));
  return Tensor::view(W.dtype(), {rows, W.dim(1)}, W.data(), nullptr);
}

namespace {
void check_supported(const Tensor& W) {
  FVLM_CHECK(W.rank() == 2, "linear: weight must be [N, K]");
  switch (W.dtype()) {
    case DType::F32:
    case DType::BF16:
    case DType::F16:
      return;
    case DType::Q8_0:
    case DType::Q4_0:  // int8 kernels on quantised activations (quant/), see linear_multi
    case DType::Q8_0_R16:
    case DType::Q4_0_R16:
      return;
    default:
      throw Error(Errc::kUnsupported,
                  fmt::format("linear: {} weights are not supported yet", dtype_name(W.dtype())));
  }
}

void add_bias(int64_t M, int64_t N, const float* bias, float* y) {
  if (!bias) return;
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) y[m * N + n] += bias[n];
}

// x rounded to bf16 once for all outputs; each weight used in place when it is BF16, else converted
// panel by panel (rows_to_bf16, over the threads) into the session's reused buffer just before its
// matmul: the memory of one panel instead of a bf16 copy of the model (bench/README.md).
void linear_bf16(const float* x, int64_t M, std::span<const LinearOut> outs, GemmScratch& scratch) {
  const int64_t K = outs[0].W->dim(1);
  MatmulScratch& s = scratch.mm_scratch;
  if (int64_t(s.x.size()) < M * K) s.x.resize(size_t(M * K));
  quant::round_to_bf16(x, M * K, s.x.data());
  for (const LinearOut& o : outs) {
    const Tensor& W = *o.W;
    FVLM_CHECK(W.dim(1) == K, "linear: K mismatch");
    const int64_t N = W.dim(0);
    if (W.dtype() == DType::BF16) {
      scratch.bf16->run(s.x.data(), M, K, static_cast<const uint16_t*>(W.data()), N, o.bias, o.y, N, s);
      continue;
    }
    const int64_t rows = std::min(N, std::max<int64_t>(16, kMaxBf16PanelValues / K));
    if (int64_t(s.w.size()) < rows * K) s.w.resize(size_t(rows * K));
    for (int64_t n0 = 0; n0 < N; n0 += rows) {
      const int64_t n1 = std::min(N, n0 + rows);
      parallel_for(n1 - n0, 8,
                   [&](int64_t b, int64_t e) { quant::rows_to_bf16(W, n0 + b, n0 + e, s.w.data() + b * K); });
      scratch.bf16->run(s.x.data(), M, K, s.w.data(), n1 - n0, o.bias ? o.bias + n0 : nullptr, o.y + n0, N,
                        s);
    }
  }
}

// The same on the packed bf16 copies (PrefillMatmul::packed); false, having done nothing, while some
// matrix has none (the first time it is seen, or past the budget).
bool linear_bf16_packed(const float* x, int64_t M, std::span<const LinearOut> outs, GemmScratch& scratch) {
  const PackedWeights* packed[4];
  FVLM_CHECK(outs.size() <= std::size(packed), "linear: too many outputs");
  bool all = true;
  for (size_t i = 0; i < outs.size(); ++i) all &= (packed[i] = scratch.bf16->packed(*outs[i].W)) != nullptr;
  if (!all) return false;
  const int64_t K = outs[0].W->dim(1);
  MatmulScratch& s = scratch.mm_scratch;
  if (int64_t(s.x.size()) < M * K) s.x.resize(size_t(M * K));
  quant::round_to_bf16(x, M * K, s.x.data());
  for (size_t i = 0; i < outs.size(); ++i)
    scratch.bf16->run(s.x.data(), M, *packed[i], outs[i].bias, outs[i].y, packed[i]->n, s);
  return true;
}
}  // namespace

void linear(const float* x, int64_t M, const Tensor& W, const float* bias, float* y, GemmScratch& scratch) {
  const LinearOut one{&W, bias, y};
  linear_multi(x, M, {&one, 1}, scratch);
}

void linear(const float* x, int64_t M, const Tensor& W, const float* bias, float* y) {
  GemmScratch scratch;
  linear(x, M, W, bias, y, scratch);
}

void linear_multi(const float* x, int64_t M, std::span<const LinearOut> outs, GemmScratch& scratch) {
  bool quantised = false, packed = true;
  for (const LinearOut& o : outs) {
    check_supported(*o.W);
    quantised |= quant::is_block_quantized(o.W->dtype());
    packed = packed && quant::is_packed(o.W->dtype());
  }
  // From this many rows of x a GEMM (bf16, or f32 on widened weights) takes over. Never for packed
  // weights converted per call: their int8 kernels match that bf16 GEMM at 280-1100 rows and run 2.3x
  // its speed at 48-96, where widening the weights dominates (bench/README.md, "Packed weights").
  // Bf16 weights packed once (AMX) need no widening: from kBf16PackedMinRows rows they take over.
  if (M >= kInt8MinRows && scratch.int8 && linear_int8(x, M, outs, scratch)) return;
  if (M >= kBf16PackedMinRows && scratch.bf16 && scratch.bf16->packs() &&
      linear_bf16_packed(x, M, outs, scratch))
    return;
  const int64_t gemm_rows = packed ? INT64_MAX : quantised ? kDequantGemmMinRows : kGemmMinRows;
  if (scratch.bf16 && M >= gemm_rows) {
    linear_bf16(x, M, outs, scratch);
    return;
  }
  // Enough tokens share each weight matrix: widen (dequantise) it to f32 once and run sgemm.
  if (M >= gemm_rows) {
    for (const LinearOut& o : outs) {
      gemm_xwt(x, M, o.W->dim(1), *o.W, o.y, o.W->dim(0), scratch);
      add_bias(M, o.W->dim(0), o.bias, o.y);
    }
    return;
  }
  if (quantised) {  // few tokens: int8 dot products, all quantised matrices in one pass
    std::vector<quant::QuantOut> q;
    for (const LinearOut& o : outs) {
      if (quant::is_block_quantized(o.W->dtype()))
        q.push_back({o.W, o.y});
      else
        linear(x, M, *o.W, nullptr, o.y, scratch);
    }
    quant::matmul_quant_multi(x, M, outs[0].W->dim(1), q);
    for (const LinearOut& o : outs) add_bias(M, o.W->dim(0), o.bias, o.y);
    return;
  }
  if (M < kGemmMinRows) {
    linear_rows(x, M, outs);
    return;
  }
  for (int64_t m = 0; m < M; ++m)
    parallel_for_parts(
        outs, [](const LinearOut& o) { return o.W->dim(0); }, kGemvGrain,
        [&](const LinearOut& o, int64_t lo, int64_t hi) {
          const int64_t N = o.W->dim(0), K = o.W->dim(1);
          best_gemv(o.W->dtype()).fn(o.W->data(), K, x + m * K, lo, hi, o.y + m * N);
        });
  for (const LinearOut& o : outs) add_bias(M, o.W->dim(0), o.bias, o.y);
}

void linear_rows(const float* x, int64_t M, std::span<const LinearOut> outs) {
  std::vector<quant::QuantOut> q;
  std::vector<LinearOut> wide;
  for (const LinearOut& o : outs) {
    check_supported(*o.W);
    if (quant::is_block_quantized(o.W->dtype()))
      q.push_back({o.W, o.y});
    else
      wide.push_back(o);
  }
  // The int8 kernels give each (x row, weight row) the same sum for any number of x rows (their
  // tiles only change which pairs share registers), and quantise each x row on its own.
  if (!q.empty()) quant::matmul_quant_multi(x, M, outs[0].W->dim(1), q);
  if (!wide.empty())
    parallel_for_parts(
        wide, [](const LinearOut& o) { return o.W->dim(0); }, kGemvGrain,
        [&](const LinearOut& o, int64_t lo, int64_t hi) {
          const int64_t N = o.W->dim(0), K = o.W->dim(1);
          gemv_rows(best_gemv(o.W->dtype()).fn, o.W->data(), o.W->dtype(), K, x, M, lo, hi, o.y, N);
        });
  for (const LinearOut& o : outs) add_bias(M, o.W->dim(0), o.bias, o.y);
}

}  // namespace fvlm::dec
