// encoder/int8_rows and quant/s8_rows (AVX2 vs the scalar specification, bit for bit) and encoder/int8_linear
// (the whole INT8 Linear on its oneDNN primitive against float64 math on the same quantised operands), odd
// sizes and block tails included.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "core/cpu_features.h"
#include "core/runtime.h"
#include "encoder/int8_linear.h"
#include "encoder/int8_rows.h"
#include "quant/s8_rows.h"

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

TEST_CASE("int8 rows: u8_params + quantize_u8 keep zero exact and every value within half a step") {
  const int64_t k = 37;
  for (const int levels : {255, 127}) {
    CAPTURE(levels);
    for (int kind = 0; kind < 4; ++kind) {  // mixed, all positive (lo = 0), all negative (hi = 0), all zero
      CAPTURE(kind);
      std::vector<float> x = randu(size_t(k), 1, -2, 5);
      for (int64_t i = 0; i < k; ++i) {
        if (kind == 1) x[size_t(i)] = 0.5f + float(i);
        if (kind == 2) x[size_t(i)] = -0.25f * float(i + 1);
        if (kind == 3) x[size_t(i)] = 0.0f;
      }
      if (kind == 0) x[3] = 0.0f;
      float lo = 0, hi = 0;
      enc::minmax_f32(x.data(), k, &lo, &hi);
      const enc::U8Params p = enc::u8_params(lo, hi, levels);
      if (kind == 1) CHECK(p.zero == 0);
      if (kind == 2) CHECK(p.zero == levels);
      if (kind == 3) CHECK(p.scale == 1.0f);
      std::vector<uint8_t> q(x.size());
      enc::quantize_u8(x.data(), k, p.inv, p.zero, q.data());
      for (int64_t i = 0; i < k; ++i) {
        REQUIRE(int(q[size_t(i)]) <= levels);
        const float back = p.scale * float(int(q[size_t(i)]) - p.zero);
        REQUIRE(std::abs(back - x[size_t(i)]) <= 0.5f * p.scale * 1.0001f + 1e-6f);
        if (x[size_t(i)] == 0.0f) REQUIRE(int(q[size_t(i)]) == p.zero);
      }
    }
  }
}

// Runs `check` for every quantize_rows_s8 variant this CPU has (the scalar reference first).
template <class Check>
void each_s8_variant(Check check) {
  for (const Variant<quant::QuantizeRowsS8Fn>& v : quant::quantize_rows_s8_variants()) {
    if (!cpu_has(v.feature)) {
      MESSAGE("skip variant '", v.name, "': this CPU lacks ", cpu_feature_name(v.feature));
      continue;
    }
    CAPTURE(v.name);
    check(v.fn);
  }
}

TEST_CASE("s8 rows: quantize_rows_s8 stays within [-127, 127] and uses the whole range") {
  each_s8_variant([](quant::QuantizeRowsS8Fn quantize) {
    const int64_t n = 5, k = 19;
    std::vector<float> w = randu(size_t(n * k), 2, -1, 1);
    for (int64_t i = 0; i < k; ++i) w[size_t(4 * k + i)] = 0.0f;
    std::vector<int8_t> q(w.size());
    std::vector<float> s(n);
    quantize(w.data(), n, k, q.data(), s.data());
    CHECK(s[4] == 1.0f);
    for (int64_t j = 0; j < n; ++j) {
      int32_t amax = 0;
      for (int64_t i = 0; i < k; ++i) {
        const int v = q[j * k + i];
        REQUIRE(std::abs(v) <= quant::kS8Max);
        REQUIRE(std::abs(s[j] * float(v) - w[j * k + i]) <= 0.5f * s[j] * 1.0001f);
        amax = std::max(amax, std::abs(v));
      }
      if (j < 4) CHECK(amax == quant::kS8Max);
    }
  });
}

