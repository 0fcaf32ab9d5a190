// quant/matmul_quant: every variant against the scalar reference at the real Qwen2 sizes and odd
// ones; the reference against plain f64 math on the dequantised operands; the threaded entry.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <utility>
#include <vector>

#include "core/cpu_features.h"
#include "quant/bf16_rows.h"
#include "quant/dequantize.h"
#include "quant/matmul_quant.h"
#include "quant/packed.h"

using namespace fvlm;
using namespace fvlm::quant;

namespace {

// Reordering the f32 sum of <= K/32 scaled block products: bounded by nb * eps * sum|terms|
// <= nb * eps * |x|.|w| (Cauchy-Schwarz); 4x margin on eps.
constexpr double kReorderTolPerBlock = 4 * 6e-8;

struct Problem {
  int64_t m, n, k;
  Tensor w;              // [n, k] quantised
  std::vector<float> x;  // [m, k]
  std::vector<int8_t> qs;
  std::vector<float> d;
  std::vector<int32_t> sum;
  std::vector<double> xnorm, wnorm;
  QuantizedRows rows() { return {m, k, qs.data(), d.data(), sum.data()}; }
  QuantMatrix mat() const { return {w.dtype(), n, k, static_cast<const uint8_t*>(w.data())}; }
};

Problem make_problem(DType t, int64_t m, int64_t n, int64_t k, uint32_t seed) {
  uint64_t state = seed * 0x9e3779b97f4a7c15ull + 1;
  auto uniform = [&state] {  // xorshift64*: std::normal_distribution is too slow for 24M weights
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return float(int32_t((state * 0x2545f4914f6cdd1dull) >> 32)) * 0x1p-31f;  // [-1, 1)
  };
  Problem p;
  p.m = m;
  p.n = n;
  p.k = k;
  Tensor wf = Tensor::zeros(DType::F32, {n, k});
  for (int64_t i = 0; i < wf.numel(); ++i) wf.f32()[i] = uniform() * 0.05f;
  p.w = quantize(wf, ggml_type(t));
  if (is_packed(t)) p.w = pack(p.w);  // n % 16 == 0
  p.x.resize(size_t(m * k));
  for (auto& v : p.x) v = uniform() * (uniform() > 0.875f ? 8.0f : 1.0f);  // outliers, as real activations
  p.qs.resize(size_t(m * k));
  p.d.resize(size_t(m * k / 32));
  p.sum.resize(size_t(m * k / 32));
  for (int64_t r = 0; r < m; ++r)
    quantize_acts_row(p.x.data() + r * k, k, p.qs.data() + r * k, p.d.data() + r * k / 32,
                      p.sum.data() + r * k / 32);
  const Tensor wd = dequantize(p.w);
  const float* wdp = wd.f32();
  p.wnorm.assign(size_t(n), 0.0);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t j = 0; j < k; ++j) p.wnorm[r] += double(wdp[r * k + j]) * wdp[r * k + j];
  p.xnorm.assign(size_t(m), 0.0);
  for (int64_t r = 0; r < m; ++r)
    for (int64_t j = 0; j < k; ++j) {
      const double v = double(p.qs[r * k + j]) * p.d[r * k / 32 + j / 32];
      p.xnorm[r] += v * v;
    }
  for (auto& v : p.wnorm) v = std::sqrt(v);
  for (auto& v : p.xnorm) v = std::sqrt(v);
  return p;
}

std::vector<float> run(const MatmulVariant& v, Problem& p) {
  std::vector<float> y(size_t(p.m * p.n), NAN);
  v.fn(p.rows(), p.mat(), 0, p.n, y.data(), p.n);
  return y;
}

void check_close(const std::vector<float>& got, const std::vector<float>& ref, const Problem& p) {
  const double tol_scale = kReorderTolPerBlock * double(p.k / 32);
  for (int64_t r = 0; r < p.m; ++r)
    for (int64_t c = 0; c < p.n; ++c) {
      const double tol = tol_scale * p.xnorm[r] * p.wnorm[c] + 1e-30;
      const double err = std::fabs(double(got[r * p.n + c]) - ref[r * p.n + c]);
      if (!(err <= tol)) {  // one REQUIRE per element is too slow at these sizes
        CAPTURE(r);
        CAPTURE(c);
        CAPTURE(got[r * p.n + c]);
        CAPTURE(ref[r * p.n + c]);
        REQUIRE(err <= tol);
      }
    }
}

