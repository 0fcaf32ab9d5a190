// INT8 Linear (1x1 conv) of the vision encoder on a oneDNN matmul primitive, so oneDNN's VNNI / AMX
// int8 kernels run it: y[M, N] = x[M, K] W^T + b, per block of rows (chunk_rows, one call each):
//   (sa, za) = the block's dynamic asymmetric u8 range, qa = u8 of x     (encoder/int8_rows.h)
//   qw = per-output-channel symmetric s8 of W, scale sw[n]               (once, at plan time)
//   y = post_ops(sw[n] * sum_k (qa[m, k] - za) qw[n, k])
// with everything after the integer dot product fused into the primitive: output scales sw (static,
// per N), src zero point za (runtime), then post-ops  x sa (binary_mul, runtime scalar), + b
// (binary_add: oneDNN 2.6 would scale its own bias argument by sw), then GELU or the residual sum.
// Where oneDNN has no fused kernel for the residual sum (below AVX-512 VNNI it would pick
// ref_int8), the block is written to scratch and added by hand instead.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "core/runtime.h"
#include "core/tensor.h"

namespace fvlm::enc {

// Rows per block (one quantisation range, one primitive call). Smaller blocks follow the activations'
// range more closely; larger ones cost fewer calls. A caller that splits a matrix into row chunks
// gets the very same result as from one call when its chunks are multiples of this.
inline constexpr int64_t kInt8BlockRows = 256;

// The u8 activation levels on this CPU (encoder/int8_rows.h): 255 where oneDNN's effective ISA has
// VNNI, 127 below it.
int int8_activation_levels();

// One weight (and its bias) quantised once, in plain [n, k] layout (plans pack it for their kernel).
struct Int8Weights {
  int64_t n = 0, k = 0;
  std::vector<int8_t> q;     // [n, k]
  std::vector<float> scale;  // sw [n]
  std::vector<float> bias;   // [n] or empty
};
Int8Weights quantize_linear_weights(const Tensor& w, const Tensor& b);

// Scratch of one block, shared by every INT8 Linear of a backend (grown to the largest block).
struct Int8Workspace {
  std::vector<uint8_t> q;
  std::vector<float> sum;  // the block's result when the residual is added by hand
};

// The primitive of one block size (the full chunk, or the last partial one).
struct Int8Matmul {
  dnnl::matmul prim;
  dnnl::memory::desc src, dst;
  dnnl::memory w;  // packed for this primitive
  size_t scratchpad_bytes = 0;
};

struct Int8LinearPlan {
  int64_t m = 0, chunk_rows = 0;
  int levels = 255;  // u8 activation levels (int8_activation_levels)
  bool accumulate = false, sum_by_hand = false;
  std::shared_ptr<const Int8Weights> w;
  std::shared_ptr<Int8Workspace> ws;
  Int8Matmul chunk, tail;
  dnnl::memory bias;  // [1, n] f32 (binary_add), or none
  std::string impl;   // oneDNN's kernel (impl_info_str)
};
// `pack(want)` returns the weights in the layout a primitive asks for (a WeightCache lookup).
using PackInt8Fn = std::function<dnnl::memory(const dnnl::memory::desc& want)>;
Int8LinearPlan make_int8_linear_plan(Runtime& rt, std::shared_ptr<const Int8Weights> w,
                                     std::shared_ptr<Int8Workspace> ws, int64_t m, bool gelu, bool accumulate,
                                     const PackInt8Fn& pack, int64_t chunk_rows = 0);
void run_int8_linear(Runtime& rt, const Int8LinearPlan& p, const float* src, float* dst);

// run_int8_linear from inside an OpenMP parallel region (one thread, its own stream), with the
// thread's own buffers in place of the plan's shared workspace: q (u8 source of a block), sum (the
// block's result when the residual is added by hand) and the primitive's scratchpad, of the sizes
// int8_thread_bytes gives.
struct Int8ThreadBytes {
  int64_t q = 0, sum = 0, scratchpad = 0;
};
Int8ThreadBytes int8_thread_bytes(const Int8LinearPlan& p);
void run_int8_linear_on_thread(Runtime& rt, dnnl::stream& stream, const Int8LinearPlan& p, const float* src,
                               float* dst, uint8_t* q, float* sum, void* scratchpad);

// The kernel oneDNN picks for an INT8 Linear of this shape (with a bias), without building a plan.
std::string int8_kernel_name(Runtime& rt, int64_t m, int64_t k, int64_t n, bool gelu, bool accumulate);

// Packs plain [n, k] s8 weights into `want` (a primitive's weights_desc, compensation included).
dnnl::memory pack_int8_weights(Runtime& rt, const Int8Weights& w, const dnnl::memory::desc& want);

}  // namespace fvlm::enc
