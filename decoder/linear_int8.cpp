#include "decoder/linear_int8.h"

#include <algorithm>
#include <vector>

#include "core/error.h"
#include "core/parallel.h"
#include "decoder/int8_outliers.h"
#include "quant/s8_rows.h"

namespace fvlm::dec {
namespace {

template <class T>
T* grown(std::vector<T>& v, int64_t n) {
  if (int64_t(v.size()) < n) v.resize(size_t(n));
  return v.data();
}

// Rows per parallel chunk for a pass over rows of n values.
int64_t row_grain(int64_t n) { return std::max<int64_t>(1, 16384 / std::max<int64_t>(1, n)); }

// One row of integer sums back to floats: y[n] = acc[n] * (xs * ws[n]) (+ b[n]).
void scale_row(const int32_t* acc, int64_t N, float xs, const float* ws, const float* bias, float* y) {
  if (bias)
    for (int64_t n = 0; n < N; ++n) y[n] = float(acc[n]) * (xs * ws[n]) + bias[n];
  else
    for (int64_t n = 0; n < N; ++n) y[n] = float(acc[n]) * (xs * ws[n]);
}

// x [M, K] quantised per row into the scratch, without the outlier columns (they go through f32).
void quantize_input(const float* x, int64_t M, int64_t K, std::span<const int> outliers, MatmulScratch& s) {
  if (!outliers.empty()) {
    float* inliers = grown(s.x_inliers, M * K);
    parallel_for(M, row_grain(K), [&](int64_t a, int64_t b) {
      std::copy(x + a * K, x + b * K, inliers + a * K);
      for (int64_t m = a; m < b; ++m)
        for (int c : outliers) inliers[m * K + c] = 0.0f;
    });
    x = inliers;
  }
  quant::quantize_rows_s8(x, M, K, grown(s.xq, M * K), grown(s.x_scale, M));
}

}  // namespace

bool linear_int8(const float* x, int64_t M, std::span<const LinearOut> outs, GemmScratch& scratch) {
  const PackedWeights* packed[4];
  FVLM_CHECK(outs.size() <= std::size(packed), "linear: too many outputs");
  for (size_t i = 0; i < outs.size(); ++i)
    if (!(packed[i] = scratch.int8->packed(*outs[i].W))) return false;
  const int64_t K = outs[0].W->dim(1);
  MatmulScratch& s = scratch.mm_scratch;
  const std::vector<int> outliers =
      find_outlier_columns(x, M, K, kInt8OutlierRatio, kMaxOutlierColumns, s.outlier_ratios);
  quantize_input(x, M, K, outliers, s);
  scratch.int8->count_outliers(int(outliers.size()));
  for (size_t i = 0; i < outs.size(); ++i) {
    const PackedWeights& w = *packed[i];
    FVLM_CHECK(w.k == K, "linear: K mismatch");
    const int64_t N = w.n;
    int32_t* acc = grown(s.acc, M * N);
    scratch.int8->run(s.xq.data(), M, w, acc, N, s);
    const LinearOut& o = outs[i];
    const std::vector<WeightColumns::Column> columns =
        outliers.empty() ? std::vector<WeightColumns::Column>{} : w.columns->get(*o.W, outliers);
    parallel_for(M, row_grain(N), [&](int64_t a, int64_t b) {
      for (int64_t m = a; m < b; ++m) {
        scale_row(acc + m * N, N, s.x_scale[size_t(m)], w.scale.data(), o.bias, o.y + m * N);
        add_outlier_row(x + m * K, outliers, columns, N, o.y + m * N);  // nothing when there are none
      }
    });
  }
  return true;
}

}  // namespace fvlm::dec
