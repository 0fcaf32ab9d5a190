// Outlier columns of the int8 prefill (LLM.int8(), Dettmers et al. 2022, "mixed-precision
// decomposition"). A trained LLM carries a few hidden channels whose values are tens of times the
// others' (Qwen2 too: "massive activations" in fixed channels of the residual stream, which the
// norms pass on to the projections' inputs). With one s8 scale per token (decoder/linear_int8.h)
// such a channel sets the scale of its whole row, and every other value of the row is left a few
// levels of the 255: on a random 0.5B model with three norm channels scaled x30, the last logits
// fell to cosine 0.91 against FP32 (bf16: 0.999). So the columns where some row holds a value over
// kInt8OutlierRatio times that row's RMS are taken out before quantising and multiplied in f32,
// with the weight matrix's columns as FP32 sees them:
//   y = s8 matmul over the other columns, rescaled  +  x[:, outliers] . W[:, outliers]^T
// Same example: cosine 0.990. Gaussian-like rows (max/RMS ~ 4-5 over thousands of values) have none,
// and then nothing changes. At most kMaxOutlierColumns per call (the largest ratios): the f32 part
// costs M x N multiply-adds per column.
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <unordered_map>
#include <vector>

#include "core/tensor.h"

namespace fvlm::dec {

inline constexpr float kInt8OutlierRatio = 6.0f;
inline constexpr int kMaxOutlierColumns = 32;

// How often the int8 prefill met outlier columns: per matmul input (one x, whatever the number of
// matrices it multiplies), so that a user can see whether a checkpoint has them (bench reports it).
struct OutlierCounts {
  int64_t inputs = 0;         // x matrices quantised
  int64_t with_outliers = 0;  // of them, with at least one outlier column
  int64_t columns = 0;        // outlier columns over all inputs
  int max_columns = 0;        // the most in one input (kMaxOutlierColumns: the cap was reached)
  void add(int n) {
    ++inputs;
    with_outliers += n > 0;
    columns += n;
    max_columns = n > max_columns ? n : max_columns;
  }
};

// The columns k of x [M, K] where some row m has |x[m, k]| > ratio * rms(x[m, :]), the largest
// ratios first, at most max_columns. `ratios` is scratch. Threads inside.
std::vector<int> find_outlier_columns(const float* x, int64_t M, int64_t K, float ratio, int max_columns,
                                      std::vector<float>& ratios);

// Columns of one weight matrix [N, K] as f32 (N values each, quant::rows_to_f32's values), taken out
// the first time they are asked for: in a trained model the outlier channels stay the same from
// prompt to prompt. Thread-safe. Holds at most kMaxHeldColumns: past that it starts over (what a
// caller holds stays valid), so inputs whose outliers move about cannot grow it into a whole f32
// copy.
class WeightColumns {
 public:
  static constexpr size_t kMaxHeldColumns = 64;
  using Column = std::shared_ptr<const std::vector<float>>;
  // The columns `cols` of w, in that order.
  std::vector<Column> get(const Tensor& w, std::span<const int> cols);
  size_t held() const;

 private:
  mutable std::mutex mu_;
  std::unordered_map<int, Column> held_;
};

// One row: y[0..N) += x[cols] . W[:, cols]^T, where columns[j] is column cols[j] of W (linear_int8
// calls it right after rescaling the row, while it is in cache).
void add_outlier_row(const float* x, std::span<const int> cols,
                     std::span<const WeightColumns::Column> columns, int64_t N, float* y);

}  // namespace fvlm::dec
