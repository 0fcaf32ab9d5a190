// The prefill matmuls as oneDNN matmul primitives: y[M, N] = x[M, K] . w[N, K]^T, in one of two
// operand types:
//   kBf16: x, w bf16 -> y f32 (+ bias): brgemm on AVX512_BF16 / AMX
//   kS8:   x, w s8 -> y s32 (the caller applies the scales, decoder/linear.cpp): VNNI / AMX int8
// One primitive per shape, created on first use and cached for the model's life (creation JITs code:
// ~0.4 ms after the first, ~12 ms for the first); M is part of the shape because oneDNN 2.6 only gives
// a runtime-M matmul its slower gemm:jit kernel (57 vs 101 GOP/s at 280x896x4864 on Zen 4,
// bench/README.md), and scales stay out of the primitive because runtime scales also drop it to
// gemm:jit (and a per-row scale to ref_int8).
// bf16 weights come row-major as stored ([N, K] = oneDNN's "ba" W^T): a BF16 checkpoint's own pages,
// or a panel the caller converted just before (decoder/linear.cpp); or, given a packing budget, as a
// copy packed once into the layout oneDNN's kernel reads. On AMX that pays: its kernel re-lays plain
// weights out in every call, and Q8_0/Q4_0 ones must be converted first, which together cost more
// than the AMX matmul itself (bench/README.md, "LLM prefill on AMX").
// s8 weights only exist as packed copies: each row requantised once to s8 with its own scale
// (quant/s8_rows.h; from Q8_0 that rounds each block's values onto the row's coarser grid).
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "core/tensor.h"
#include "decoder/int8_outliers.h"

namespace fvlm::dec {

enum class MatmulOperands { kBf16, kS8 };

// Per session: bf16 copies of the activations and of one weight panel; s8 activations with their
// row scales (and x without its outlier columns, int8_outliers.h) and the s32 products; the stream
// and scratchpad.
struct MatmulScratch {
  std::vector<uint16_t> x, w;
  std::vector<int8_t> xq;
  std::vector<float> x_scale, x_inliers, outlier_ratios;
  std::vector<int32_t> acc;
  dnnl::stream stream;
  Tensor pad;
};

// A weight matrix [N, K] packed into the layout oneDNN's matmul picks for it (format any; the same
// for every M): bf16, or s8 with one scale per row (w[n, k] ~ scale[n] * q[n, k]).
struct PackedWeights {
  dnnl::memory mem;
  int64_t n = 0, k = 0;
  std::vector<float> scale;                // s8 only
  std::unique_ptr<WeightColumns> columns;  // s8 only: the f32 columns its outliers met (int8_outliers.h)
};

// Shared by the sessions of a model (thread-safe): the engine, the primitive cache and the packed
// weights. pack_budget: bytes of packed copies it may make (0: none; tests and benchmarks force it).
class PrefillMatmul {
 public:
  explicit PrefillMatmul(int64_t pack_budget = 0, MatmulOperands operands = MatmulOperands::kBf16);
  MatmulOperands operands() const { return operands_; }
  // bf16 on plain weights. y has row stride ldy (>= N); bias (f32 [N]) may be null.
  void run(const uint16_t* x, int64_t M, int64_t K, const uint16_t* w, int64_t N, const float* bias, float* y,
           int64_t ldy, MatmulScratch& s) const;
  void run(const uint16_t* x, int64_t M, const PackedWeights& w, const float* bias, float* y, int64_t ldy,
           MatmulScratch& s) const;
  // s8: y[M, N] (row stride ldy) = the integer sums x . w^T, unscaled.
  void run(const int8_t* x, int64_t M, const PackedWeights& w, int32_t* y, int64_t ldy,
           MatmulScratch& s) const;
  // The packed copy of w (any type quant::rows_to_f32 reads), found by w's data pointer and shape,
  // made over the threads; null past the budget. bf16: also null the first time w is asked for (a
  // one-shot prompt does not pay for packing, which costs about one conversion of every matrix);
  // s8 has no other path, so it packs at once.
  const PackedWeights* packed(const Tensor& w) const;
  bool packs() const { return pack_budget_ > 0; }
  int64_t packed_bytes() const;
  int64_t calls() const;  // matmuls run so far (tests check that the bf16 path was taken)
  // s8: the outlier columns linear_int8 found in its inputs (decoder/int8_outliers.h).
  void count_outliers(int columns) const;
  OutlierCounts outlier_counts() const;

 private:
  struct Plan {
    dnnl::matmul prim;
    dnnl::memory::desc src, wei, bias, dst;
    size_t pad_bytes = 0;
  };
  using Key = std::tuple<int64_t, int64_t, int64_t, int64_t, bool, bool>;  // M, K, N, ldy, bias, packed
  std::shared_ptr<const Plan> plan(const Key& k) const;
  dnnl::memory::desc packed_desc(int64_t K, int64_t N) const;  // under mu_
  std::unique_ptr<PackedWeights> pack(const Tensor& w, const dnnl::memory::desc& want) const;
  void execute(const Plan& p, const void* x, const dnnl::memory& w, const float* bias, void* y,
               MatmulScratch& s) const;

  dnnl::engine engine_;
  int64_t pack_budget_;
  MatmulOperands operands_;
  mutable std::mutex mu_;
  mutable std::map<Key, std::shared_ptr<const Plan>> plans_;
  mutable int64_t calls_ = 0;
  mutable OutlierCounts outliers_;  // under mu_
  mutable std::mutex pack_mu_;      // one packing at a time; the map only grows (pointers stay valid)
  struct PackSlot {
    bool seen = false;
    bool refused = false;  // past the budget: never asked again (finding out costs a primitive desc)
    std::unique_ptr<PackedWeights> w;
  };
  mutable std::map<std::tuple<const void*, int64_t, int64_t>, PackSlot> packed_;
  mutable int64_t packed_bytes_ = 0;
};

}  // namespace fvlm::dec