TEST_CASE("s8 rows: quantize_rows_s8 rounds as std::nearbyint does, halves to even") {
  each_s8_variant([](quant::QuantizeRowsS8Fn quantize) {
    // Rows whose largest weight is 127: inv = 1 and each value lands where it was put, ties included.
    const std::vector<float> row = {127.0f,  0.5f,        1.5f,         2.5f, -0.5f, -1.5f, -2.5f, 126.5f,
                                    -126.5f, 0.49999997f, -0.49999997f, 3.7f, -3.7f, 0.0f,  -0.0f, 64.5f};
    std::vector<float> w = row;
    std::vector<float> more = randu(row.size() * 7, 5, -1, 1);
    w.insert(w.end(), more.begin(), more.end());
    const int64_t k = int64_t(row.size()), n = int64_t(w.size()) / k;
    std::vector<int8_t> q(w.size());
    std::vector<float> s(static_cast<size_t>(n));
    quantize(w.data(), n, k, q.data(), s.data());
    CHECK(s[0] == 1.0f);
    for (int64_t j = 0; j < n; ++j) {
      const float inv = 1.0f / s[size_t(j)];
      for (int64_t i = 0; i < k; ++i) {
        CAPTURE(w[size_t(j * k + i)]);
        const float want = std::clamp(std::nearbyint(w[size_t(j * k + i)] * inv), -127.0f, 127.0f);
        REQUIRE(int(q[size_t(j * k + i)]) == int(want));
      }
    }
    CHECK(int(q[1]) == 0);  // 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, -2.5 -> -2, 126.5 -> 126
    CHECK(int(q[2]) == 2);
    CHECK(int(q[3]) == 2);
    CHECK(int(q[6]) == -2);
    CHECK(int(q[7]) == 126);
  });
}

TEST_CASE("s8 rows: every quantize_rows_s8 variant is bit-identical to the scalar reference") {
  for (int64_t k : {1, 7, 8, 9, 31, 96, 301}) {
    CAPTURE(k);
    const int64_t n = 6;
    std::vector<float> x = randu(size_t(n * k), uint32_t(k), -3, 7);
    for (int64_t i = 0; i < k; ++i) x[size_t(2 * k + i)] = 0.0f;             // an all-zero row
    x[size_t(3 * k)] = 1e6f;                                                 // an outlier in a row
    for (int64_t i = 0; i < k; ++i) x[size_t(4 * k + i)] = float(i) - 0.5f;  // ties
    std::vector<int8_t> want(x.size());
    std::vector<float> want_scale(static_cast<size_t>(n));
    quant::quantize_rows_s8_ref(x.data(), n, k, want.data(), want_scale.data());
    each_s8_variant([&](quant::QuantizeRowsS8Fn quantize) {
      std::vector<int8_t> q(x.size());
      std::vector<float> scale(static_cast<size_t>(n));
      quantize(x.data(), n, k, q.data(), scale.data());
      CHECK(std::memcmp(scale.data(), want_scale.data(), scale.size() * sizeof(float)) == 0);
      CHECK(q == want);
    });
  }
}

TEST_CASE("int8 rows: every minmax and quantise variant is bit-identical to the scalar reference") {
  for (const Variant<enc::MinMaxFn>& v : enc::minmax_f32_variants()) {
    if (!cpu_has(v.feature)) {
      MESSAGE("skip variant '", v.name, "': this CPU lacks ", cpu_feature_name(v.feature));
      continue;
    }
    for (int64_t n : {1, 7, 8, 9, 31, 96, 301}) {
      CAPTURE(v.name);
      CAPTURE(n);
      const std::vector<float> x = randu(size_t(n), uint32_t(n), -3, 7);
      float la = -0.5f, ha = 0.25f, lb = la, hb = ha;  // running values are merged in
      enc::minmax_f32(x.data(), n, &la, &ha);
      v.fn(x.data(), n, &lb, &hb);
      CHECK(la == lb);
      CHECK(ha == hb);
    }
  }
  for (const Variant<enc::QuantizeU8Fn>& v : enc::quantize_u8_variants()) {
    if (!cpu_has(v.feature)) continue;  // reported above (same features)
    for (int64_t n : {1, 7, 8, 9, 31, 96, 301})
      for (const int levels : {255, 127}) {
        CAPTURE(v.name);
        CAPTURE(n);
        const std::vector<float> x = randu(size_t(n), uint32_t(n), -3, 7);
        float lo = 0, hi = 0;
        enc::minmax_f32(x.data(), n, &lo, &hi);
        const enc::U8Params p = enc::u8_params(lo, hi, levels);
        std::vector<uint8_t> qa(x.size()), qb(x.size());
        enc::quantize_u8(x.data(), n, p.inv, p.zero, qa.data());
        v.fn(x.data(), n, p.inv, p.zero, qb.data());
        CHECK(qa == qb);
      }
  }
}

