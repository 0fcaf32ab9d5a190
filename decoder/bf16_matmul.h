// The bf16 prefill matmul: y[M, N] = x[M, K] . w[N, K]^T (+ bias) with x and w in bf16 and y in f32,
// as a oneDNN matmul primitive (brgemm on AVX512_BF16 / AMX). One primitive per shape, created on
// first use and cached for the model's life (creation JITs code: ~0.4 ms after the first, ~12 ms for
// the first); M is part of the shape because oneDNN 2.6 only gives a runtime-M matmul its slower
// gemm:jit kernel (57 vs 101 GOP/s at 280x896x4864 on Zen 4, bench/README.md).
// The weights come row-major as stored ([N, K] = oneDNN's "ba" W^T): a BF16 checkpoint's own pages,
// or a panel the caller converted just before (decoder/linear.cpp), never a packed copy.
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

namespace fvlm::dec {

// Per session: bf16 copies of the activations and of one weight panel, its stream and scratchpad.
struct Bf16Scratch {
  std::vector<uint16_t> x, w;
  dnnl::stream stream;
  Tensor pad;
};

// Shared by the sessions of a model (thread-safe): the engine and the primitive cache.
class Bf16Matmul {
 public:
  Bf16Matmul();
  // y has row stride ldy (>= N); bias (f32 [N]) may be null.
  void run(const uint16_t* x, int64_t M, int64_t K, const uint16_t* w, int64_t N, const float* bias, float* y,
           int64_t ldy, Bf16Scratch& s) const;
  int64_t calls() const;  // matmuls run so far (tests check that the bf16 path was taken)

 private:
  struct Plan {
    dnnl::matmul prim;
    dnnl::memory::desc src, wei, bias, dst;
    size_t pad_bytes = 0;
  };
  using Key = std::tuple<int64_t, int64_t, int64_t, int64_t, bool>;  // M, K, N, ldy, bias
  std::shared_ptr<const Plan> plan(const Key& k) const;

  dnnl::engine engine_;
  mutable std::mutex mu_;
  mutable std::map<Key, std::shared_ptr<const Plan>> plans_;
  mutable int64_t calls_ = 0;
};

}  // namespace fvlm::dec
