// The int8 prefill's outlier columns (decoder/int8_outliers.h): which columns are found, the weight
// columns they are multiplied with, and linear_int8 with them against float64 arithmetic on the same
// split (inliers quantised per row, outliers exact) and against FP32.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "core/bf16_support.h"
#include "core/half.h"
#include "core/tensor.h"
#include "decoder/gemm.h"
#include "decoder/int8_outliers.h"
#include "decoder/linear.h"
#include "decoder/prefill_matmul.h"
#include "quant/dequantize.h"
#include "quant/matmul_quant.h"
#include "quant/packed.h"
#include "quant/s8_rows.h"
#include "tests/test_util.h"

using namespace fvlm;
using namespace fvlm::dec;

namespace {

// A 16-bit copy of an F32 matrix.
Tensor to_16bit(const Tensor& f, DType t) {
  Tensor out = Tensor::zeros(t, f.shape());
  auto* d = static_cast<uint16_t*>(out.mutable_data());
  for (int64_t i = 0; i < f.numel(); ++i)
    d[i] = t == DType::BF16 ? f32_to_bf16(f.f32()[i]) : f32_to_f16(f.f32()[i]);
  return out;
}

}  // namespace

TEST_CASE(
    "int8 outliers: the columns over ratio x their row's RMS, largest ratio kept first, none in even rows") {
  const int64_t M = 120, K = 300;  // over 16384 values: split in parts, merged
  Tensor x = test::uniform_matrix(M, K, 1);
  std::vector<float> scratch;
  CHECK(find_outlier_columns(x.f32(), M, K, kInt8OutlierRatio, kMaxOutlierColumns, scratch).empty());
  x.f32()[3 * K + 17] = 40.0f;     // row RMS ~2.4: ratio ~17
  x.f32()[10 * K + 200] = -25.0f;  // ratio ~11
  x.f32()[20 * K + 5] = 3.0f;      // ratio ~5: not one
  CHECK(find_outlier_columns(x.f32(), M, K, kInt8OutlierRatio, kMaxOutlierColumns, scratch) ==
        std::vector<int>{17, 200});
  CHECK(find_outlier_columns(x.f32(), M, K, kInt8OutlierRatio, 1, scratch) == std::vector<int>{17});
  CHECK(find_outlier_columns(x.f32(), M, K, 20.0f, kMaxOutlierColumns, scratch).empty());
  // against the definition in float64, on heavy-tailed rows (cubes of Gaussians) and a zero row
  std::mt19937 g(5);
  std::normal_distribution<float> n01;
  for (int64_t i = 0; i < x.numel(); ++i) x.f32()[i] = std::pow(n01(g), 3.0f);
  for (int64_t k = 0; k < K; ++k) x.f32()[7 * K + k] = 0.0f;
  std::vector<int> want;
  for (int64_t k = 0; k < K; ++k) {
    bool over = false;
    for (int64_t m = 0; m < M; ++m) {
      double ss = 0;
      for (int64_t j = 0; j < K; ++j) ss += double(x.f32()[m * K + j]) * x.f32()[m * K + j];
      over |= ss > 0 && std::fabs(double(x.f32()[m * K + k])) > kInt8OutlierRatio * std::sqrt(ss / double(K));
    }
    if (over) want.push_back(int(k));
  }
  REQUIRE(want.size() > size_t(kMaxOutlierColumns));  // the cubes have many: the cap is exercised too
  CHECK(find_outlier_columns(x.f32(), M, K, kInt8OutlierRatio, int(K), scratch) == want);
  const std::vector<int> capped =
      find_outlier_columns(x.f32(), M, K, kInt8OutlierRatio, kMaxOutlierColumns, scratch);
  REQUIRE(capped.size() == size_t(kMaxOutlierColumns));
  auto worst_ratio = [&](int k) {  // the column's largest |x| / (ratio * row RMS)
    double r = 0;
    for (int64_t m = 0; m < M; ++m) {
      double ss = 0;
      for (int64_t j = 0; j < K; ++j) ss += double(x.f32()[m * K + j]) * x.f32()[m * K + j];
      if (ss > 0) r = std::max(r, std::fabs(double(x.f32()[m * K + k])) / std::sqrt(ss / double(K)));
    }
    return r;
  };
  double least_kept = 1e30, most_left = 0;
  for (int k : want) {
    const bool kept = std::find(capped.begin(), capped.end(), k) != capped.end();
    (kept ? least_kept : most_left) =
        kept ? std::min(least_kept, worst_ratio(k)) : std::max(most_left, worst_ratio(k));
  }
  CHECK(least_kept >= most_left);  // the cap keeps the largest ratios
}

TEST_CASE(
    "int8 outliers: weight columns are rows_to_f32's values in every weight layout, and stay valid past the "
    "cap") {
  const int64_t N = 48, K = 96;
  const Tensor f = test::uniform_matrix(N, K, 2);
  const Tensor q8 = quant::quantize(f, DType::Q8_0), q4 = quant::quantize(f, DType::Q4_0);
  const Tensor layouts[] = {f,  to_16bit(f, DType::BF16), to_16bit(f, DType::F16), q8,
                            q4, quant::pack(q8),          quant::pack(q4)};
  const std::vector<int> cols{0, 5, 31, 32, 63, 95};
  for (const Tensor& w : layouts) {
    CAPTURE(dtype_name(w.dtype()));
    std::vector<float> rows(size_t(N * K));
    quant::rows_to_f32(w, 0, N, rows.data());
    WeightColumns held;
    const std::vector<WeightColumns::Column> got = held.get(w, cols);
    REQUIRE(got.size() == cols.size());
    int wrong = 0;
    for (size_t j = 0; j < cols.size(); ++j)
      for (int64_t n = 0; n < N; ++n) wrong += (*got[j])[size_t(n)] != rows[size_t(n * K + cols[j])];
    CHECK(wrong == 0);
    CHECK(held.get(w, {cols.data() + 1, 2})[0] == got[1]);  // held: the same column, not taken out again
  }
  WeightColumns held;
  std::vector<int> many;
  for (int c = 0; c < int(WeightColumns::kMaxHeldColumns); ++c) many.push_back(c);
  const std::vector<WeightColumns::Column> first = held.get(f, many);
  CHECK(held.held() == WeightColumns::kMaxHeldColumns);
  const std::vector<int> more{70, 80};
  held.get(f, more);
  CHECK(held.held() == more.size());            // started over
  CHECK((*first[3])[1] == f.f32()[1 * K + 3]);  // what a caller holds stays valid
}