// Whole INT8 Linear vs float64 math on the very operands it quantised (scalar reference quantisers, one
// range per block of rows): checks the primitive's GEMM, zero point, output scales, the scalar
// activation scale, bias, GELU / residual sum (fused or by hand) and the block tail. A block of
// constant maxima against weights of +-127 gives the largest u8 x s8 pairs the tier allows: a
// saturating int16 pair sum would fail this.
TEST_CASE("int8 linear: run_int8_linear equals float64 math on its quantised operands") {
  Runtime rt(2);
  const int64_t m = 600, n = 4096, k = 33, block = 256;  // blocks of 256 rows: 256 + 256 + 88
  std::vector<float> x = randu(size_t(m * k), 11, -1, 3), wv = randu(size_t(n * k), 12, -0.5f, 0.5f);
  for (int64_t i = 0; i < block * k; ++i) x[size_t(i)] = i % 3 ? 4.0f : 0.0f;  // block 0: q in {z, max}
  for (int64_t i = 0; i < k; ++i) wv[size_t(i)] = 0.5f;                        // channel 0: all q = 127
  Tensor w = Tensor::zeros(DType::F32, {n, k}), b = Tensor::zeros(DType::F32, {n});
  std::memcpy(w.f32(), wv.data(), wv.size() * sizeof(float));
  const std::vector<float> bv = randu(size_t(n), 13, -1, 1);
  std::memcpy(b.f32(), bv.data(), bv.size() * sizeof(float));
  auto qw = std::make_shared<const enc::Int8Weights>(enc::quantize_linear_weights(w, b));
  const int levels = enc::int8_activation_levels();
  std::vector<uint8_t> qa(x.size());
  std::vector<enc::U8Params> range;
  for (int64_t r0 = 0; r0 < m; r0 += block) {
    const int64_t rows = std::min(block, m - r0);
    float lo = 0, hi = 0;
    enc::minmax_f32(x.data() + r0 * k, rows * k, &lo, &hi);
    range.push_back(enc::u8_params(lo, hi, levels));
    enc::quantize_u8(x.data() + r0 * k, rows * k, range.back().inv, range.back().zero, qa.data() + r0 * k);
  }
  auto ws = std::make_shared<enc::Int8Workspace>();
  const enc::PackInt8Fn pack = [&](const dnnl::memory::desc& want) {
    return enc::pack_int8_weights(rt, *qw, want);
  };
  for (int mode = 0; mode < 3; ++mode) {  // 0 plain, 1 GELU, 2 accumulate
    CAPTURE(mode);
    const enc::Int8LinearPlan p =
        enc::make_int8_linear_plan(rt, qw, ws, m, mode == 1, mode == 2, pack, block);
    REQUIRE(p.chunk_rows == block);
    MESSAGE("mode ", mode, ": oneDNN kernel ", p.impl,
            std::string(p.sum_by_hand ? " (residual added by hand)" : ""), ", activation levels ", p.levels);
    CHECK(!std::string_view(p.impl).starts_with("ref"));  // a real int8 kernel, not oneDNN's reference
    const std::vector<float> base = randu(size_t(m * n), 14, -1, 1);
    std::vector<float> y = base;
    enc::run_int8_linear(rt, p, x.data(), y.data());
    double worst = 0;
    for (int64_t r = 0; r < m; ++r) {
      const enc::U8Params& a = range[size_t(r / block)];
      for (int64_t j = 0; j < n; ++j) {
        int64_t dot = 0;
        for (int64_t i = 0; i < k; ++i) dot += (int64_t(qa[r * k + i]) - a.zero) * qw->q[size_t(j * k + i)];
        double v = double(a.scale) * qw->scale[size_t(j)] * double(dot) + bv[size_t(j)];
        if (mode == 1) v = 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)));
        if (mode == 2) v += base[size_t(r * n + j)];
        worst = std::max(worst, std::abs(y[size_t(r * n + j)] - v) / std::max(1.0, std::abs(v)));
      }
    }
    MESSAGE("mode ", mode, " max rel err ", worst);
    CHECK(worst < 1e-5);
  }
}
