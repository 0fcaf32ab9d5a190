// encoder/: FastViTHD + projector on oneDNN against the PyTorch goldens of the tiny model.
#include <doctest/doctest.h>

#include <map>
#include <string>

#include <fmt/format.h>

#include "models/tensor_table.h"
#include "tests/blocks/encoder_fixture.h"

using namespace fvlm;

namespace {
const char* const kImages[] = {"square", "wide", "tall", "tiny", "gray", "rgba"};

std::string describe(const test::Diff& d) {
  return fmt::format("max_abs {:.3g} max_ref {:.3g} rel {:.3g} cosine {:.9f}", d.max_abs, d.max_ref,
                     d.max_abs / std::max(1.0, d.max_ref), d.cosine);
}
}  // namespace

TEST_CASE("encoder: image features and projector output match the goldens for every image") {
  test::TinyEncoder m;
  for (const std::string img : kImages) {
    CAPTURE(img);
    const Tensor feats = enc::encode_image(*m.backend, test::golden_pixels(img), false);
    const Tensor ref = read_npy(test::golden("tiny/encoder/" + img + ".image_features.npy"));
    REQUIRE(feats.shape() == ref.shape());
    const test::Diff df = test::compare(feats, ref);
    MESSAGE(img, " image_features ", describe(df));
    CHECK(test::within_vision_tol(df));

    const Tensor proj = m.backend->project(feats);
    const Tensor pref = read_npy(test::golden("tiny/encoder/" + img + ".projected.npy"));
    REQUIRE(proj.shape() == pref.shape());
    const test::Diff dp = test::compare(proj, pref);
    MESSAGE(img, " projected      ", describe(dp));
    CHECK(test::within_vision_tol(dp));
  }
}

TEST_CASE("encoder: every intermediate tap of square matches, first divergence named") {
  test::TinyEncoder m;
  std::map<std::string, Tensor> taps;
  m.backend->set_tap([&](std::string_view name, const Tensor& bhwc) {
    taps[std::string(name)] = test::image_chw(bhwc, 0);
  });
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
    MESSAGE(name, ": ", describe(d));
    if (!test::within_vision_tol(d) && first_bad.empty()) first_bad = name;
  }
  CHECK_MESSAGE(first_bad.empty(), "first tap outside tolerance: ", first_bad);
}
