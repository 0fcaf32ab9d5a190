// The int8 prefill's pieces (decoder/prefill_matmul.h with s8 operands, decoder/linear_int8.h) against
// plain integer and float64 arithmetic on the same quantised operands, where the int8 prefill runs:
// oneDNN with VNNI (AVX512_VNNI, AVX-VNNI, AMX). Below it oneDNN sums pairs of u8 x s8 products in
// saturating int16, which these operands (rows of +-127) overflow (ONEDNN_MAX_CPU_ISA=AVX2 failed the
// first test before it skipped there): so choose_llm_precision refuses int8 there (checked last).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "core/bf16_support.h"
#include "core/error.h"
#include "core/tensor.h"
#include "decoder/gemm.h"
#include "decoder/linear.h"
#include "decoder/llm_precision.h"
#include "decoder/prefill_matmul.h"
#include "quant/dequantize.h"
#include "quant/matmul_quant.h"
#include "quant/s8_rows.h"
#include "tests/test_util.h"

using namespace fvlm;
using namespace fvlm::dec;

namespace {

bool skip_without_vnni() {
  if (onednn_has_vnni()) return false;
  MESSAGE("SKIPPED: oneDNN has no int8 dot products here (", onednn_isa_name(), "): no int8 prefill");
  return true;
}

}  // namespace

TEST_CASE("prefill matmul s8: exact integer sums, extreme values included, odd shapes") {
  if (skip_without_vnni()) return;
  MESSAGE("oneDNN ISA: ", onednn_isa_name());
  for (const auto& [M, K, N] : {std::tuple{50, 96, 70}, std::tuple{97, 200, 33}, std::tuple{48, 64, 512}}) {
    CAPTURE(M);
    CAPTURE(K);
    CAPTURE(N);
    Tensor w = test::uniform_matrix(N, K, uint32_t(K));
    for (int64_t k = 0; k < K; ++k) w.f32()[k] = (k % 2) ? 1.0f : -1.0f;  // row 0: +-127 once quantised
    for (int64_t k = 0; k < K; ++k) w.f32()[K + k] = 1.0f;                // row 1: all 127
    const PrefillMatmul mm(int64_t(1) << 30, MatmulOperands::kS8);
    const PackedWeights* p = mm.packed(w);
    REQUIRE(p != nullptr);  // s8 packs at the first sighting
    CHECK(mm.packed(w) == p);
    REQUIRE(p->scale.size() == size_t(N));
    std::vector<int8_t> qw(size_t(N * K));
    std::vector<float> ws(static_cast<size_t>(N));
    quant::quantize_rows_s8_ref(w.f32(), N, K, qw.data(), ws.data());
    CHECK(p->scale == ws);  // the same requantisation as the specification
    std::mt19937 g(7);
    std::uniform_int_distribution<int> u(-127, 127);
    std::vector<int8_t> x(size_t(M * K));
    for (auto& v : x) v = int8_t(u(g));
    for (int64_t k = 0; k < K; ++k) x[size_t(k)] = 127, x[size_t(K + k)] = -127;  // extremes in rows 0, 1
    std::vector<int32_t> y(size_t(M * (N + 3)), -1);
    MatmulScratch s;
    mm.run(x.data(), M, *p, y.data(), N + 3, s);  // a row stride past N
    int wrong = 0;
    for (int64_t m = 0; m < M; ++m) {
      for (int64_t n = 0; n < N; ++n) {
        int64_t want = 0;
        for (int64_t k = 0; k < K; ++k) want += int64_t(x[size_t(m * K + k)]) * qw[size_t(n * K + k)];
        wrong += y[size_t(m * (N + 3) + n)] != want;
      }
      for (int64_t n = N; n < N + 3; ++n) wrong += y[size_t(m * (N + 3) + n)] != -1;  // padding untouched
    }
    CHECK(wrong == 0);
    CHECK(mm.calls() == 1);
  }
}

