// Runtime: the one place oneDNN is set up (CPU engine, in-order stream) and the thread count that
// oneDNN and our parallel_for share (both run on OpenMP).
#pragma once
#include <oneapi/dnnl/dnnl.hpp>

namespace fvlm {

class Runtime {
 public:
  // threads <= 0: keep the OpenMP default (all cores).
  explicit Runtime(int threads = 0);
  dnnl::engine& engine() { return engine_; }
  dnnl::stream& stream() { return stream_; }
  int threads() const { return threads_; }

 private:
  dnnl::engine engine_;
  dnnl::stream stream_;
  int threads_;
};

}  // namespace fvlm
