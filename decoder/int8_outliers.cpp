#include "decoder/int8_outliers.h"

#include <algorithm>
#include <cmath>

#include "core/parallel.h"
#include "decoder/rms_norm.h"
#include "quant/dequantize.h"

namespace fvlm::dec {

std::vector<int> find_outlier_columns(const float* x, int64_t M, int64_t K, float ratio, int max_columns,
                                      std::vector<float>& ratios) {
  // One pass over the rows: each row's 1 / (ratio * RMS), then its |x| times that into the column
  // maxima of its part of the rows (one part per thread, merged after): a column is an outlier
  // where its maximum exceeds 1.
  const int64_t parts = std::clamp<int64_t>(M * K / 16384, 1, std::max(1, num_threads()));
  ratios.assign(size_t(parts * K), 0.0f);
  parallel_for(parts, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t part = p0; part < p1; ++part) {
      float* col = ratios.data() + part * K;
      for (int64_t m = M * part / parts; m < M * (part + 1) / parts; ++m) {
        const float* r = x + m * K;
        const float limit = ratio * std::sqrt(sum_of_squares(r, K) / float(K));
        if (!(limit > 0)) continue;  // an all-zero row has no outliers
        const float s = 1.0f / limit;
        for (int64_t k = 0; k < K; ++k) {
          const float v = std::fabs(r[k]) * s;
          col[k] = col[k] < v ? v : col[k];
        }
      }
    }
  });
  float* col = ratios.data();
  for (int64_t part = 1; part < parts; ++part)
    for (int64_t k = 0; k < K; ++k) col[k] = std::max(col[k], ratios[size_t(part * K + k)]);
  std::vector<int> out;
  for (int64_t k = 0; k < K; ++k)
    if (col[k] > 1.0f) out.push_back(int(k));
  std::stable_sort(out.begin(), out.end(), [&](int a, int b) { return col[a] > col[b]; });
  if (int(out.size()) > max_columns) out.resize(size_t(std::max(0, max_columns)));
  std::sort(out.begin(), out.end());  // in column order: one pass over x's rows reads them in order
  return out;
}

std::vector<WeightColumns::Column> WeightColumns::get(const Tensor& w, std::span<const int> cols) {
  std::lock_guard lock(mu_);
  std::vector<int> missing;
  for (int c : cols)
    if (!held_.count(c)) missing.push_back(c);
  if (!missing.empty()) {
    if (held_.size() + missing.size() > kMaxHeldColumns) held_.clear();
    std::vector<std::shared_ptr<std::vector<float>>> fresh;
    std::vector<float*> dst;
    for (size_t j = 0; j < missing.size(); ++j) {
      fresh.push_back(std::make_shared<std::vector<float>>(size_t(w.dim(0))));
      dst.push_back(fresh.back()->data());
    }
    // read where they are, one element (or one block of 32) per row and column
    parallel_for(w.dim(0), 64, [&](int64_t b, int64_t e) {
      for (int64_t n = b; n < e; ++n)
        for (size_t j = 0; j < missing.size(); ++j) dst[j][n] = quant::value_f32(w, n, missing[j]);
    });
    for (size_t j = 0; j < missing.size(); ++j) held_[missing[j]] = std::move(fresh[j]);
  }
  std::vector<Column> out;
  for (int c : cols) out.push_back(held_.at(c));
  return out;
}

size_t WeightColumns::held() const {
  std::lock_guard lock(mu_);
  return held_.size();
}

void add_outlier_row(const float* x, std::span<const int> cols,
                     std::span<const WeightColumns::Column> columns, int64_t N, float* y) {
  size_t j = 0;
  for (; j + 4 <= cols.size(); j += 4) {  // four columns per pass over the row of y
    const float x0 = x[cols[j]], x1 = x[cols[j + 1]], x2 = x[cols[j + 2]], x3 = x[cols[j + 3]];
    const float *w0 = columns[j]->data(), *w1 = columns[j + 1]->data(), *w2 = columns[j + 2]->data(),
                *w3 = columns[j + 3]->data();
    for (int64_t n = 0; n < N; ++n) y[n] += x0 * w0[n] + x1 * w1[n] + x2 * w2[n] + x3 * w3[n];
  }
  for (; j < cols.size(); ++j) {
    const float xv = x[cols[j]];
    const float* wc = columns[j]->data();
    for (int64_t n = 0; n < N; ++n) y[n] += xv * wc[n];
  }
}

}  // namespace fvlm::dec
