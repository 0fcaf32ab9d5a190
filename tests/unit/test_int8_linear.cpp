// encoder/int8_rows (AVX2 vs the scalar specification, bit for bit) and encoder/int8_linear (the whole
// INT8 Linear against float64 math on the same quantised operands), odd sizes and chunk tails included.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "core/cpu_features.h"
#include "core/runtime.h"
#include "encoder/int8_linear.h"
#include "encoder/int8_rows.h"

using namespace fvlm;

namespace {
std::vector<float> randu(size_t n, uint32_t seed, float lo, float hi) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = u(g);
  return v;
}
}  // namespace

TEST_CASE("int8 rows: quantize_rows_u8 keeps zero exact and every value within half a step") {
  const int64_t rows = 4, k = 37;
  std::vector<float> x = randu(size_t(rows * k), 1, -2, 5);
  for (int64_t i = 0; i < k; ++i) x[size_t(k + i)] = 0.5f + float(i);            // all positive: lo = 0
  for (int64_t i = 0; i < k; ++i) x[size_t(2 * k + i)] = -0.25f * float(i + 1);  // all negative: hi = 0
  for (int64_t i = 0; i < k; ++i) x[size_t(3 * k + i)] = 0.0f;                   // all zero
  std::vector<uint8_t> q(x.size());
  std::vector<float> s(rows);
  std::vector<int32_t> z(rows);
  enc::quantize_rows_u8(x.data(), rows, k, q.data(), s.data(), z.data());
  CHECK(z[1] == 0);
  CHECK(z[2] == 255);
  CHECK(s[3] == 1.0f);
  for (int64_t m = 0; m < rows; ++m)
    for (int64_t i = 0; i < k; ++i) {
      const float back = s[m] * float(int(q[m * k + i]) - z[m]);
      REQUIRE(std::abs(back - x[m * k + i]) <= 0.5f * s[m] * 1.0001f + 1e-6f);
      if (x[m * k + i] == 0.0f) REQUIRE(int(q[m * k + i]) == z[m]);
    }
}

TEST_CASE("int8 rows: quantize_weights_s7 stays within [-63, 63] and sums its rows") {
  const int64_t n = 5, k = 19;
  std::vector<float> w = randu(size_t(n * k), 2, -1, 1);
  for (int64_t i = 0; i < k; ++i) w[size_t(4 * k + i)] = 0.0f;
  std::vector<int8_t> q(w.size());
  std::vector<float> s(n);
  std::vector<int32_t> sum(n);
  enc::quantize_weights_s7(w.data(), n, k, q.data(), s.data(), sum.data());
  CHECK(s[4] == 1.0f);
  for (int64_t j = 0; j < n; ++j) {
    int32_t t = 0, amax = 0;
    for (int64_t i = 0; i < k; ++i) {
      const int v = q[j * k + i];
      REQUIRE(std::abs(v) <= enc::kInt8WeightMax);
      REQUIRE(std::abs(s[j] * float(v) - w[j * k + i]) <= 0.5f * s[j] * 1.0001f);
      t += v;
      amax = std::max(amax, std::abs(v));
    }
    CHECK(sum[j] == t);
    if (j < 4) CHECK(amax == enc::kInt8WeightMax);
  }
}

