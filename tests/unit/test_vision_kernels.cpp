// encoder/vision_kernels and the attention plan against float64 scalar references, odd sizes included.
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/bf16_support.h"
#include "core/error.h"
#include "core/half.h"
#include "core/runtime.h"
#include "encoder/dnnl_plans.h"
#include "encoder/vision_kernels.h"
#include "tests/naive_attention.h"

using namespace fvlm;

namespace {
std::vector<float> randu(size_t n, uint32_t seed, float lo = -3, float hi = 3) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = u(g);
  return v;
}
double max_abs_diff(const std::vector<float>& a, const std::vector<double>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(double(a[i]) - b[i]));
  return m;
}
}  // namespace

TEST_CASE("vision kernels: repeat_channels puts input channel o / m at output o") {
  for (int64_t m : {1, 2, 3})
    for (int64_t rows : {1, 7, 300}) {
      const int64_t c = 5;
      const auto src = randu(size_t(rows * c), 1);
      std::vector<float> dst(size_t(rows * c * m));
      enc::repeat_channels(src.data(), dst.data(), rows, c, m);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t o = 0; o < c * m; ++o) REQUIRE(dst[r * c * m + o] == src[r * c + o / m]);
    }
}

TEST_CASE("vision kernels: gelu_erf_inplace matches float64 erf GELU") {
  for (int64_t n : {1, 7, 4097, 20000}) {
    auto x = randu(size_t(n), 2, -8, 8);
    std::vector<double> ref(x.size());
    for (size_t i = 0; i < x.size(); ++i) ref[i] = 0.5 * x[i] * (1 + std::erf(x[i] / std::sqrt(2.0)));
    enc::gelu_erf_inplace(x.data(), n);
    CAPTURE(n);
    CHECK(max_abs_diff(x, ref) <= 2e-6);
  }
}

TEST_CASE("vision kernels: layer_norm_rows matches float64 LayerNormChannel") {
  for (int64_t c : {3, 12, 96, 1536})
    for (int64_t rows : {1, 5, 33}) {
      const auto x = randu(size_t(rows * c), 3, -2, 5), w = randu(size_t(c), 4), b = randu(size_t(c), 5);
      std::vector<float> y(x.size());
      enc::layer_norm_rows(x.data(), y.data(), rows, c, w.data(), b.data(), 1e-5f);
      std::vector<double> ref(x.size());
      for (int64_t r = 0; r < rows; ++r) {
        double mean = 0, var = 0;
        for (int64_t i = 0; i < c; ++i) mean += x[r * c + i] / double(c);
        for (int64_t i = 0; i < c; ++i) var += (x[r * c + i] - mean) * (x[r * c + i] - mean) / double(c);
        for (int64_t i = 0; i < c; ++i)
          ref[r * c + i] = (x[r * c + i] - mean) / std::sqrt(var + 1e-5) * w[i] + b[i];
      }
      CAPTURE(c);
      CAPTURE(rows);
      CHECK(max_abs_diff(y, ref) <= 1e-5);
    }
}

// The bf16 variants feed bf16 primitives directly: each value must be the F32 kernel's result rounded
// to nearest-even bf16, nothing else (core/half.h's f32_to_bf16, as PyTorch rounds).
TEST_CASE(
    "vision kernels: repeat_channels_bf16 and layer_norm_rows_bf16 are the F32 kernels rounded to bf16") {
  for (int64_t m : {1, 2, 3})
    for (int64_t rows : {1, 7, 300}) {
      const int64_t c = 5;
      const auto src = randu(size_t(rows * c), 6);
      std::vector<float> f32(size_t(rows * c * m));
      std::vector<uint16_t> bf16(f32.size());
      enc::repeat_channels(src.data(), f32.data(), rows, c, m);
      enc::repeat_channels_bf16(src.data(), bf16.data(), rows, c, m);
      for (size_t i = 0; i < f32.size(); ++i) REQUIRE(bf16[i] == f32_to_bf16(f32[i]));
    }
  for (int64_t c : {3, 96, 1536})
    for (int64_t rows : {1, 33}) {
      const auto x = randu(size_t(rows * c), 7, -2, 5), w = randu(size_t(c), 8), b = randu(size_t(c), 9);
      std::vector<float> f32(x.size());
      std::vector<uint16_t> bf16(x.size());
      enc::layer_norm_rows(x.data(), f32.data(), rows, c, w.data(), b.data(), 1e-5f);
      enc::layer_norm_rows_bf16(x.data(), bf16.data(), rows, c, w.data(), b.data(), 1e-5f);
      CAPTURE(c);
      int64_t changed = 0;  // rounding really happened (a plain copy of the bits would fail above)
      for (size_t i = 0; i < x.size(); ++i) {
        REQUIRE(bf16[i] == f32_to_bf16(f32[i]));
        changed += bf16_to_f32(bf16[i]) != f32[i];
      }
      CHECK(changed > 0);
    }
}