std::span<const MatmulVariant> variants(DType t) { return matmul_variants(t); }

void every_variant_matches_ref(DType t, int64_t m, int64_t n, int64_t k) {
  Problem p = make_problem(t, m, n, k, uint32_t(1000003 * m + 1009 * n + k));
  const std::vector<float> ref = run(variants(t)[0], p);
  for (const MatmulVariant& v : variants(t).subspan(1)) {
    if (!cpu_has(v.feature)) continue;  // reported once per test case below
    CAPTURE(v.name);
    CAPTURE(dtype_name(t));
    CAPTURE(m);
    CAPTURE(n);
    CAPTURE(k);
    check_close(run(v, p), ref, p);
  }
}

void report_skipped(DType t) {
  for (const MatmulVariant& v : variants(t))
    if (!cpu_has(v.feature))
      MESSAGE("matmul_", dtype_name(t), " variant '", v.name, "' skipped: this CPU lacks ",
              cpu_feature_name(v.feature));
}

}  // namespace

TEST_CASE("quant: matmul reference equals f64 math on the dequantised operands (ggml and packed layouts)") {
  for (DType t : {DType::Q8_0, DType::Q4_0, DType::Q8_0_R16, DType::Q4_0_R16}) {
    Problem p = make_problem(t, 3, is_packed(t) ? 32 : 7, 896, 11);
    const std::vector<float> y = run(variants(t)[0], p);
    Tensor wd = dequantize(p.w);
    for (int64_t r = 0; r < p.m; ++r)
      for (int64_t c = 0; c < p.n; ++c) {
        double s = 0;
        for (int64_t j = 0; j < p.k; ++j)
          s += double(p.qs[r * p.k + j]) * p.d[r * p.k / 32 + j / 32] * wd.f32()[c * p.k + j];
        CHECK(std::fabs(y[r * p.n + c] - s) <= 1e-5 * p.xnorm[r] * p.wnorm[c]);
      }
  }
}

TEST_CASE("quant: matmul Q8_0 decode (M=1) every variant matches ref at real sizes") {
  report_skipped(DType::Q8_0);
  for (int64_t k : {896, 4864, 1536, 3584})
    for (int64_t n : {1, 7, 31, 128, 896, 4864}) every_variant_matches_ref(DType::Q8_0, 1, n, k);
}

TEST_CASE("quant: matmul Q4_0 decode (M=1) every variant matches ref at real sizes") {
  report_skipped(DType::Q4_0);
  for (int64_t k : {896, 4864, 1536, 3584})
    for (int64_t n : {1, 7, 31, 128, 896, 4864}) every_variant_matches_ref(DType::Q4_0, 1, n, k);
}

TEST_CASE("quant: matmul prefill (M>1) every variant matches ref, tails in M and N") {
  for (DType t : {DType::Q8_0, DType::Q4_0}) {
    report_skipped(t);
    for (int64_t m : {3, 17, 64})
      for (int64_t k : {896, 4864, 1536, 3584})
        for (int64_t n : {1, 7, 31, 128}) every_variant_matches_ref(t, m, n, k);
    every_variant_matches_ref(t, 17, 896, 896);
    every_variant_matches_ref(t, 5, 4864, 896);
    every_variant_matches_ref(t, 64, 130, 32);                                // a single block per row
    for (int64_t m : {1, 2, 4, 8}) every_variant_matches_ref(t, m, 37, 928);  // odd block count (29)
  }
}

TEST_CASE("quant: matmul vocabulary-sized GEMV (N=151936)") {
  for (DType t : {DType::Q8_0, DType::Q4_0}) {
    report_skipped(t);
    every_variant_matches_ref(t, 1, 151936, 64);
  }
}

