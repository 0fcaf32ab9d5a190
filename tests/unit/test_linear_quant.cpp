// decoder/linear and decoder/embedding with quantised (GGUF) weights: the dispatch reaches the
// int8 kernels and agrees with the F32 path on the dequantised matrix.
#include <doctest/doctest.h>

#include <random>
#include <vector>

#include "decoder/embedding.h"
#include "decoder/linear.h"
#include "quant/blocks.h"
#include "quant/matmul_quant.h"
#include "tests/test_util.h"

using namespace fvlm;

namespace {
Tensor random_matrix(int64_t n, int64_t k, uint32_t seed) {
  Tensor t = Tensor::zeros(DType::F32, {n, k});
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = u(rng);
  return t;
}
}  // namespace

TEST_CASE("linear: Q8_0 and Q4_0 weights match F32 on the dequantised matrix (+bias)") {
  for (DType t : {DType::Q8_0, DType::Q4_0}) {
    const int64_t N = 96, K = 896;
    const Tensor W = quant::quantize(random_matrix(N, K, 1), t);
    REQUIRE(W.dtype() == t);
    const Tensor Wf = quant::dequantize(W);
    std::vector<float> bias(N);
    for (int64_t i = 0; i < N; ++i) bias[i] = 0.01f * float(i);
    for (int64_t M : {1, 5}) {
      const Tensor x = random_matrix(M, K, 7);
      std::vector<float> yq(M * N), yf(M * N);
      dec::linear(x.f32(), M, W, bias.data(), yq.data());
      dec::linear(x.f32(), M, Wf, bias.data(), yf.data());
      // Activations are quantised to int8 blocks too: error ~ |x||w| / 127 per block.
      const test::Diff d = test::compare(yq.data(), yf.data(), long(yq.size()));
      CAPTURE(dtype_name(t));
      CAPTURE(M);
      CHECK(d.cosine > 0.9999);
      CHECK(d.max_abs < 0.05 * std::max(1.0, d.max_ref));
    }
  }
}

TEST_CASE("embedding: rows of a quantised table are its dequantised rows") {
  for (DType t : {DType::Q8_0, DType::Q4_0}) {
    const Tensor table = quant::quantize(random_matrix(50, 64, 3), t);
    const Tensor ref = quant::dequantize(table);
    std::vector<int32_t> ids = {0, 49, 7};
    std::vector<float> out(ids.size() * 64);
    dec::embed_rows(table, ids, out.data());
    for (size_t i = 0; i < ids.size(); ++i)
      for (int j = 0; j < 64; ++j) CHECK(out[i * 64 + j] == ref.f32()[ids[i] * 64 + j]);
  }
}
