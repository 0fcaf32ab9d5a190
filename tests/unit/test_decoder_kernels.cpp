// Decoder kernels: every variant against its scalar reference, at real Qwen2 sizes and odd tails.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/bf16_support.h"
#include "core/error.h"
#include "core/half.h"
#include "core/widen.h"
#include "decoder/activations.h"
#include "decoder/attention.h"
#include "decoder/attention_bf16.h"
#include "decoder/attention_kernels.h"
#include "decoder/gemm.h"
#include "decoder/gemv.h"
#include "decoder/linear.h"
#include "decoder/rms_norm.h"
#include "decoder/rope.h"
#include "quant/matmul_quant.h"

using namespace fvlm;
using namespace fvlm::dec;

namespace {
constexpr double kTolDot = 2e-5;  // relative to sum |w||x| of the dot product (f32 reordering)

std::vector<float> random_floats(int64_t n, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = u(rng);
  return v;
}

// A [N, K] matrix of random values stored as `dt`.
Tensor random_matrix(DType dt, int64_t N, int64_t K, uint32_t seed) {
  const std::vector<float> v = random_floats(N * K, seed);
  Tensor t = Tensor::zeros(dt, {N, K});
  for (int64_t i = 0; i < N * K; ++i) {
    if (dt == DType::F32)
      t.f32()[i] = v[size_t(i)];
    else if (dt == DType::BF16)
      static_cast<uint16_t*>(t.mutable_data())[i] = f32_to_bf16(v[size_t(i)]);
    else
      static_cast<uint16_t*>(t.mutable_data())[i] = f32_to_f16(v[size_t(i)]);
  }
  return t;
}

// Whether this CPU runs the variant; says so when it does not (the test then covers less).
template <class Fn>
bool variant_runs(const Variant<Fn>& v) {
  if (cpu_has(v.feature)) return true;
  MESSAGE("skip variant '", v.name, "': this CPU lacks ", cpu_feature_name(v.feature));
  return false;
}
}  // namespace

TEST_CASE("gemv: every variant matches ref (F32, BF16, F16 - real sizes and tails)") {
  for (DType dt : {DType::F32, DType::BF16, DType::F16})
    for (int64_t K : {1, 15, 16, 17, 33, 64, 896, 4864})
      for (int64_t N : {1, 3, 4, 5, 9, 128, 131}) {
        const Tensor w = random_matrix(dt, N, K, uint32_t(N * 7919 + K));
        const std::vector<float> x = random_floats(K, uint32_t(K));
        std::vector<float> ref(static_cast<size_t>(N)), got(static_cast<size_t>(N));
        gemv_variants(dt)[0].fn(w.data(), K, x.data(), 0, N, ref.data());
        const Tensor wf = to_f32(w);
        for (const GemvVariant& v : gemv_variants(dt)) {
          if (!variant_runs(v)) continue;
          // Split the row range as parallel_for would: [0, N/2) and [N/2, N).
          std::fill(got.begin(), got.end(), NAN);
          v.fn(w.data(), K, x.data(), 0, N / 2, got.data());
          v.fn(w.data(), K, x.data(), N / 2, N, got.data());
          for (int64_t n = 0; n < N; ++n) {
            double scale = 0;
            for (int64_t k = 0; k < K; ++k) scale += std::fabs(wf.f32()[n * K + k] * x[size_t(k)]);
            CAPTURE(dtype_name(dt));
            CAPTURE(v.name);
            CAPTURE(N);
            CAPTURE(K);
            CAPTURE(n);
            CHECK(std::fabs(got[size_t(n)] - ref[size_t(n)]) <= kTolDot * (scale + 1e-30));
          }
        }
      }
}