TEST_CASE("quant: matmul_quant threads over N and equals the chosen variant") {
  for (DType t : {DType::Q8_0, DType::Q4_0}) {
    Problem p = make_problem(t, 9, 1000, 896, 5);
    const MatmulVariant& best = best_matmul(t);
    const std::vector<float> single = run(best, p);
    std::vector<float> y(single.size());
    matmul_quant(p.x.data(), p.m, p.k, p.w, y.data());
    CHECK(y == single);  // same kernel, same integers, same per-row order: bit-identical
    CHECK(cpu_has(best.feature));
  }
}

TEST_CASE("quant: matmul_quant_multi equals one matmul_quant per matrix (mixed types, odd N)") {
  // q/k/v-like and gate/up-like groups; Q8_0 next to Q4_0 as in a mixed-precision file; M = 1
  // (decode) and M = 5 (a short prefill). Rows split across threads at arbitrary matrix offsets.
  for (int64_t m : {1, 5}) {
    Problem a = make_problem(DType::Q8_0, m, 901, 896, 11);
    Problem b = make_problem(DType::Q4_0, m, 131, 896, 12);
    Problem c = make_problem(DType::Q8_0, m, 7, 896, 13);
    std::vector<float> ya(size_t(m * a.n)), yb(size_t(m * b.n)), yc(size_t(m * c.n));
    const QuantOut outs[] = {{&a.w, ya.data()}, {&b.w, yb.data()}, {&c.w, yc.data()}};
    matmul_quant_multi(a.x.data(), m, 896, outs);
    for (Problem* p : {&a, &b, &c}) {
      std::vector<float> want(size_t(m * p->n));
      matmul_quant(a.x.data(), m, 896, p->w, want.data());
      const std::vector<float>& got = p == &a ? ya : p == &b ? yb : yc;
      CHECK(got == want);  // same kernels on the same quantised x: bit-identical
    }
  }
}

TEST_CASE("quant: every variant gives each row of an M-row call exactly its M=1 result (batched decode)") {
  // Continuous batching feeds the decode rows of several sequences as one x: a sequence's outputs
  // must not depend on how many rows share the call (bitwise, tails in M and N included).
  // Every batch size the engine runs (2..8 rows, and a prefill-sized 13), K with an even and an odd
  // number of blocks (kernels that take blocks in pairs treat a last odd block apart).
  for (DType t : {DType::Q8_0, DType::Q4_0})
    for (int64_t k : {896, 928})
      for (int64_t m : {2, 3, 4, 5, 6, 7, 8, 13})
        for (int64_t n : {7, 130}) {
          Problem p = make_problem(t, m, n, k, uint32_t(31 * m + n + k));
          const int64_t nb = p.k / 32;
          for (const MatmulVariant& v : variants(t)) {
            if (!cpu_has(v.feature)) continue;
            CAPTURE(v.name);
            CAPTURE(dtype_name(t));
            CAPTURE(m);
            CAPTURE(n);
            CAPTURE(k);
            const std::vector<float> all = run(v, p);
            for (int64_t r = 0; r < m; ++r) {
              const QuantizedRows one{1, p.k, p.qs.data() + r * p.k, p.d.data() + r * nb,
                                      p.sum.data() + r * nb};
              std::vector<float> y(size_t(n), NAN);
              v.fn(one, p.mat(), 0, n / 2, y.data(), n);  // split as the threads would
              v.fn(one, p.mat(), n / 2, n, y.data(), n);
              CHECK(std::equal(y.begin(), y.end(), all.begin() + r * n));
            }
          }
        }
  report_skipped(DType::Q8_0);
}

// Packed weights (quant/packed.h): the layout itself (its reference against f64 math is above), and every
// variant against the reference bit for bit (the integer block dots are exact and each output is
// one f32 FMA chain over the blocks in order, so vector lanes equal the scalar loop exactly; that
// also makes each row of an M-row call its M = 1 result, as batched decode needs).