TEST_CASE("vision kernels: squeeze_excite_inplace averages the whole map, ReLU, sigmoid, scales") {
  for (int64_t hw : {1, 9, 256})
    for (int64_t c : {16, 48}) {
      const int64_t r = c / 16;
      auto x = randu(size_t(hw * c), 6);
      const auto wr = randu(size_t(r * c), 7, -0.5, 0.5), br = randu(size_t(r), 8, -0.5, 0.5);
      const auto we = randu(size_t(c * r), 9, -0.5, 0.5), be = randu(size_t(c), 10, -0.5, 0.5);
      std::vector<double> ref(x.size()), mean(static_cast<size_t>(c), 0.0), s(static_cast<size_t>(r));
      for (int64_t p = 0; p < hw; ++p)
        for (int64_t i = 0; i < c; ++i) mean[i] += x[p * c + i] / double(hw);
      for (int64_t j = 0; j < r; ++j) {
        double v = br[j];
        for (int64_t i = 0; i < c; ++i) v += wr[j * c + i] * mean[i];
        s[j] = std::max(v, 0.0);
      }
      for (int64_t i = 0; i < c; ++i) {
        double v = be[i];
        for (int64_t j = 0; j < r; ++j) v += we[i * r + j] * s[j];
        for (int64_t p = 0; p < hw; ++p) ref[p * c + i] = x[p * c + i] / (1 + std::exp(-v));
      }
      enc::squeeze_excite_inplace(x.data(), hw, c, wr.data(), br.data(), r, we.data(), be.data());
      CAPTURE(hw);
      CAPTURE(c);
      CHECK(max_abs_diff(x, ref) <= 1e-5);
    }
}

namespace {

// softmax(q_h k_h^T) v_h per head from the qkv matrix [n, 3c] in float64.
std::vector<double> attention_ref(const std::vector<float>& qkv, int64_t n, int64_t heads, int64_t hd) {
  const int64_t c = heads * hd;
  std::vector<double> ref(static_cast<size_t>(n * c));
  const auto at = [&](int64_t part, int64_t h, int64_t t, int64_t e) {
    return qkv[size_t(t * 3 * c + part * c + h * hd + e)];
  };
  test::naive_attention(
      n, heads, hd, [&](int64_t h, int64_t i, int64_t e) { return at(0, h, i, e); },
      [&](int64_t h, int64_t j, int64_t e) { return at(1, h, j, e); },
      [&](int64_t h, int64_t j, int64_t e) { return at(2, h, j, e); },
      [&](int64_t h, int64_t i, int64_t e, double x) { ref[size_t(i * c + h * hd + e)] = x; });
  return ref;
}

}  // namespace

// n = 300 and 1000: several blocks of query rows per head and a shorter last one.
TEST_CASE("attention plan: softmax(q k^T) v per head from the [N, 3C] qkv matrix, row blocks included") {
  Runtime rt(2);
  for (int64_t n : {1, 37, 300, 1000})
    for (int64_t heads : {1, 6}) {
      const int64_t hd = 32, c = heads * hd;
      const enc::AttentionPlan p = enc::make_attention_plan(rt, n, c, hd);
      const auto qkv = randu(size_t(n * 3 * c), 11, -1, 1);
      std::vector<float> out(size_t(n * c)), scratch(size_t(enc::attention_scratch_floats(p)));
      enc::run_attention(rt, p, qkv.data(), out.data(), scratch.data());
      CAPTURE(n);
      CAPTURE(heads);
      CHECK(max_abs_diff(out, attention_ref(qkv, n, heads, hd)) <= 1e-5);
    }
}