TEST_CASE("gemv_rows: every row equals the one-row GEMV exactly (every variant, F32, BF16, F16)") {
  // The batched decode's bar: a sequence's values must not depend on how many rows share the call.
  for (DType dt : {DType::F32, DType::BF16, DType::F16})
    for (int64_t K : {17, 64, 896})
      for (int64_t N : {5, 131})
        for (int64_t M : {1, 2, 3, 7}) {
          const Tensor w = random_matrix(dt, N, K, uint32_t(N * 31 + K));
          const std::vector<float> x = random_floats(M * K, uint32_t(M * 7 + K));
          for (const GemvVariant& v : gemv_variants(dt)) {
            if (!variant_runs(v)) continue;
            CAPTURE(v.name);
            CAPTURE(dtype_name(dt));
            CAPTURE(K);
            CAPTURE(N);
            CAPTURE(M);
            const int64_t ldy = N + 3;  // a row stride wider than N
            std::vector<float> got(size_t(M * ldy), NAN);
            gemv_rows(v.fn, w.data(), dt, K, x.data(), M, 0, N / 2, got.data(), ldy);  // thread split
            gemv_rows(v.fn, w.data(), dt, K, x.data(), M, N / 2, N, got.data(), ldy);
            for (int64_t m = 0; m < M; ++m) {
              std::vector<float> one(size_t(N), NAN);
              v.fn(w.data(), K, x.data() + m * K, 0, N, one.data());
              CHECK(std::equal(one.begin(), one.end(), got.begin() + m * ldy));
            }
          }
        }
}

TEST_CASE("linear_rows: each of M rows equals linear() on that row alone (F32, BF16, Q8_0, Q4_0, bias)") {
  const int64_t K = 96, N = 70, M = 6;
  const std::vector<float> x = random_floats(M * K, 5);
  const std::vector<float> bias = random_floats(N, 6);
  for (DType dt : {DType::F32, DType::BF16, DType::Q8_0, DType::Q4_0}) {
    CAPTURE(dtype_name(dt));
    const Tensor wf = random_matrix(DType::F32, N, K, 9);
    const Tensor w = dt == DType::F32 ? wf : quant::quantize(wf, dt);
    std::vector<float> rows(size_t(M * N));
    const LinearOut out{&w, bias.data(), rows.data()};
    linear_rows(x.data(), M, {&out, 1});
    for (int64_t m = 0; m < M; ++m) {
      std::vector<float> one(static_cast<size_t>(N));
      linear(x.data() + m * K, 1, w, bias.data(), one.data());
      CHECK(std::equal(one.begin(), one.end(), rows.begin() + m * N));
    }
  }
}

TEST_CASE("gemv: BF16 at the 0.5B MLP and output sizes (4864 x 896, 896 x 4864)") {
  for (auto [N, K] : {std::pair<int64_t, int64_t>{4864, 896}, {896, 4864}}) {
    const Tensor w = random_matrix(DType::BF16, N, K, 5);
    const std::vector<float> x = random_floats(K, 6);
    std::vector<float> ref(static_cast<size_t>(N)), got(static_cast<size_t>(N));
    gemv_bf16_ref(w.data(), K, x.data(), 0, N, ref.data());
    best_gemv(DType::BF16).fn(w.data(), K, x.data(), 0, N, got.data());
    double worst = 0;
    for (int64_t n = 0; n < N; ++n)
      worst = std::max(worst, double(std::fabs(got[size_t(n)] - ref[size_t(n)])));
    CAPTURE(N);
    CAPTURE(K);
    CHECK(worst <= 1e-3);  // |y| ~ sqrt(K)/3 ~ 10-25: f32 reordering error ~1e-5
  }
}

TEST_CASE("widen: every BF16/F16 variant is exact (tails included)") {
  for (DType dt : {DType::BF16, DType::F16})
    for (const Variant<WidenFn>& v : widen_variants(dt)) {
      if (!variant_runs(v)) continue;
      for (int64_t n : {0, 1, 7, 8, 9, 899}) {
        const Tensor m = random_matrix(dt, 1, std::max<int64_t>(n, 1), uint32_t(n));
        const auto* src = static_cast<const uint16_t*>(m.data());
        std::vector<float> ref(size_t(n) + 1), got(size_t(n) + 1, NAN);
        widen_variants(dt)[0].fn(src, n, ref.data());
        v.fn(src, n, got.data());
        CAPTURE(dtype_name(dt));
        CAPTURE(v.name);
        CAPTURE(n);
        CHECK(std::equal(ref.begin(), ref.begin() + n, got.begin()));
        CHECK(std::isnan(got[size_t(n)]));  // nothing written past n
      }
    }
}

