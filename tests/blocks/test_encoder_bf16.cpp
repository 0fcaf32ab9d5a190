// The bf16 encoder (VisionPrecision::kBf16: Linear / 1x1 / attention matmuls as oneDNN bf16 x bf16 -> F32
// primitives) against our FP32 path on every golden image. Issue 12's bar: features cosine >= 0.9999.
// Where oneDNN 2.6 has no bf16 matmul (below AVX-512) the test reports "SKIPPED:" and ctest marks it
// skipped (tests/CMakeLists.txt), never a silent pass.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <string>

#include "core/error.h"
#include "core/parallel.h"
#include "encoder/vision_precision.h"
#include "tests/blocks/encoder_fixture.h"

using namespace fvlm;

TEST_CASE("encoder bf16: features and projection stay close to the FP32 path on every golden image") {
  const enc::Bf16Support support = enc::bf16_support();
  if (support == enc::Bf16Support::kNone) {
    MESSAGE("SKIPPED: oneDNN has no bf16 matmul on this CPU (needs AVX-512)");
    return;
  }
  MESSAGE("bf16 in oneDNN: ", enc::bf16_support_name(support));
  test::TinyEncoder m;
  enc::CpuVisionBackend bf16(m.rt, vision_config(m.cfg), m.tensors, enc::VisionPrecision::kBf16);
  REQUIRE(bf16.precision() == enc::VisionPrecision::kBf16);
  for (const std::string img : test::kGoldenImages) {
    CAPTURE(img);
    const auto [df, dp] = test::diff_from_f32(m, bf16, img);
    CHECK(df.max_abs > 0.0);  // bf16 really ran (an F32 fallback would match exactly)
    CHECK(df.cosine >= 0.9999);
    CHECK(dp.cosine >= 0.9999);
    CHECK(df.max_abs / df.max_ref <= 0.03);  // measured 0.003-0.004 (features), 0.006-0.008 (projected)
    CHECK(dp.max_abs / dp.max_ref <= 0.03);
  }
}

// A batch of two images (anyres tiles run so) gives each image what it gets alone: the per-image
// offsets into the bf16 qkv / attention buffers are in bf16 elements.
TEST_CASE("encoder bf16: a batch of two images matches each image encoded alone") {
  if (enc::bf16_support() == enc::Bf16Support::kNone) {
    MESSAGE("SKIPPED: oneDNN has no bf16 matmul on this CPU (needs AVX-512)");
    return;
  }
  test::TinyEncoder m;
  enc::CpuVisionBackend bf16(m.rt, vision_config(m.cfg), m.tensors, enc::VisionPrecision::kBf16);
  const Tensor p0 = test::golden_pixels("square"), p1 = test::golden_pixels("wide");
  Shape s2 = p0.shape();
  s2[0] = 2;
  Tensor both = Tensor::zeros(DType::F32, s2);
  std::copy_n(p0.f32(), p0.numel(), both.f32());
  std::copy_n(p1.f32(), p1.numel(), both.f32() + p0.numel());
  const Tensor f = bf16.encode(both), f0 = bf16.encode(p0), f1 = bf16.encode(p1);
  REQUIRE(f.numel() == f0.numel() + f1.numel());
  const test::Diff d0 = test::compare(f.f32(), f0.f32(), long(f0.numel()));
  const test::Diff d1 = test::compare(f.f32() + f0.numel(), f1.f32(), long(f1.numel()));
  MESSAGE(fmt::format("batch vs alone: cosine {:.8f} / {:.8f}", d0.cosine, d1.cosine));
  CHECK(d0.cosine >= 0.99999);
  CHECK(d1.cosine >= 0.99999);
  CHECK(d0.max_abs / d0.max_ref <= 0.01);
  CHECK(d1.max_abs / d1.max_ref <= 0.01);
}