// bf16 q, k, v in, bf16 out; F32 scores; probabilities rounded to bf16 (2^-9) before attn @ v.
TEST_CASE("attention plan: the bf16 plan matches float64 attention on its bf16 inputs") {
  if (bf16_support() == Bf16Support::kNone) {
    MESSAGE("SKIPPED: oneDNN has no bf16 matmul on this CPU (needs AVX-512)");
    return;
  }
  Runtime rt(2);
  for (int64_t n : {37, 1000}) {
    const int64_t heads = 3, hd = 32, c = heads * hd;
    const enc::AttentionPlan p = enc::make_attention_plan(rt, n, c, hd, /*bf16=*/true);
    auto qkv = randu(size_t(n * 3 * c), 12, -1, 1);
    std::vector<uint16_t> qkv_bf16(qkv.size()), out_bf16(size_t(n * c));
    for (size_t i = 0; i < qkv.size(); ++i) qkv[i] = bf16_to_f32(qkv_bf16[i] = f32_to_bf16(qkv[i]));
    std::vector<float> scratch(size_t(enc::attention_scratch_floats(p)));
    enc::run_attention(rt, p, qkv_bf16.data(), out_bf16.data(), scratch.data());
    std::vector<float> out(out_bf16.size());
    for (size_t i = 0; i < out.size(); ++i) out[i] = bf16_to_f32(out_bf16[i]);
    CAPTURE(n);
    CHECK(max_abs_diff(out, attention_ref(qkv, n, heads, hd)) <= 1e-2);
  }
}

TEST_CASE(
    "weight cache: packs once per layout and key - a deferred weight is widened and row-scaled to be "
    "packed") {
  using dnnl::memory;
  Runtime rt(1);
  enc::WeightCache wc;
  const std::vector<float> src = randu(6 * 5, 3);
  Tensor w = Tensor::zeros(DType::F32, {6, 5});
  std::copy(src.begin(), src.end(), w.f32());
  const int key = 0;  // any stable address
  const memory::desc plain({6, 5}, memory::data_type::f32, memory::format_tag::ab);
  const memory::desc transposed({6, 5}, memory::data_type::f32, memory::format_tag::ba);
  const memory a = wc.get(rt, &key, enc::WeightCache::Role::kWeight, w, plain, transposed);
  REQUIRE(a);
  const float* t = static_cast<const float*>(a.get_data_handle());
  for (int i = 0; i < 6; ++i)
    for (int j = 0; j < 5; ++j) CHECK(t[j * 6 + i] == src[size_t(i * 5 + j)]);  // reordered into ba
  CHECK(wc.packed_bytes() == 6 * 5 * 4);
  const Tensor no_data = Tensor::view(DType::F32, w.shape(), nullptr, nullptr);
  const memory again = wc.get(rt, &key, enc::WeightCache::Role::kWeight, no_data, plain, transposed);
  CHECK(again.get_data_handle() == a.get_data_handle());  // same pack, values not needed
  // The same key as a bias is another entry (packing without values is a bug: FVLM_CHECK aborts).
  const memory bias = wc.get(rt, &key, enc::WeightCache::Role::kBias, w, plain, plain);
  CHECK(bias.get_data_handle() != a.get_data_handle());
  CHECK(wc.packed_bytes() == 2 * 6 * 5 * 4);

  // Deferred: a BF16 checkpoint view plus row scales; every layout asked for is made from it.
  Tensor bf = Tensor::zeros(DType::BF16, {6, 5});
  for (int i = 0; i < 30; ++i)
    reinterpret_cast<uint16_t*>(bf.mutable_data())[i] = f32_to_bf16(src[size_t(i)]);
  enc::ConvW c;
  c.id = &bf;
  c.src = bf;
  c.w = Tensor::view(DType::F32, bf.shape(), nullptr, nullptr);
  c.row_scale = {1, 2, 3, 4, 5, 0.5f};
  const float* want_values = nullptr;
  for (const memory::desc& layout : {transposed, plain, transposed}) {
    const memory m = wc.weight(rt, c, plain, layout);
    const float* v = static_cast<const float*>(m.get_data_handle());
    const bool ba = layout == transposed;
    for (int i = 0; i < 6; ++i)
      for (int j = 0; j < 5; ++j)
        CHECK(v[ba ? j * 6 + i : i * 5 + j] ==
              bf16_to_f32(f32_to_bf16(src[size_t(i * 5 + j)])) * c.row_scale[size_t(i)]);
    if (ba && want_values) CHECK(v == want_values);  // the second ba request is the first pack
    if (ba) want_values = v;
  }
  CHECK(wc.packed_bytes() == (2 + 2) * 6 * 5 * 4);  // + the ab and ba packs of the deferred weight
}