TEST_CASE("gemm: panels + sgemm match the reference (F32, BF16, F16 - panel boundaries)") {
  for (DType dt : {DType::F32, DType::BF16, DType::F16})
    for (auto [M, N, K] :
         {std::tuple<int64_t, int64_t, int64_t>{4, 7, 16}, {5, 33, 17}, {17, 600, 896}, {9, 61, 4864}}) {
      const Tensor w = random_matrix(dt, N, K, uint32_t(M + N + K));
      const std::vector<float> x = random_floats(M * K, 11);
      std::vector<float> ref(static_cast<size_t>(M * N)), got(static_cast<size_t>(M * N));
      gemm_xwt_ref(x.data(), M, K, w, ref.data(), N);
      GemmScratch scratch;
      gemm_xwt(x.data(), M, K, w, got.data(), N, scratch);
      double worst = 0;
      for (size_t i = 0; i < ref.size(); ++i) worst = std::max(worst, double(std::fabs(got[i] - ref[i])));
      CAPTURE(dtype_name(dt));
      CAPTURE(M);
      CAPTURE(N);
      CAPTURE(K);
      CHECK(worst <= 1e-5 * double(K));
    }
}

TEST_CASE("linear: GEMV and GEMM paths agree, bias added, unknown weight types refused") {
  const int64_t N = 37, K = 96;
  const Tensor w = random_matrix(DType::BF16, N, K, 3);
  const std::vector<float> x = random_floats(8 * K, 4), bias = random_floats(N, 5);
  std::vector<float> y8(static_cast<size_t>(8 * N)), y1(static_cast<size_t>(N)),
      ref(static_cast<size_t>(8 * N));
  linear(x.data(), 8, w, bias.data(), y8.data());  // GEMM path
  gemm_xwt_ref(x.data(), 8, K, w, ref.data(), N);
  for (int64_t m = 0; m < 8; ++m) {
    linear(x.data() + m * K, 1, w, bias.data(), y1.data());  // GEMV path
    for (int64_t n = 0; n < N; ++n) {
      CHECK(std::fabs(y8[size_t(m * N + n)] - (ref[size_t(m * N + n)] + bias[size_t(n)])) < 1e-4);
      CHECK(std::fabs(y1[size_t(n)] - y8[size_t(m * N + n)]) < 1e-4);
    }
  }
  const Tensor q = Tensor::zeros(DType::I32, {4, 32});  // Q8_0/Q4_0 are covered by test_linear_quant.cpp
  std::vector<float> xq(32), yq(4);
  CHECK_THROWS_AS(linear(xq.data(), 1, q, nullptr, yq.data()), Error);
  try {
    linear(xq.data(), 1, q, nullptr, yq.data());
  } catch (const Error& e) {
    CHECK(e.code() == Errc::kUnsupported);
  }
  CHECK(leading_rows(w, 5).dim(0) == 5);

  // linear_multi (one pass over concatenated rows) == separate linear calls, decode and prefill rows.
  const Tensor w2 = random_matrix(DType::F32, 300, K, 8);
  for (int64_t M : {1, 2, 8}) {
    std::vector<float> a(static_cast<size_t>(M * N)), b(static_cast<size_t>(M * 300));
    std::vector<float> ra(a.size()), rb(b.size());
    GemmScratch scratch;
    const LinearOut outs[] = {{&w, bias.data(), a.data()}, {&w2, nullptr, b.data()}};
    linear_multi(x.data(), M, outs, scratch);
    linear(x.data(), M, w, bias.data(), ra.data());
    linear(x.data(), M, w2, nullptr, rb.data());
    CAPTURE(M);
    CHECK(a == ra);
    CHECK(b == rb);
  }
}

