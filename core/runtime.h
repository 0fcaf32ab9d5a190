// Runtime: the one place oneDNN is set up (CPU engine, in-order stream) and the thread count that
// oneDNN and our parallel_for share (both run on OpenMP).
#pragma once
#include <oneapi/dnnl/dnnl.hpp>

#include "core/tensor.h"

namespace fvlm {

class Runtime {
 public:
  // threads <= 0: keep the OpenMP default (all cores).
  explicit Runtime(int threads = 0);
  dnnl::engine& engine() { return engine_; }
  dnnl::stream& stream() { return stream_; }
  int threads() const { return threads_; }
  // The one scratchpad of every oneDNN primitive (all made with scratchpad_mode::user), grown to
  // the largest size asked for; release_scratchpad() frees it until the next use.
  dnnl::memory scratchpad(size_t bytes);
  void release_scratchpad() { scratchpad_ = {}; }

 private:
  dnnl::engine engine_;
  dnnl::stream stream_;
  int threads_;
  Tensor scratchpad_;
};

}  // namespace fvlm