// The bf16 hand-over between fc1 and fc2 (the hidden chunk is bf16) must hold for chunks with a tail:
// 100-row chunks against the whole map, as test_encoder.cpp does for F32 / INT8. Where a ConvFFN has
// two chunks per thread they run as thread blocks, which must give the bits of the chunks run in turn.
TEST_CASE(
    "encoder bf16: ConvFFN in row chunks (with a tail) matches the whole-map plan, thread blocks bit for "
    "bit") {
  if (enc::bf16_support() == enc::Bf16Support::kNone) {
    MESSAGE("SKIPPED: oneDNN has no bf16 matmul on this CPU (needs AVX-512)");
    return;
  }
  test::TinyEncoder m;
  const enc::FastVitHdWeights w = enc::bind_fastvithd(m.cfg.vision, m.tensors);
  const int64_t r = m.cfg.vision.image_size;
  const Tensor px = test::golden_pixels("square");
  enc::WeightCache wc;
  enc::EncoderScratch scratch;
  const auto bf16 = enc::VisionPrecision::kBf16;
  const enc::FastVitHdPlan whole = enc::make_fastvithd_plan(m.rt, wc, w, r, 1, bf16);
  const enc::FastVitHdPlan chunked = enc::make_fastvithd_plan(m.rt, wc, w, r, 1, bf16, 100);
  int64_t stage0_rows = 0;  // rows of the first ConvFFN: more than one chunk, with a tail
  for (const enc::StagePlan& st : chunked.network)
    if (!st.repmixer.empty() && stage0_rows == 0) stage0_rows = st.repmixer.front().ffn.rows;
  REQUIRE(stage0_rows > 100);
  REQUIRE(stage0_rows % 100 != 0);
  const Shape shape{whole.out_hw * whole.out_hw, whole.out_c};
  Tensor a = Tensor::zeros(DType::F32, shape), b = Tensor::zeros(DType::F32, shape);
  enc::fastvithd_forward(m.rt, w, whole, scratch, px.f32(), a.f32());
  enc::fastvithd_forward(m.rt, w, chunked, scratch, px.f32(), b.f32());
  const test::Diff d = test::compare(b, a);
  MESSAGE(
      fmt::format("bf16 chunked vs whole: cosine {:.8f} max rel {:.6f}", d.cosine, d.max_abs / d.max_ref));
  CHECK(d.cosine >= 0.99999);
  CHECK(d.max_abs / d.max_ref <= 0.01);

  const enc::FastVitHdPlan in_turn = enc::make_fastvithd_plan(m.rt, wc, w, r, 1, bf16, 100, false);
  int with_blocks = 0, with_tail = 0;
  for (size_t i = 0; i < chunked.network.size(); ++i)
    for (size_t j = 0; j < chunked.network[i].repmixer.size(); ++j) {
      const enc::ConvFfnPlan& f = chunked.network[i].repmixer[j].ffn;
      CHECK(in_turn.network[i].repmixer[j].ffn.threads == 0);
      CHECK(f.threads == (f.rows >= 2 * num_threads() * 100 ? num_threads() : 0));
      with_blocks += f.threads > 0;
      with_tail += f.threads > 0 && f.rows % 100 != 0;
    }
  MESSAGE(with_blocks, " ConvFFNs on thread blocks, ", with_tail, " with a tail, ", num_threads(),
          " threads");
  REQUIRE(with_tail > 0);
  Tensor c = Tensor::zeros(DType::F32, shape);
  enc::fastvithd_forward(m.rt, w, in_turn, scratch, px.f32(), c.f32());
  CHECK(test::compare(b, c).max_abs == 0.0);  // the same primitives on the same rows, one thread or all
}

// auto picks bf16 exactly where oneDNN runs it natively (AMX or AVX512_BF16), f32 elsewhere; concrete
// choices pass through.
TEST_CASE("vision precision: names round-trip, auto resolves by the CPU's bf16 tier") {
  for (const std::string& name : enc::vision_precision_names())
    CHECK(enc::vision_precision_name(enc::parse_vision_precision(name)) == name);
  CHECK_THROWS_AS(enc::parse_vision_precision("fp16"), Error);
  const bool native =
      enc::bf16_support() == enc::Bf16Support::kAmx || enc::bf16_support() == enc::Bf16Support::kNative;
  CHECK(enc::resolve_vision_precision(enc::VisionPrecision::kAuto) ==
        (native ? enc::VisionPrecision::kBf16 : enc::VisionPrecision::kF32));
  CHECK(enc::resolve_vision_precision(enc::VisionPrecision::kInt8) == enc::VisionPrecision::kInt8);
  CHECK(enc::resolve_vision_precision(enc::VisionPrecision::kBf16) == enc::VisionPrecision::kBf16);
}