TEST_CASE("quant: packed rows unpack to the ggml blocks they came from") {
  for (DType t : {DType::Q8_0, DType::Q4_0})
    for (int64_t k : {32, 928}) {
      Problem p = make_problem(t, 1, 48, k, 7);
      if (t == DType::Q8_0)  // every int8 value, -128 included, survives the + 128
        for (int64_t i = 0; i < 48 * k / 32; ++i)
          static_cast<BlockQ8_0*>(p.w.mutable_data())[i].qs[i % 32] = int8_t(i % 256 - 128);
      const Tensor packed = pack(p.w);
      CHECK(packed.dtype() == packed_type(t));
      CHECK(packed.nbytes() == p.w.nbytes());
      const int64_t row_bytes = dtype_bytes(t, k);
      std::vector<uint8_t> row(static_cast<size_t>(row_bytes));
      for (int64_t r = 0; r < 48; ++r) {
        unpack_row(packed.dtype(), static_cast<const uint8_t*>(packed.data()), k, r, row.data());
        CHECK(std::memcmp(row.data(), static_cast<const uint8_t*>(p.w.data()) + r * row_bytes,
                          size_t(row_bytes)) == 0);
      }
      // Widening reads packed rows as the ggml ones.
      std::vector<float> a(size_t(5 * k)), b(size_t(5 * k));
      dequantize_rows(p.w, 17, 22, a.data());
      dequantize_rows(packed, 17, 22, b.data());
      CHECK(a == b);
      std::vector<uint16_t> c(size_t(5 * k)), d(size_t(5 * k));
      rows_to_bf16(p.w, 17, 22, c.data());
      rows_to_bf16(packed, 17, 22, d.data());
      CHECK(c == d);
    }
  CHECK_FALSE(packable(make_problem(DType::Q8_0, 1, 24, 64, 1).w));  // rows not in 16s stay ggml
}

TEST_CASE("quant: every packed variant equals the packed reference bit for bit, any rows and ranges") {
  for (DType t : {DType::Q8_0_R16, DType::Q4_0_R16}) {
    report_skipped(t);
    for (int64_t k : {32, 896, 928, 4864})
      for (int64_t m : {1, 2, 3, 4, 5, 8, 9, 16, 17, 32, 33}) {
        const int64_t n = k == 4864 ? 48 : 128;
        Problem p = make_problem(t, m, n, k, uint32_t(7 * m + k));
        // Whole matrix, a range cutting groups at both ends, one group's middle.
        for (auto [lo, hi] : {std::pair<int64_t, int64_t>{0, n}, {5, n - 3}, {18, 29}}) {
          std::vector<float> want(size_t(m * n), -1.0f);
          variants(t)[0].fn(p.rows(), p.mat(), lo, hi, want.data(), n);
          for (const MatmulVariant& v : variants(t).subspan(1)) {
            if (!cpu_has(v.feature)) continue;
            CAPTURE(v.name);
            CAPTURE(dtype_name(t));
            CAPTURE(m);
            CAPTURE(k);
            CAPTURE(lo);
            CAPTURE(hi);
            std::vector<float> y(size_t(m * n), -1.0f);  // rows outside [lo, hi) stay untouched
            v.fn(p.rows(), p.mat(), lo, hi, y.data(), n);
            CHECK(y == want);
          }
        }
      }
    Problem vocab = make_problem(t, 1, 151936, 64, 3);
    const std::vector<float> want = run(variants(t)[0], vocab);
    for (const MatmulVariant& v : variants(t).subspan(1))
      if (cpu_has(v.feature)) CHECK(run(v, vocab) == want);
  }
}

TEST_CASE("quant: matmul_quant_multi on packed weights equals the ggml weights' result within reordering") {
  for (int64_t m : {1, 8}) {
    Problem a = make_problem(DType::Q8_0, m, 896, 896, 21);
    Problem b = make_problem(DType::Q4_0, m, 4864, 896, 22);
    const Tensor pa = pack(a.w), pb = pack(b.w);
    std::vector<float> ya(size_t(m * a.n)), yb(size_t(m * b.n));
    const QuantOut outs[] = {{&pa, ya.data()}, {&pb, yb.data()}};
    matmul_quant_multi(a.x.data(), m, 896, outs);
    for (Problem* p : {&a, &b}) {
      std::vector<float> want(size_t(m * p->n));
      matmul_quant(a.x.data(), m, 896, p->w, want.data());
      check_close(p == &a ? ya : yb, want, *p);
      std::vector<float> single(size_t(m * p->n));
      matmul_quant(a.x.data(), m, 896, p == &a ? pa : pb, single.data());
      CHECK((p == &a ? ya : yb) == single);  // same kernel whatever the grouping of matrices
    }
  }
}
