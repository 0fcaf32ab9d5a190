// The bf16 prefill matmul: y[M, N] = x[M, K] . w[N, K]^T (+ bias) with x and w in bf16 and y in f32,
// as a oneDNN matmul primitive (brgemm on AVX512_BF16 / AMX). One primitive per shape, created on
// first use and cached for the model's life (creation JITs code: ~0.4 ms after the first, ~12 ms for
// the first); M is part of the shape because oneDNN 2.6 only gives a runtime-M matmul its slower
// gemm:jit kernel (57 vs 101 GOP/s at 280x896x4864 on Zen 4, bench/README.md).
// The weights come row-major as stored ([N, K] = oneDNN's "ba" W^T): a BF16 checkpoint's own pages,
// or a panel the caller converted just before (decoder/linear.cpp); or, given a packing budget, as a
// copy packed once into the layout oneDNN's kernel reads. On AMX that pays: its kernel re-lays plain
// weights out in every call, and Q8_0/Q4_0 ones must be converted first, which together cost more
// than the AMX matmul itself (bench/README.md, "LLM prefill on AMX").
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

// A weight matrix [N, K] in bf16, packed into the layout oneDNN's matmul picks for it (format any;
// the same for every M).
struct Bf16Packed {
  dnnl::memory mem;
  int64_t n = 0, k = 0;
};

// Shared by the sessions of a model (thread-safe): the engine, the primitive cache and the packed
// weights. pack_budget: bytes of packed copies it may make (0: none; tests and benchmarks force it).
class Bf16Matmul {
 public:
  explicit Bf16Matmul(int64_t pack_budget = 0);
  // y has row stride ldy (>= N); bias (f32 [N]) may be null.
  void run(const uint16_t* x, int64_t M, int64_t K, const uint16_t* w, int64_t N, const float* bias, float* y,
           int64_t ldy, Bf16Scratch& s) const;
  void run(const uint16_t* x, int64_t M, const Bf16Packed& w, const float* bias, float* y, int64_t ldy,
           Bf16Scratch& s) const;
  // The packed copy of w (any type quant::rows_to_bf16 reads), found by w's data pointer and shape.
  // Null the first time w is asked for (a one-shot prompt does not pay for packing, which costs
  // about one conversion of every matrix), made over the threads the second time, null past the budget.
  const Bf16Packed* packed(const Tensor& w) const;
  bool packs() const { return pack_budget_ > 0; }
  int64_t packed_bytes() const;
  int64_t calls() const;  // matmuls run so far (tests check that the bf16 path was taken)

 private:
  struct Plan {
    dnnl::matmul prim;
    dnnl::memory::desc src, wei, bias, dst;
    size_t pad_bytes = 0;
  };
  using Key = std::tuple<int64_t, int64_t, int64_t, int64_t, bool, bool>;  // M, K, N, ldy, bias, packed
  std::shared_ptr<const Plan> plan(const Key& k) const;
  dnnl::memory::desc packed_desc(int64_t K, int64_t N) const;  // under mu_
  void execute(const Plan& p, const uint16_t* x, const dnnl::memory& w, const float* bias, float* y,
               Bf16Scratch& s) const;

  dnnl::engine engine_;
  int64_t pack_budget_;
  mutable std::mutex mu_;
  mutable std::map<Key, std::shared_ptr<const Plan>> plans_;
  mutable int64_t calls_ = 0;
  mutable std::mutex pack_mu_;  // one packing at a time; the map only grows (pointers stay valid)
  struct PackSlot {
    bool seen = false;
    std::unique_ptr<Bf16Packed> w;
  };
  mutable std::map<std::tuple<const void*, int64_t, int64_t>, PackSlot> packed_;
  mutable int64_t packed_bytes_ = 0;
};

}  // namespace fvlm::dec
