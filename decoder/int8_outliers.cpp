#include "decoder/int8_outliers.h"

#include <algorithm>
#include <cmath>

#include "core/half.h"
#include "core/parallel.h"
#include "decoder/rms_norm.h"
#include "quant/blocks.h"
#include "quant/dequantize.h"
#include "quant/packed.h"

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

namespace {

// Element (n, k) of a plain Q8_0 / Q4_0 matrix of `blocks` blocks per row: its block decoded.
template <class Block>
float block_value(const uint8_t* bytes, int64_t blocks, int64_t n, int64_t k,
                  void (*decode)(const Block*, float*, int64_t)) {
  float block[quant::kBlock];
  decode(reinterpret_cast<const Block*>(bytes) + n * blocks + k / quant::kBlock, block, quant::kBlock);
  return block[k % quant::kBlock];
}

// Columns `cols` of w [N, K] as f32 into out[j] (N values each). The float types and plain Q8_0 /
// Q4_0 and their interleaved forms (quant/packed.h) are read where the columns are (one element, or
// one block of 32, per row and column); any other layout through whole rows, a panel at a time.
void extract_columns(const Tensor& w, std::span<const int> cols, std::span<float* const> out) {
  const int64_t N = w.dim(0), K = w.dim(1);
  const auto* bytes = static_cast<const uint8_t*>(w.data());
  auto per_row = [&](auto&& value) {  // value(row, column) -> float
    parallel_for(N, 64, [&](int64_t b, int64_t e) {
      for (int64_t n = b; n < e; ++n)
        for (size_t j = 0; j < cols.size(); ++j) out[j][n] = value(n, int64_t(cols[j]));
    });
  };
  const int64_t blocks = K / quant::kBlock;
  switch (w.dtype()) {
    case DType::F32:
      return per_row([&](int64_t n, int64_t k) { return w.f32()[n * K + k]; });
    case DType::BF16:
      return per_row([&](int64_t n, int64_t k) {
        return bf16_to_f32(reinterpret_cast<const uint16_t*>(bytes)[n * K + k]);
      });
    case DType::F16:
      return per_row([&](int64_t n, int64_t k) {
        return f16_to_f32(reinterpret_cast<const uint16_t*>(bytes)[n * K + k]);
      });
    case DType::Q8_0:
      return per_row(
          [&](int64_t n, int64_t k) { return block_value(bytes, blocks, n, k, quant::dequantize_row_q8_0); });
    case DType::Q4_0:
      return per_row(
          [&](int64_t n, int64_t k) { return block_value(bytes, blocks, n, k, quant::dequantize_row_q4_0); });
    default:
      if (quant::is_packed(w.dtype()))
        return per_row([&](int64_t n, int64_t k) { return quant::packed_value(w, n, k); });
      break;
  }
  const int64_t panel_rows =
      std::max<int64_t>(1, std::min<int64_t>(N, (int64_t(1) << 20) / std::max<int64_t>(1, K)));
  std::vector<float> panel(size_t(panel_rows * K));
  for (int64_t n0 = 0; n0 < N; n0 += panel_rows) {
    const int64_t rows = std::min(panel_rows, N - n0);
    parallel_for(rows, 16, [&](int64_t b, int64_t e) {
      quant::rows_to_f32(w, n0 + b, n0 + e, panel.data() + b * K);
      for (int64_t r = b; r < e; ++r)
        for (size_t j = 0; j < cols.size(); ++j) out[j][n0 + r] = panel[size_t(r * K + cols[j])];
    });
  }
}

}  // namespace

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
    extract_columns(w, missing, dst);
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

void add_outlier_products(const float* x, int64_t M, int64_t K, std::span<const int> cols,
                          std::span<const WeightColumns::Column> columns, int64_t N, float* y) {
  parallel_for(M, 1, [&](int64_t b, int64_t e) {
    for (int64_t m = b; m < e; ++m) {
      float* yr = y + m * N;
      size_t j = 0;
      for (; j + 4 <= cols.size(); j += 4) {  // four columns per pass over the row of y
        const float x0 = x[m * K + cols[j]], x1 = x[m * K + cols[j + 1]], x2 = x[m * K + cols[j + 2]],
                    x3 = x[m * K + cols[j + 3]];
        const float *w0 = columns[j]->data(), *w1 = columns[j + 1]->data(), *w2 = columns[j + 2]->data(),
                    *w3 = columns[j + 3]->data();
        for (int64_t n = 0; n < N; ++n) yr[n] += x0 * w0[n] + x1 * w1[n] + x2 * w2[n] + x3 * w3[n];
      }
      for (; j < cols.size(); ++j) {
        const float xv = x[m * K + cols[j]];
        const float* wc = columns[j]->data();
        for (int64_t n = 0; n < N; ++n) yr[n] += xv * wc[n];
      }
    }
  });
}

}  // namespace fvlm::dec
