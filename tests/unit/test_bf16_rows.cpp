// quant/bf16_rows: every variant of the bf16 conversions (activations, F32/F16/BF16/Q8_0/Q4_0 weight
// rows) bit-identical to the scalar reference, and the reference itself = core/half.h f32_to_bf16 of
// what rows_to_f32 gives (round to nearest even, ties to even, NaN kept a NaN).
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "core/dispatch.h"
#include "core/half.h"
#include "quant/bf16_rows.h"
#include "quant/dequantize.h"
#include "quant/matmul_quant.h"

using namespace fvlm;
using namespace fvlm::quant;

namespace {
float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Random values over many magnitudes, plus the cases rounding gets wrong: exact ties (odd and even
// lower halves), values just around a tie, infinities, NaNs, denormals, the largest finite floats.
std::vector<float> tricky_floats(size_t n_random) {
  std::vector<float> v = {0.0f,
                          -0.0f,
                          1.0f,
                          from_bits(0x3f808000u),  // 1 + 2^-8: a tie, rounds down to even 0x3f80
                          from_bits(0x3f818000u),  // a tie above an odd bf16: rounds up to 0x3f82
                          from_bits(0x3f808001u),  // just above a tie: up
                          from_bits(0x3f807fffu),  // just below a tie: down
                          std::numeric_limits<float>::infinity(),
                          -std::numeric_limits<float>::infinity(),
                          std::numeric_limits<float>::quiet_NaN(),
                          from_bits(0x7f800001u),  // signalling NaN: must stay a NaN (not become inf)
                          from_bits(0xff81ffffu),
                          std::numeric_limits<float>::denorm_min(),
                          -from_bits(0x00408000u),
                          std::numeric_limits<float>::max(),  // rounds up to inf, as PyTorch does
                          -std::numeric_limits<float>::max(),
                          from_bits(0x7f7f7fffu)};
  std::mt19937 rng(3);
  std::uniform_int_distribution<uint32_t> bits;
  std::normal_distribution<float> normal(0.0f, 3.0f);
  for (size_t i = 0; i < n_random; ++i) v.push_back(i % 2 ? normal(rng) : from_bits(bits(rng)));
  return v;
}

bool same_bf16(uint16_t a, uint16_t b) {
  const bool nan_a = (a & 0x7fff) > 0x7f80, nan_b = (b & 0x7fff) > 0x7f80;
  return nan_a || nan_b ? nan_a && nan_b && a == b : a == b;
}

Tensor random_matrix(int64_t rows, int64_t cols, uint32_t seed) {
  Tensor w = Tensor::zeros(DType::F32, {rows, cols});
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  for (int64_t i = 0; i < w.numel(); ++i) w.f32()[i] = normal(rng);
  w.f32()[5] = 0.0f;  // an all-but-zero block edge case inside a block
  return w;
}
}  // namespace

TEST_CASE("bf16 rows: the reference rounds to nearest even (ties to even), NaN stays NaN") {
  const float in[] = {1.0f,
                      from_bits(0x3f808000u),
                      from_bits(0x3f818000u),
                      from_bits(0x3f808001u),
                      std::numeric_limits<float>::max(),
                      from_bits(0x7f800001u)};
  uint16_t out[6];
  f32_to_bf16_ref(in, 6, out);
  CHECK(out[0] == 0x3f80);
  CHECK(out[1] == 0x3f80);  // tie, lower half even: down
  CHECK(out[2] == 0x3f82);  // tie, lower half odd: up
  CHECK(out[3] == 0x3f81);
  CHECK(out[4] == 0x7f80);            // overflow to +inf
  CHECK((out[5] & 0x7fff) > 0x7f80);  // still a NaN
}

TEST_CASE("bf16 rows: every f32 -> bf16 variant is bit-identical to the reference") {
  const std::vector<float> x = tricky_floats(4000);
  std::vector<uint16_t> ref(x.size()), got(x.size());
  f32_to_bf16_ref(x.data(), int64_t(x.size()), ref.data());
  for (const auto& v : f32_to_bf16_variants()) {
    if (!isa_allowed(v.feature)) {
      MESSAGE("SKIPPED variant ", std::string(v.name), ": the CPU lacks ",
              std::string(cpu_feature_name(v.feature)));
      continue;
    }
    CAPTURE(v.name);
    for (int64_t n : {int64_t(x.size()), int64_t(17), int64_t(15), int64_t(1)}) {  // tails too
      std::fill(got.begin(), got.end(), uint16_t(0xdead));
      v.fn(x.data(), n, got.data());
      for (int64_t i = 0; i < n; ++i) REQUIRE(same_bf16(got[size_t(i)], ref[size_t(i)]));
      if (n < int64_t(got.size())) CHECK(got[size_t(n)] == 0xdead);  // nothing written past n
    }
  }
}

TEST_CASE("bf16 rows: Q8_0 / Q4_0 variants bit-identical to the reference = bf16(dequantised f32)") {
  const int64_t rows = 7, cols = 256;
  const Tensor w = random_matrix(rows, cols, 11);
  for (DType t : {DType::Q8_0, DType::Q4_0}) {
    CAPTURE(dtype_name(t));
    const Tensor q = quantize(w, t);
    std::vector<float> f32(size_t(rows * cols));
    rows_to_f32(q, 0, rows, f32.data());
    std::vector<uint16_t> spec(f32.size()), got(f32.size());
    for (size_t i = 0; i < f32.size(); ++i) spec[i] = f32_to_bf16(f32[i]);
    const auto check_variants = [&](auto variants, const auto* blocks) {
      for (const auto& v : variants) {
        if (!isa_allowed(v.feature)) continue;
        CAPTURE(v.name);
        std::fill(got.begin(), got.end(), uint16_t(0));
        v.fn(blocks, rows * cols, got.data());
        CHECK(std::memcmp(got.data(), spec.data(), spec.size() * 2) == 0);
      }
    };
    if (t == DType::Q8_0)
      check_variants(q8_0_to_bf16_variants(), static_cast<const BlockQ8_0*>(q.data()));
    else
      check_variants(q4_0_to_bf16_variants(), static_cast<const BlockQ4_0*>(q.data()));
  }
}

TEST_CASE("bf16 rows: rows_to_bf16 of every weight dtype = bf16(rows_to_f32), any row range") {
  const int64_t rows = 9, cols = 64;
  const Tensor w = random_matrix(rows, cols, 5);
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0}) {
    CAPTURE(dtype_name(t));
    const Tensor m = t == DType::F32 ? w : quantize(w, t);
    for (const auto& [r0, r1] : {std::pair<int64_t, int64_t>{0, rows}, {3, 4}, {2, 8}}) {
      std::vector<float> f32(size_t((r1 - r0) * cols));
      rows_to_f32(m, r0, r1, f32.data());
      std::vector<uint16_t> got(f32.size());
      rows_to_bf16(m, r0, r1, got.data());
      for (size_t i = 0; i < f32.size(); ++i) REQUIRE(got[i] == f32_to_bf16(f32[i]));
    }
  }
  CHECK_THROWS(rows_to_bf16(Tensor::zeros(DType::I32, {2, 32}), 0, 1, nullptr));
}

TEST_CASE("bf16 rows: round_to_bf16 over the threads equals the reference") {
  const std::vector<float> x = tricky_floats(200000);
  std::vector<uint16_t> ref(x.size()), got(x.size());
  f32_to_bf16_ref(x.data(), int64_t(x.size()), ref.data());
  round_to_bf16(x.data(), int64_t(x.size()), got.data());
  for (size_t i = 0; i < x.size(); ++i) REQUIRE(same_bf16(got[i], ref[i]));
}
