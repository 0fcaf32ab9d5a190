// encoder/gelu_bf16.h: every variant this CPU runs, on all 65536 bf16 values (tails and the threaded
// entry too), against float64 GELU and bit for bit against the reference.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "core/half.h"
#include "encoder/gelu_bf16.h"
#include "encoder/vision_kernels.h"

using namespace fvlm;

namespace {

std::vector<uint16_t> every_bf16(int copies) {
  std::vector<uint16_t> x(size_t(copies) << 16);
  for (size_t i = 0; i < x.size(); ++i) x[i] = uint16_t(i);
  return x;
}

// Each result within one rounding to bf16 (half an ulp = 2^-9 relative; 1/256 allows a neighbour)
// plus the f32 formula's absolute error (~1e-7: 1 + erf cancels in the negative tail) of float64
// GELU; NaN stays NaN. Returns the values checked.
int64_t check_against_float64(const std::vector<uint16_t>& got) {
  int64_t checked = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double v = bf16_to_f32(uint16_t(i));
    if (std::isnan(v)) {
      REQUIRE(std::isnan(bf16_to_f32(got[i])));
      continue;
    }
    if (std::isinf(v)) continue;  // inf * 0 at -inf: no finite activation gets there
    const double want = 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)));
    const double out = bf16_to_f32(got[i]);
    CAPTURE(v);
    REQUIRE(std::abs(out - want) <= std::abs(want) * (1.0 / 256) + 2e-6);
    ++checked;
  }
  return checked;
}

}  // namespace

TEST_CASE("gelu_erf_bf16: every variant gives every bf16 its float64 GELU, rounded to bf16") {
  std::vector<uint16_t> ref = every_bf16(1);
  enc::gelu_erf_bf16_ref(ref.data(), int64_t(ref.size()));
  for (const auto& v : enc::gelu_erf_bf16_variants()) {
    if (!isa_allowed(v.feature)) {
      MESSAGE("SKIPPED variant ", std::string(v.name), ": the CPU lacks ",
              std::string(cpu_feature_name(v.feature)));
      continue;
    }
    CAPTURE(v.name);
    std::vector<uint16_t> x = every_bf16(1);
    v.fn(x.data(), int64_t(x.size()));
    CHECK(check_against_float64(x) > 65000);
    for (size_t i = 0; i < x.size(); ++i) {  // every variant is the one table
      CAPTURE(i);
      REQUIRE(x[i] == ref[i]);
    }
    for (int64_t n :
         {int64_t(1), int64_t(15), int64_t(17), int64_t(33)}) {  // tails: nothing past n is touched
      std::vector<uint16_t> t(64, uint16_t(0x3f80));             // 1.0
      v.fn(t.data(), n);
      for (int64_t i = 0; i < 64; ++i) REQUIRE(t[size_t(i)] == (i < n ? ref[0x3f80] : uint16_t(0x3f80)));
    }
  }
}

TEST_CASE("gelu_erf_bf16_inplace (threads, the picked variant) matches float64 GELU") {
  std::vector<uint16_t> x = every_bf16(2);  // past the threads' grain
  enc::gelu_erf_bf16_inplace(x.data(), int64_t(x.size()));
  CHECK(check_against_float64(std::vector<uint16_t>(x.begin(), x.begin() + 65536)) > 65000);
  for (size_t i = 0; i < 65536; ++i) REQUIRE(x[i] == x[i + 65536]);
}

namespace {
// F32 inputs for the F32 variants: every bf16 value, each also nudged just below and above a
// rounding midpoint (the ties go to even), plus NaNs with payloads only below the bf16 bits.
std::vector<float> f32_inputs() {
  std::vector<float> x;
  for (uint32_t h = 0; h < 65536; ++h) {
    for (const uint32_t low : {0x0000u, 0x7fffu, 0x8000u, 0x8001u, 0xffffu}) {
      const uint32_t u = (h << 16) | low;
      float f;
      std::memcpy(&f, &u, 4);
      x.push_back(f);
    }
  }
  return x;
}
}  // namespace

TEST_CASE("gelu_erf_f32_via_bf16: every variant is the table of the value rounded to bf16, bit for bit") {
  const std::vector<float> in = f32_inputs();
  std::vector<float> ref = in;
  enc::gelu_erf_f32_via_bf16_ref(ref.data(), int64_t(ref.size()));
  const uint16_t* table = enc::gelu_erf_bf16_table();
  for (size_t i = 0; i < in.size(); ++i) {  // the spec, spelled out
    const float want = bf16_to_f32(table[f32_to_bf16(in[i])]);
    CAPTURE(i);
    REQUIRE(std::memcmp(&ref[i], &want, 4) == 0);
  }
  for (const auto& v : enc::gelu_erf_f32_via_bf16_variants()) {
    if (!isa_allowed(v.feature)) {
      MESSAGE("SKIPPED variant ", std::string(v.name), ": the CPU lacks ",
              std::string(cpu_feature_name(v.feature)));
      continue;
    }
    CAPTURE(v.name);
    std::vector<float> x = in;
    v.fn(x.data(), int64_t(x.size()));
    REQUIRE(std::memcmp(x.data(), ref.data(), x.size() * 4) == 0);
    for (int64_t n : {int64_t(1), int64_t(7), int64_t(9), int64_t(15), int64_t(17), int64_t(33)}) {
      std::vector<float> t(64, 1.0f);  // tails: nothing past n is touched
      v.fn(t.data(), n);
      for (int64_t i = 0; i < 64; ++i) REQUIRE(t[size_t(i)] == (i < n ? bf16_to_f32(table[0x3f80]) : 1.0f));
    }
  }
  // Against float64 GELU: a bf16 input rounding (2^-9 relative) and the table's output rounding.
  std::vector<float> x = in;
  enc::gelu_erf_f32_via_bf16_inplace(x.data(), int64_t(x.size()));  // threads, the picked variant
  int64_t checked = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    if (!std::isfinite(in[i]) || std::abs(in[i]) > 1e30f) continue;
    CAPTURE(in[i]);
    const double v = in[i], want = 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)));
    // d GELU / dv stays within [-0.17, 1.13]: an input error of |v| 2^-8 moves it by at most 1.13x that
    REQUIRE(std::abs(double(x[i]) - want) <= std::abs(want) / 256 + 1.13 * std::abs(v) / 256 + 2e-6);
    ++checked;
  }
  CHECK(checked > 280000);
}
