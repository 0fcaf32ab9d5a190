// encoder/: resolutions other than the model's, batching, and agreement with a naive scalar forward.
#include <doctest/doctest.h>

#include <fmt/format.h>

#include "core/error.h"
#include "tests/blocks/encoder_fixture.h"
#include "tests/blocks/naive_fastvithd.h"

using namespace fvlm;

namespace {
// Deterministic pixels in [0, 1): [batch, 3, r, r].
Tensor random_pixels(int64_t batch, int64_t r, uint32_t seed) {
  Tensor t = Tensor::zeros(DType::F32, {batch, 3, r, r});
  uint32_t s = seed;
  for (int64_t i = 0; i < t.numel(); ++i)
    t.f32()[i] = float((s = s * 1664525u + 1013904223u) >> 8) / float(1 << 24);
  return t;
}

Tensor rows(const Tensor& t, int64_t begin, int64_t end) {
  Tensor out = Tensor::zeros(DType::F32, {end - begin, t.dim(1)});
  std::copy(t.f32() + begin * t.dim(1), t.f32() + end * t.dim(1), out.f32());
  return out;
}

}  // namespace

TEST_CASE("encoder: 320 px on the tiny model: batch of 2 == two batches of 1 == naive scalar forward") {
  test::TinyEncoder m;
  const int64_t r = 320, tokens = m.cfg.vision.tokens_for(r), c = m.cfg.mm_hidden_size;
  REQUIRE(r != m.cfg.vision.image_size);
  const Tensor pixels = random_pixels(2, r, 7);
  const Tensor both = m.backend->encode(pixels);
  REQUIRE(both.shape() == Shape{2 * tokens, c});
  const Tensor both_proj = m.backend->project(both);
  for (int64_t b = 0; b < 2; ++b) {
    CAPTURE(b);
    Tensor one_px = Tensor::zeros(DType::F32, {1, 3, r, r});
    std::copy(pixels.f32() + b * 3 * r * r, pixels.f32() + (b + 1) * 3 * r * r, one_px.f32());
    const Tensor one = m.backend->encode(one_px);
    const test::Diff d = test::compare(rows(both, b * tokens, (b + 1) * tokens), one);
    MESSAGE("batch vs single, image ", b, ": ", test::describe(d));
    CHECK(test::within_vision_tol(d));
    const test::Diff dp =
        test::compare(rows(both_proj, b * tokens, (b + 1) * tokens), m.backend->project(one));
    CHECK(test::within_vision_tol(dp));
  }
  // Naive scalar forward of image 1, compared token by token.
  const enc::FastVitHdWeights w = enc::bind_fastvithd(m.cfg.vision, m.tensors);
  test::Chw x{3, r, r, std::vector<float>(pixels.f32() + 3 * r * r, pixels.f32() + 6 * r * r)};
  const test::Chw ref = test::naive_fastvithd(w, x);
  REQUIRE(ref.c == c);
  REQUIRE(ref.h * ref.w == tokens);
  Tensor ref_tokens = Tensor::zeros(DType::F32, {tokens, c});
  for (int64_t k = 0; k < c; ++k)
    for (int64_t p = 0; p < tokens; ++p) ref_tokens.f32()[p * c + k] = ref.v[k * tokens + p];
  const test::Diff dn = test::compare(rows(both, tokens, 2 * tokens), ref_tokens);
  MESSAGE("oneDNN vs naive scalar at 320 px: ", test::describe(dn));
  CHECK(test::within_vision_tol(dn));
}

TEST_CASE("encoder: resolutions that are not a multiple of 64 and bad pixel shapes are user errors") {
  test::TinyEncoder m;
  CHECK_THROWS_AS(m.backend->encode(random_pixels(1, 300, 1)), Error);
  CHECK_THROWS_AS(m.backend->encode(Tensor::zeros(DType::F32, {1, 4, 64, 64})), Error);
  CHECK_THROWS_AS(m.backend->encode(Tensor::zeros(DType::F32, {1, 3, 64, 128})), Error);
  CHECK_THROWS_AS(m.backend->project(Tensor::zeros(DType::F32, {4, 3})), Error);
  CHECK(m.backend->encode(random_pixels(1, 64, 1)).shape() == Shape{1, m.cfg.mm_hidden_size});  // 1 token
}

TEST_CASE(
    "encoder: later resolutions and batches, and plans rebuilt after release_weights, match a fresh "
    "backend") {
  test::TinyEncoder m;  // weights bound deferred: packed from the checkpoint as plans need them
  const int64_t golden_r = m.cfg.vision.image_size, c = m.cfg.mm_hidden_size;
  const Tensor golden_px = test::golden_pixels("square");
  const Tensor ref = read_npy(test::golden("tiny/encoder/square.image_features.npy"));
  CHECK(test::within_vision_tol(test::compare(m.backend->encode(golden_px), ref)));
  const int64_t packed = m.backend->packed_weight_bytes();
  CHECK(packed > 0);
  // New plans reuse packed layouts or pack new ones from the checkpoint: either way the features
  // equal those of a fresh backend's.
  for (const auto& [r, batch] : {std::pair<int64_t, int64_t>{320, 1}, {192, 2}, {golden_r, 3}}) {
    CAPTURE(r);
    CAPTURE(batch);
    const Tensor px = random_pixels(batch, r, uint32_t(r + batch));
    const Tensor got = m.backend->encode(px);
    test::TinyEncoder fresh;
    const Tensor want = fresh.backend->encode(px);
    REQUIRE(got.shape() == Shape{batch * m.cfg.vision.tokens_for(r), c});
    const test::Diff d = test::compare(got, want);
    MESSAGE(r, " px x ", batch, " vs a fresh backend: ", test::describe(d));
    CHECK(d.max_abs == 0.0);  // same packed values, same primitives: bit-identical
  }
  MESSAGE("packed ", m.backend->packed_weight_bytes(), " bytes (first plan ", packed, ")");
  // The first resolution again after the others: still the golden; and again after everything was
  // released (what a one-image `ask` does once encoded): bit-identical to before.
  m.backend->release_scratch();
  const Tensor before = m.backend->encode(golden_px);
  CHECK(test::within_vision_tol(test::compare(before, ref)));
  m.backend->release_weights();
  CHECK(m.backend->packed_weight_bytes() == 0);
  CHECK(test::compare(m.backend->encode(golden_px), before).max_abs == 0.0);
}
