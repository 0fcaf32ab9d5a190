// The opt-in INT8 encoder (VisionPrecision::kInt8) against our FP32 path on every golden image:
// image features and projector output. The golden model has random weights: these bounds say the
// INT8 arithmetic is sound, not what accuracy real checkpoints get.
#include <doctest/doctest.h>

#include <random>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "tests/blocks/encoder_fixture.h"

using namespace fvlm;

namespace {
const char* const kImages[] = {"square", "wide", "tall", "tiny", "gray", "rgba"};
}  // namespace

// Measured on the tiny model (the MESSAGE lines): features cosine 0.99799-0.99863, max rel 0.049-0.085;
// projected cosine 0.99756-0.99852, max rel 0.058-0.107 (max rel = max |int8 - f32| / max |f32|).
// Bounds keep a margin but catch a broken kernel, as measured: dropping the zero-point correction
// gives cosines ~0.19; 8-bit weights (127), whose u8 x s8 pairs saturate AVX2's int16 sums, 0.81-0.98.
TEST_CASE("encoder int8: features and projection stay close to the FP32 path on every golden image") {
  test::TinyEncoder m;
  enc::CpuVisionBackend int8(m.rt, vision_config(m.cfg), m.tensors, enc::VisionPrecision::kInt8);
  for (const std::string img : kImages) {
    CAPTURE(img);
    const auto [df, dp] = test::diff_from_f32(m, int8, img);
    CHECK(df.cosine >= 0.996);
    CHECK(df.max_abs / df.max_ref <= 0.15);
    CHECK(dp.cosine >= 0.995);
    CHECK(dp.max_abs / dp.max_ref <= 0.2);
  }
}

// The INT8 weights are quantised once, when the first plan is built, and kept (by the weight's
// stable key) after the F32 sources are dropped: later plans at another resolution and batch give
// exactly what a backend that never dropped anything gives.
TEST_CASE("encoder int8: plans built after the F32 sources are dropped match a fresh backend") {
  test::TinyEncoder m;
  enc::CpuVisionBackend used(m.rt, vision_config(m.cfg), m.tensors, enc::VisionPrecision::kInt8);
  (void)used.encode(test::golden_pixels("square"));  // first plan: binds, quantises, drops F32
  for (const auto& [r, batch] : {std::pair<int64_t, int64_t>{320, 1}, {192, 2}}) {
    CAPTURE(r);
    Tensor px = Tensor::zeros(DType::F32, {batch, 3, r, r});
    std::mt19937 rng{static_cast<uint32_t>(r)};
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    for (int64_t i = 0; i < px.numel(); ++i) px.f32()[i] = u(rng);
    const Tensor got = used.encode(px);
    enc::CpuVisionBackend fresh(m.rt, vision_config(m.cfg), m.tensors, enc::VisionPrecision::kInt8);
    const Tensor want = fresh.encode(px);
    REQUIRE(got.shape() == want.shape());
    CHECK(test::compare(got, want).max_abs == 0.0);
  }
}