TEST_CASE("linear int8: y = xs[m] * ws[n] * integer sum + b from kInt8MinRows rows, the usual path below") {
  if (skip_without_vnni()) return;
  const int64_t K = 160, N = 72;
  for (const DType dt : {DType::F32, DType::Q8_0}) {
    CAPTURE(dtype_name(dt));
    const Tensor wf = test::uniform_matrix(N, K, 3);
    const Tensor w = dt == DType::F32 ? wf : quant::quantize(wf, dt);
    std::vector<float> wvals(size_t(N * K));
    quant::rows_to_f32(w, 0, N, wvals.data());
    std::vector<int8_t> qw(wvals.size());
    std::vector<float> ws(static_cast<size_t>(N));
    quant::quantize_rows_s8_ref(wvals.data(), N, K, qw.data(), ws.data());
    std::vector<float> bias(static_cast<size_t>(N));
    for (int64_t n = 0; n < N; ++n) bias[size_t(n)] = 0.01f * float(n);
    const PrefillMatmul mm(int64_t(1) << 30, MatmulOperands::kS8);
    for (const int64_t M : {kInt8MinRows - 1, kInt8MinRows, int64_t(131)}) {
      CAPTURE(M);
      Tensor x = test::uniform_matrix(M, K, uint32_t(M));
      for (int64_t k = 0; k < K; ++k) x.f32()[k] *= 50.0f;  // one loud token: its own scale, no one else's
      GemmScratch scratch;
      scratch.int8 = &mm;
      std::vector<float> y(size_t(M * N)), ref(size_t(M * N));
      const int64_t calls = mm.calls();
      linear(x.f32(), M, w, bias.data(), y.data(), scratch);
      linear(x.f32(), M, w, bias.data(), ref.data());  // the FP32 path
      if (M < kInt8MinRows) {
        CHECK(mm.calls() == calls);
        CHECK(y == ref);
        continue;
      }
      CHECK(mm.calls() == calls + 1);
      std::vector<int8_t> qx(size_t(M * K));
      std::vector<float> xs(static_cast<size_t>(M));
      quant::quantize_rows_s8_ref(x.f32(), M, K, qx.data(), xs.data());
      int off = 0;  // results further from the quantised math than the rescale's f32 rounding allows
      double worst_fp32 = 0, scale_fp32 = 0;
      for (int64_t m = 0; m < M; ++m)
        for (int64_t n = 0; n < N; ++n) {
          int64_t dot = 0;
          for (int64_t k = 0; k < K; ++k) dot += int64_t(qx[size_t(m * K + k)]) * qw[size_t(n * K + k)];
          const double product = double(xs[size_t(m)]) * ws[size_t(n)] * double(dot), b = bias[size_t(n)];
          const double got = y[size_t(m * N + n)];
          off += std::abs(got - (product + b)) > 3e-7 * (std::abs(product) + std::abs(b));
          worst_fp32 = std::max(worst_fp32, std::abs(got - ref[size_t(m * N + n)]));
          scale_fp32 = std::max(scale_fp32, double(std::abs(ref[size_t(m * N + n)])));
        }
      MESSAGE("max |int8 - fp32| ", worst_fp32, " of ", scale_fp32);
      CHECK(off == 0);
      CHECK(worst_fp32 > 0);                  // int8 really ran
      CHECK(worst_fp32 < 0.02 * scale_fp32);  // and stays near FP32 (8-bit operands)
    }
  }
}

TEST_CASE(
    "linear int8: a matrix past the s8 budget is never packed, and its linear is exactly the FP32 path's") {
  if (skip_without_vnni()) return;
  const int64_t K = 96, N = 64, M = 60;
  const Tensor w = test::uniform_matrix(N, K, 11), x = test::uniform_matrix(M, K, 12);
  const PrefillMatmul small(1000, MatmulOperands::kS8);  // 64 x 96 s8 = 6 KB > 1000 bytes
  CHECK(small.packed(w) == nullptr);
  CHECK(small.packed(w) == nullptr);
  CHECK(small.packed_bytes() == 0);
  GemmScratch scratch;
  scratch.int8 = &small;
  std::vector<float> y(static_cast<size_t>(M * N)), ref(static_cast<size_t>(M * N));
  linear(x.f32(), M, w, nullptr, y.data(), scratch);
  linear(x.f32(), M, w, nullptr, ref.data());
  CHECK(small.calls() == 0);
  CHECK(y == ref);
}

TEST_CASE("llm precision int8: offered exactly where oneDNN has VNNI, refused with a reason elsewhere") {
  const std::vector<LlmPrecision> runnable = runnable_llm_precisions();
  const bool offered = std::find(runnable.begin(), runnable.end(), LlmPrecision::kInt8) != runnable.end();
  CHECK(offered == onednn_has_vnni());
  if (onednn_has_vnni())
    CHECK(choose_llm_precision(LlmPrecision::kInt8) == LlmPrecision::kInt8);
  else
    CHECK_THROWS_AS(choose_llm_precision(LlmPrecision::kInt8), Error);
}