TEST_CASE("silu_mul and softmax: every variant matches the std::exp reference (tails included)") {
  for (int64_t n : {1, 7, 8, 9, 4864, 4867}) {
    const std::vector<float> g = random_floats(n, uint32_t(n), -30.f, 30.f),
                             u = random_floats(n, uint32_t(n + 1));
    std::vector<float> ref = g;
    silu_mul_ref(ref.data(), u.data(), n);
    for (const Variant<SiluMulFn>& v : silu_mul_variants()) {
      if (!variant_runs(v)) continue;
      std::vector<float> got = g;
      v.fn(got.data(), u.data(), n);
      CAPTURE(v.name);
      CAPTURE(n);
      for (int64_t i = 0; i < n; ++i)
        CHECK(std::fabs(got[size_t(i)] - ref[size_t(i)]) <= 1e-6 * (1 + std::fabs(ref[size_t(i)])));
    }
    std::vector<float> s = random_floats(n, uint32_t(n + 2), -40.f, 40.f);
    s[0] = 80.f;  // large spread: most terms underflow towards 0
    std::vector<float> sr = s;
    softmax_ref(sr.data(), n);
    for (const Variant<SoftmaxFn>& v : softmax_variants()) {
      if (!variant_runs(v)) continue;
      std::vector<float> sg = s;
      v.fn(sg.data(), n);
      CAPTURE(v.name);
      CAPTURE(n);
      double sum = 0;
      for (int64_t i = 0; i < n; ++i) {
        CHECK(std::fabs(sg[size_t(i)] - sr[size_t(i)]) <= 1e-6 * sr[size_t(i)] + 1e-30);
        sum += sg[size_t(i)];
      }
      CHECK(std::fabs(sum - 1.0) < 1e-5);
    }
  }
}

TEST_CASE("attention kernels: every variant matches ref (head_dim tails, strided rows)") {
  for (int hd : {1, 5, 12, 16, 20, 64, 100, 128})
    for (int64_t n : {1, 3, 4, 5, 9, 281}) {
      const int64_t ld = 2 * hd + 8;  // rows of the KV cache hold every kv head
      const std::vector<float> q = random_floats(hd, 1), k = random_floats(n * ld, 2),
                               p = random_floats(n, 3, 0.f, 1.f);
      std::vector<float> sr(static_cast<size_t>(n)), orf(static_cast<size_t>(hd));
      attn_scores_ref(q.data(), k.data(), ld, n, hd, 0.125f, sr.data());
      attn_weighted_sum_ref(p.data(), k.data(), ld, n, hd, orf.data());
      for (const Variant<AttnScoresFn>& v : attn_scores_variants()) {
        if (!variant_runs(v)) continue;
        std::vector<float> sg(static_cast<size_t>(n) + 1, NAN);
        v.fn(q.data(), k.data(), ld, n, hd, 0.125f, sg.data());
        CAPTURE(v.name);
        CAPTURE(hd);
        CAPTURE(n);
        for (int64_t j = 0; j < n; ++j) CHECK(std::fabs(sg[size_t(j)] - sr[size_t(j)]) < 1e-5);
        CHECK(std::isnan(sg[size_t(n)]));
      }
      for (const Variant<AttnWeightedSumFn>& v : attn_weighted_sum_variants()) {
        if (!variant_runs(v)) continue;
        std::vector<float> og(static_cast<size_t>(hd) + 1, NAN);
        v.fn(p.data(), k.data(), ld, n, hd, og.data());
        CAPTURE(v.name);
        CAPTURE(hd);
        CAPTURE(n);
        for (int d = 0; d < hd; ++d) CHECK(std::fabs(og[size_t(d)] - orf[size_t(d)]) < 1e-5 * double(n));
        CHECK(std::isnan(og[size_t(hd)]));
      }
    }
}

