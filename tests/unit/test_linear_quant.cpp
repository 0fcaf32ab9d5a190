// decoder/linear and decoder/embedding with quantised (GGUF) weights: the dispatch reaches the
// int8 kernels (few rows) or the dequantise + sgemm path (many rows) and agrees with the F32 path
// on the dequantised matrix; the AVX2 dequantisers are bit-identical to the scalar ones.
#include <doctest/doctest.h>

#include <cstring>
#include <random>
#include <vector>

#include "decoder/embedding.h"
#include "decoder/linear.h"
#include "quant/blocks.h"
#include "quant/dequantize.h"
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
    for (int64_t M : {1, 5, 47, 48, 70}) {  // int8 kernels below 48 rows, dequantise + sgemm from 48
      const Tensor x = random_matrix(M, K, 7);
      std::vector<float> yq(M * N), yf(M * N);
      dec::linear(x.f32(), M, W, bias.data(), yq.data());
      dec::linear(x.f32(), M, Wf, bias.data(), yf.data());
      // Below 48 rows activations are quantised to int8 blocks too: error ~ |x||w| / 127 per block.
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

TEST_CASE("Q4_0 least-squares quantiser: never worse than ggml's reference, same decoding") {
  std::mt19937 rng(11);
  std::normal_distribution<float> g(0.0f, 1.0f);
  for (int trial = 0; trial < 200; ++trial) {
    float x[32];
    for (float& v : x) v = g(rng) * (trial % 7 == 0 ? 10.0f : 1.0f);
    if (trial % 5 == 0) x[trial % 32] *= 8.0f;  // an outlier
    quant::BlockQ4_0 ref, mine;
    quant::quantize_row_q4_0(x, &ref, 32);
    quant::quantize_row_q4_0_min_error(x, &mine, 32);
    float yr[32], ym[32];
    quant::dequantize_row_q4_0(&ref, yr, 32);
    quant::dequantize_row_q4_0(&mine, ym, 32);
    double er = 0, em = 0;
    for (int j = 0; j < 32; ++j) {
      er += double(x[j] - yr[j]) * (x[j] - yr[j]);
      em += double(x[j] - ym[j]) * (x[j] - ym[j]);
    }
    CHECK(em <= er * (1 + 1e-6) + 1e-12);
  }
}

namespace {
// Every variant of one dequantiser table against its reference (table[0]), bit for bit.
template <class Block, class Fn>
void every_dequantize_variant_is_exact(DType t, std::span<const Variant<Fn>> table) {
  for (const Variant<Fn>& v : table) {
    if (!cpu_has(v.feature)) {
      MESSAGE("skip variant '", v.name, "': this CPU lacks ", cpu_feature_name(v.feature));
      continue;
    }
    for (int64_t K : {32, 96, 896}) {
      const int64_t N = 7;
      const Tensor W = quant::quantize(random_matrix(N, K, 11), t);
      const auto* blocks = static_cast<const Block*>(W.data());
      std::vector<float> got(size_t(N * K)), ref(size_t(N * K));
      table[0].fn(blocks, ref.data(), N * K);
      v.fn(blocks, got.data(), N * K);
      CAPTURE(dtype_name(t));
      CAPTURE(v.name);
      CAPTURE(K);
      CHECK(std::memcmp(got.data(), ref.data(), got.size() * sizeof(float)) == 0);
      // dequantize_rows (the picked variant) on a middle range starts at the right block.
      std::vector<float> mid(size_t(3 * K));
      quant::dequantize_rows(W, 2, 5, mid.data());
      CHECK(std::memcmp(mid.data(), ref.data() + 2 * K, mid.size() * sizeof(float)) == 0);
    }
  }
}
}  // namespace

TEST_CASE("dequantize: every variant is bit-identical to the scalar reference (odd row counts)") {
  every_dequantize_variant_is_exact<quant::BlockQ8_0>(DType::Q8_0, quant::dequantize_q8_0_variants());
  every_dequantize_variant_is_exact<quant::BlockQ4_0>(DType::Q4_0, quant::dequantize_q4_0_variants());
}