TEST_CASE("quant::value_f32 is rows_to_f32's value at every element of every weight layout") {
  const int64_t N = 32, K = 128;
  const Tensor f = test::uniform_matrix(N, K, 9);
  const Tensor q8 = quant::quantize(f, DType::Q8_0), q4 = quant::quantize(f, DType::Q4_0);
  const Tensor layouts[] = {f,  to_16bit(f, DType::BF16), to_16bit(f, DType::F16), q8,
                            q4, quant::pack(q8),          quant::pack(q4)};
  for (const Tensor& w : layouts) {
    CAPTURE(dtype_name(w.dtype()));
    std::vector<float> rows(size_t(N * K));
    quant::rows_to_f32(w, 0, N, rows.data());
    int wrong = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < K; ++k) wrong += quant::value_f32(w, n, k) != rows[size_t(n * K + k)];
    CHECK(wrong == 0);
  }
}

TEST_CASE(
    "linear int8 with outlier columns: inliers in s8, outliers in f32, far nearer FP32 than one scale per "
    "token") {
  if (!onednn_has_vnni()) {
    MESSAGE("SKIPPED: oneDNN has no int8 dot products here (", onednn_isa_name(), "): no int8 prefill");
    return;
  }
  const int64_t M = 64, K = 256, N = 80;
  const Tensor w = quant::quantize(test::uniform_matrix(N, K, 3), DType::Q8_0);
  std::vector<float> wv(size_t(N * K));
  quant::rows_to_f32(w, 0, N, wv.data());
  std::vector<int8_t> qw(wv.size());
  std::vector<float> ws(static_cast<size_t>(N));
  quant::quantize_rows_s8_ref(wv.data(), N, K, qw.data(), ws.data());
  Tensor x = test::uniform_matrix(M, K, 4);
  const std::vector<int> outliers{7, 100, 201};
  for (int64_t m = 0; m < M; ++m)  // systematic channels, as a trained model's
    for (size_t j = 0; j < outliers.size(); ++j) x.f32()[m * K + outliers[j]] *= 40.0f + 20.0f * float(j);
  std::vector<float> scratch;
  REQUIRE(find_outlier_columns(x.f32(), M, K, kInt8OutlierRatio, kMaxOutlierColumns, scratch) == outliers);

  const PrefillMatmul mm(int64_t(1) << 30, MatmulOperands::kS8);
  GemmScratch gs;
  gs.int8 = &mm;
  std::vector<float> y(size_t(M * N)), fp32(size_t(M * N));
  linear(x.f32(), M, w, nullptr, y.data(), gs);
  linear(x.f32(), M, w, nullptr, fp32.data());  // the FP32 path
  CHECK(mm.calls() == 1);
  const OutlierCounts counted = mm.outlier_counts();
  CHECK(counted.inputs == 1);
  CHECK(counted.with_outliers == 1);
  CHECK(counted.columns == 3);
  CHECK(counted.max_columns == 3);

  // float64 on the same split, and the per-token int8 of the whole rows (before the outlier columns)
  auto quantised_rows = [&](bool without_outliers, std::vector<int8_t>& q, std::vector<float>& s) {
    std::vector<float> rows(x.f32(), x.f32() + M * K);
    if (without_outliers)
      for (int64_t m = 0; m < M; ++m)
        for (int c : outliers) rows[size_t(m * K + c)] = 0.0f;
    q.resize(size_t(M * K));
    s.resize(size_t(M));
    quant::quantize_rows_s8_ref(rows.data(), M, K, q.data(), s.data());
  };
  std::vector<int8_t> qin, qall;
  std::vector<float> sin, sall;
  quantised_rows(true, qin, sin);
  quantised_rows(false, qall, sall);
  int off = 0;
  double err_split = 0, err_whole = 0;
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      int64_t dot_in = 0, dot_all = 0;
      for (int64_t k = 0; k < K; ++k) {
        dot_in += int64_t(qin[size_t(m * K + k)]) * qw[size_t(n * K + k)];
        dot_all += int64_t(qall[size_t(m * K + k)]) * qw[size_t(n * K + k)];
      }
      double exact = 0;
      for (int c : outliers) exact += double(x.f32()[m * K + c]) * wv[size_t(n * K + c)];
      const double inl = double(sin[size_t(m)]) * ws[size_t(n)] * double(dot_in);
      const double got = y[size_t(m * N + n)], ref = fp32[size_t(m * N + n)];
      off += std::abs(got - (inl + exact)) > 1e-5 * (std::abs(inl) + std::abs(exact));
      err_split += (got - ref) * (got - ref);
      const double whole = double(sall[size_t(m)]) * ws[size_t(n)] * double(dot_all);
      err_whole += (whole - ref) * (whole - ref);
    }
  MESSAGE("int8 vs FP32, squared error: outlier columns in f32 ", err_split, ", one scale per whole row ",
          err_whole);
  CHECK(off == 0);
  CHECK(err_split > 0);
  CHECK(err_split * 20 < err_whole);
}