TEST_CASE("int8 rows: every quantise and dequantise variant is bit-identical to the scalar reference") {
  for (const Variant<enc::QuantizeRowsU8Fn>& v : enc::quantize_rows_u8_variants()) {
    if (!cpu_has(v.feature)) {
      MESSAGE("skip variant '", v.name, "': this CPU lacks ", cpu_feature_name(v.feature));
      continue;
    }
    for (int64_t k : {1, 7, 8, 9, 31, 96, 301}) {
      CAPTURE(v.name);
      CAPTURE(k);
      const int64_t rows = 5;
      const std::vector<float> x = randu(size_t(rows * k), uint32_t(k), -3, 7);
      std::vector<uint8_t> qa(x.size()), qb(x.size());
      std::vector<float> sa(rows), sb(rows);
      std::vector<int32_t> za(rows), zb(rows);
      enc::quantize_rows_u8(x.data(), rows, k, qa.data(), sa.data(), za.data());
      v.fn(x.data(), rows, k, qb.data(), sb.data(), zb.data());
      CHECK(qa == qb);
      CHECK(std::memcmp(sa.data(), sb.data(), sa.size() * sizeof(float)) == 0);
      CHECK(za == zb);
    }
  }
  for (const Variant<enc::DequantizeRowsS32Fn>& v : enc::dequantize_rows_s32_variants()) {
    if (!cpu_has(v.feature)) continue;  // reported above (same features)
    for (int64_t n : {1, 7, 8, 13, 300})
      for (const bool bias : {false, true})
        for (const bool accumulate : {false, true}) {
          CAPTURE(v.name);
          CAPTURE(n);
          const int64_t rows = 3;
          std::vector<int32_t> acc(static_cast<size_t>(rows * n)), colsum(static_cast<size_t>(n)),
              rz{0, 17, 255};
          std::mt19937 g{static_cast<uint32_t>(n)};
          for (int32_t& a : acc) a = int32_t(g() % 2000001) - 1000000;
          for (int32_t& c : colsum) c = int32_t(g() % 4001) - 2000;
          const std::vector<float> rs = randu(3, 5, 0.001f, 0.1f), cs = randu(size_t(n), 6, 0.001f, 0.05f),
                                   b = randu(size_t(n), 7, -1, 1), base = randu(size_t(rows * n), 8, -1, 1);
          const enc::DequantArgs a{rs.data(), rz.data(), cs.data(), colsum.data(), bias ? b.data() : nullptr,
                                   accumulate};
          std::vector<float> ya = base, yb = base;
          enc::dequantize_rows_s32(acc.data(), rows, n, a, ya.data());
          v.fn(acc.data(), rows, n, a, yb.data());
          CHECK(std::memcmp(ya.data(), yb.data(), ya.size() * sizeof(float)) == 0);
        }
  }
}

// Whole INT8 Linear vs float64 math on the very operands it quantised (scalar reference quantisers):
// checks the GEMM, the zero-point correction, the scales, bias, GELU / accumulate and the row chunks.
// Rows of constant maxima against weights of +-63 make every u8 x s8 pair 255 x 63: with 8-bit
// weights (127) the AVX2 int16 pair sums would saturate and this would fail.
TEST_CASE("int8 linear: run_int8_linear equals float64 math on its quantised operands") {
  Runtime rt(2);
  const int64_t m = 600, n = 4096, k = 33;  // chunks of 256 rows: 256 + 256 + 88
  std::vector<float> x = randu(size_t(m * k), 11, -1, 3), wv = randu(size_t(n * k), 12, -0.5f, 0.5f);
  for (int64_t i = 0; i < k; ++i) x[size_t(i)] = 4.0f;   // row 0: all q = 255
  for (int64_t i = 0; i < k; ++i) wv[size_t(i)] = 0.5f;  // channel 0: all q = 63
  Tensor w = Tensor::zeros(DType::F32, {n, k}), b = Tensor::zeros(DType::F32, {n});
  std::memcpy(w.f32(), wv.data(), wv.size() * sizeof(float));
  const std::vector<float> bv = randu(size_t(n), 13, -1, 1);
  std::memcpy(b.f32(), bv.data(), bv.size() * sizeof(float));
  auto qw = std::make_shared<const enc::Int8Weights>(enc::quantize_linear_weights(w, b));
  std::vector<uint8_t> qa(x.size());
  std::vector<float> sa(m);
  std::vector<int32_t> za(m);
  enc::quantize_rows_u8(x.data(), m, k, qa.data(), sa.data(), za.data());
  auto ws = std::make_shared<enc::Int8Workspace>();
  for (int mode = 0; mode < 3; ++mode) {  // 0 plain, 1 GELU, 2 accumulate
    CAPTURE(mode);
    const enc::Int8LinearPlan p = enc::make_int8_linear_plan(rt, qw, ws, m, mode == 1, mode == 2);
    REQUIRE(p.chunk_rows < m);
    const std::vector<float> base = randu(size_t(m * n), 14, -1, 1);
    std::vector<float> y = base;
    enc::run_int8_linear(rt, p, x.data(), y.data());
    double worst = 0;
    for (int64_t r = 0; r < m; ++r)
      for (int64_t j = 0; j < n; ++j) {
        int64_t dot = 0;
        for (int64_t i = 0; i < k; ++i) dot += (int64_t(qa[r * k + i]) - za[r]) * qw->q[size_t(j * k + i)];
        double v = double(sa[r]) * qw->scale[size_t(j)] * double(dot) + bv[size_t(j)];
        if (mode == 1) v = 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)));
        if (mode == 2) v += base[size_t(r * n + j)];
        worst = std::max(worst, std::abs(y[size_t(r * n + j)] - v) / std::max(1.0, std::abs(v)));
      }
    MESSAGE("mode ", mode, " max rel err ", worst);
    CHECK(worst < 1e-5);
  }
}
