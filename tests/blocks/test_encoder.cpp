// encoder/: FastViTHD + projector on oneDNN against the PyTorch goldens of the tiny model.
#include <doctest/doctest.h>

#include <map>
#include <string>

#include <fmt/format.h>

#include "core/parallel.h"
#include "encoder/fastvithd.h"
#include "encoder/int8_linear.h"
#include "encoder/vision_precision.h"
#include "models/tensor_table.h"
#include "tests/blocks/encoder_fixture.h"

using namespace fvlm;

TEST_CASE("encoder: image features and projector output match the goldens for every image") {
  test::TinyEncoder m;
  for (const std::string img : test::kGoldenImages) {
    CAPTURE(img);
    const Tensor feats = enc::encode_image(*m.backend, test::golden_pixels(img), false);
    const Tensor ref = read_npy(test::golden("tiny/encoder/" + img + ".image_features.npy"));
    REQUIRE(feats.shape() == ref.shape());
    const test::Diff df = test::compare(feats, ref);
    MESSAGE(img, " image_features ", test::describe(df));
    CHECK(test::within_vision_tol(df));

    const Tensor proj = m.backend->project(feats);
    const Tensor pref = read_npy(test::golden("tiny/encoder/" + img + ".projected.npy"));
    REQUIRE(proj.shape() == pref.shape());
    const test::Diff dp = test::compare(proj, pref);
    MESSAGE(img, " projected      ", test::describe(dp));
    CHECK(test::within_vision_tol(dp));
  }
}

TEST_CASE("encoder: every intermediate tap of square matches, first divergence named") {
  test::TinyEncoder m;
  std::map<std::string, Tensor> taps;
  m.backend->set_tap(
      [&](std::string_view name, const Tensor& bhwc) { taps[std::string(name)] = test::image_chw(bhwc, 0); });
  m.backend->encode(test::golden_pixels("square"));
  // stem, network_00 .. network_NN, conv_exp: one per golden file, in forward order.
  std::vector<std::string> names{"stem"};
  const size_t n_network = fastvithd_network_layout(m.cfg.vision).size();
  for (size_t i = 0; i < n_network; ++i) names.push_back(fmt::format("network_{:02d}", i));
  names.push_back("conv_exp");
  std::string first_bad;
  for (const std::string& name : names) {
    CAPTURE(name);
    REQUIRE(taps.count(name));
    const Tensor ref = read_npy(test::golden("tiny/encoder/intermediate/square." + name + ".npy"));
    REQUIRE(taps[name].shape() == ref.shape());
    const test::Diff d = test::compare(taps[name], ref);
    MESSAGE(name, ": ", test::describe(d));
    if (!test::within_vision_tol(d) && first_bad.empty()) first_bad = name;
  }
  CHECK_MESSAGE(first_bad.empty(), "first tap outside tolerance: ", first_bad);
}

TEST_CASE("encoder: ConvFFN in row chunks (with a tail) matches the goldens, F32 and INT8 plans") {
  // The production chunk (~16 MB of hidden) covers the tiny model's whole map; force 100-row
  // chunks so that every ConvFFN runs several chunks and a shorter tail.
  test::TinyEncoder m;
  const enc::FastVitHdWeights w = enc::bind_fastvithd(m.cfg.vision, m.tensors);
  const int64_t r = m.cfg.vision.image_size;
  const Tensor px = test::golden_pixels("square");
  const Tensor ref = read_npy(test::golden("tiny/encoder/square.image_features.npy"));
  for (const enc::VisionPrecision precision : {enc::VisionPrecision::kF32, enc::VisionPrecision::kInt8}) {
    enc::WeightCache wc;
    enc::EncoderScratch scratch;
    // INT8 plans chunk by one block unless told otherwise: the whole map is one huge chunk here
    const int64_t one_chunk = precision == enc::VisionPrecision::kInt8 ? int64_t(1) << 40 : 0;
    const enc::FastVitHdPlan whole = enc::make_fastvithd_plan(m.rt, wc, w, r, 1, precision, one_chunk);
    const enc::FastVitHdPlan chunked = enc::make_fastvithd_plan(m.rt, wc, w, r, 1, precision, 100);
    if (precision == enc::VisionPrecision::kInt8) {  // the default INT8 chunk: one block
      const enc::FastVitHdPlan automatic = enc::make_fastvithd_plan(m.rt, wc, w, r, 1, precision);
      for (const enc::StagePlan& st : automatic.network)
        for (const enc::RepMixerBlockPlan& b : st.repmixer)
          CHECK(b.ffn.chunk_rows == std::min(b.ffn.rows, enc::kInt8BlockRows));
    }
    int64_t stage0_rows = 0, chunk0 = 0;  // the first ConvFFN: more than one chunk (F32: with a tail)
    for (const enc::StagePlan& st : chunked.network)
      if (!st.repmixer.empty() && stage0_rows == 0) {
        stage0_rows = st.repmixer.front().ffn.rows;
        chunk0 = st.repmixer.front().ffn.chunk_rows;
      }
    REQUIRE(stage0_rows > 100);
    if (precision == enc::VisionPrecision::kF32) {
      REQUIRE(chunk0 == 100);
      REQUIRE(stage0_rows % 100 != 0);
    } else {  // INT8 chunks are whole quantisation blocks (encoder/int8_linear.h), still several
      REQUIRE(chunk0 == enc::kInt8BlockRows);
      REQUIRE(stage0_rows > chunk0);
    }
    CHECK(chunked.scratch.hidden < whole.scratch.hidden);
    if (precision == enc::VisionPrecision::kInt8) {  // INT8 chunks run as thread blocks where each
      int with_blocks = 0;                           // thread gets two: their bits are checked below
      for (const enc::StagePlan& st : chunked.network)
        for (const enc::RepMixerBlockPlan& b : st.repmixer) {
          CHECK(b.ffn.threads == (b.ffn.rows >= 2 * num_threads() * b.ffn.chunk_rows ? num_threads() : 0));
          with_blocks += b.ffn.threads > 0;
        }
      for (const enc::StagePlan& st : whole.network)
        for (const enc::RepMixerBlockPlan& b : st.repmixer) CHECK(b.ffn.threads == 0);
      REQUIRE(with_blocks > 0);
    }
    Tensor a = Tensor::zeros(DType::F32, ref.shape()), b = Tensor::zeros(DType::F32, ref.shape());
    enc::fastvithd_forward(m.rt, w, whole, scratch, px.f32(), a.f32());
    enc::fastvithd_forward(m.rt, w, chunked, scratch, px.f32(), b.f32());
    const test::Diff d = test::compare(b, a);
    MESSAGE(enc::vision_precision_name(precision), " chunked vs whole: ", test::describe(d));
    if (precision == enc::VisionPrecision::kF32) {
      CHECK(test::within_vision_tol(test::compare(b, ref)));
      CHECK(test::within_vision_tol(d));
    } else {
      CHECK(d.max_abs == 0.0);  // INT8: the same blocks, ranges and int32 sums, chunked or not
    }
  }
}