TEST_CASE("rms_norm and rope follow the HF formulas") {
  const int64_t H = 899;
  const std::vector<float> x = random_floats(2 * H, 8), w = random_floats(H, 9);
  std::vector<float> y(static_cast<size_t>(2 * H));
  rms_norm(x.data(), 2, H, w.data(), 1e-6f, y.data());
  for (int64_t t = 0; t < 2; ++t) {
    double ss = 0;
    for (int64_t i = 0; i < H; ++i) ss += double(x[size_t(t * H + i)]) * x[size_t(t * H + i)];
    const double inv = 1.0 / std::sqrt(ss / double(H) + 1e-6);
    for (int64_t i = 0; i < H; ++i)
      CHECK(std::fabs(y[size_t(t * H + i)] - w[size_t(i)] * x[size_t(t * H + i)] * inv) < 1e-5);
  }
  // Rotate-half: pair (i, i + hd/2) of head h at position p turns by p * theta^(-2i/hd).
  const int hd = 64, heads = 3, pos0 = 1000;
  const float theta = 1e6f;
  const RopeTable r = make_rope_table(hd, theta, pos0 + 2);
  std::vector<float> v = random_floats(2 * heads * hd, 10), orig = v;
  apply_rope(r, v.data(), 2, heads, heads * hd, pos0);
  for (int t = 0; t < 2; ++t)
    for (int h = 0; h < heads; ++h)
      for (int i = 0; i < hd / 2; ++i) {
        const double a = (pos0 + t) * std::pow(double(theta), -2.0 * i / hd);
        const size_t o = size_t(t * heads * hd + h * hd);
        const double x1 = orig[o + size_t(i)], x2 = orig[o + size_t(i + hd / 2)];
        CHECK(std::fabs(v[o + size_t(i)] - (x1 * std::cos(a) - x2 * std::sin(a))) < 1e-5);
        CHECK(std::fabs(v[o + size_t(i + hd / 2)] - (x2 * std::cos(a) + x1 * std::sin(a))) < 1e-5);
      }
}

// Three blocks of query rows (bf16_attention_block_rows(7) = 146) behind a 40-token prefix, GQA 7:1
// at the 0.5B head size: the bf16 matmul attention against the f32 row kernels. Rounding q, k, v and the
// probabilities to bf16 (2^-9 relative) leaves the outputs (weighted means of values in [-1, 1])
// within a few 1e-3; a wrong key range or head shows up as errors of 0.1 and more.
TEST_CASE("gqa_causal_attention_bf16 matches the f32 row kernels (prefix, row blocks, GQA)") {
  if (bf16_support() == Bf16Support::kNone) {
    MESSAGE("SKIPPED: oneDNN has no bf16 matmul on this CPU (needs AVX-512)");
    return;
  }
  Qwen2Config c;
  c.hidden_size = 14 * 64;
  c.num_attention_heads = 14;
  c.num_key_value_heads = 2;
  const int pos0 = 40, T = 300, ldq = c.hidden_size;
  KvCache kv(2, pos0 + T, c.kv_dim());
  std::mt19937 g(5);
  std::uniform_real_distribution<float> u(-1, 1);
  for (int layer = 0; layer < 2; ++layer)
    for (int64_t i = 0; i < int64_t(pos0 + T) * c.kv_dim(); ++i) {
      kv.k(layer, 0)[i] = 2 * u(g);  // scores up to ~10: a peaked softmax, as trained models have
      kv.v(layer, 0)[i] = u(g);
    }
  std::vector<float> q(size_t(T) * ldq);
  for (float& x : q) x = 2 * u(g);
  std::vector<float> want(q.size()), got(q.size());
  gqa_causal_attention(q.data(), kv, 1, pos0, T, c, want.data());
  PrefillMatmul mm;
  MatmulScratch ms;
  Bf16AttentionScratch s;
  gqa_causal_attention_bf16(q.data(), kv, 1, pos0, T, c, mm, ms, s, got.data());
  double worst = 0;
  for (size_t i = 0; i < want.size(); ++i) worst = std::max(worst, double(std::abs(got[i] - want[i])));
  MESSAGE("max |bf16 - f32| ", worst);
  CHECK(worst < 2e-2);
  REQUIRE(bf16_attention_block_rows(7) == 146);
  CHECK(mm.calls() == 2 * 2 * 3);  // q k^T and p v for each kv head and block of rows
}
