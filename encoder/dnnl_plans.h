// oneDNN v2.6 building blocks for the vision encoder: convolution and Linear (matmul) plans built
// once per shape, with weights packed once into the layout the primitive picked (format_tag::any),
// bias and GELU / residual-accumulate fused as post-ops. Activations are plain NHWC ([pixels, C]).
#pragma once
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "core/runtime.h"
#include "encoder/fastvithd_weights.h"
#include "encoder/vision_precision.h"

namespace fvlm::enc {

struct Int8LinearPlan;
struct Int8Weights;
struct Int8Workspace;

enum class PostOp {
  kNone,
  kGelu,        // dst = gelu_erf(op(src) + b)
  kAccumulate,  // dst = dst + op(src) + b         (residual add; layer scale folded into the weights)
};

// Each weight packed once per oneDNN layout asked for (plans of other resolutions usually share
// it), found by a stable key (ConvW::id and which tensor). A deferred weight (fastvithd_weights.h)
// is made F32 in one staging buffer just for its reorder, so packing the whole encoder costs the
// packed copy alone, and a layout asked for later is packed again from the checkpoint.
class WeightCache {
 public:
  enum class Role { kWeight, kBias, kInt8Weight };
  // `w` (F32 with data) in layout `want`.
  dnnl::memory get(Runtime& rt, const void* key, Role role, const Tensor& w, const dnnl::memory::desc& user,
                   const dnnl::memory::desc& want);
  // The weight matrix of `c` in layout `want` (user: its plain layout).
  dnnl::memory weight(Runtime& rt, const ConvW& c, const dnnl::memory::desc& user,
                      const dnnl::memory::desc& want);
  // The weight (and bias) of `c` quantised to s8 once (encoder/int8_rows.h), found by the same stable key.
  std::shared_ptr<const Int8Weights> int8(const ConvW& c);
  // The int8 weight of `c` in layout `want` (a primitive's weights_desc).
  dnnl::memory int8_weight(Runtime& rt, const ConvW& c, const dnnl::memory::desc& want);
  // The block scratch all INT8 Linears share.
  std::shared_ptr<Int8Workspace> int8_workspace();
  // The bf16 copy of a Linear's F32 source that every bf16 Linear shares (grown to the largest).
  std::shared_ptr<std::vector<uint16_t>> bf16_source(int64_t elements);
  int64_t packed_bytes() const;
  void release_staging() { staging_ = {}; }  // once a plan is built (up to the largest matrix, F32)

 private:
  dnnl::memory find(const void* key, Role role, const dnnl::memory::desc& want) const;

  std::map<std::pair<const void*, Role>, std::vector<dnnl::memory>> packed_;
  std::map<const void*, std::shared_ptr<const Int8Weights>> int8_;
  std::shared_ptr<Int8Workspace> int8_workspace_;
  std::shared_ptr<std::vector<uint16_t>> bf16_source_;
  std::vector<float> staging_;  // the F32 values of one deferred weight while it is packed
};

struct ConvGeom {
  int64_t batch = 1, ic = 0, oc = 0, groups = 1, ih = 0, iw = 0, k = 1, stride = 1, pad = 0;
  int64_t oh() const { return (ih + 2 * pad - k) / stride + 1; }
  int64_t ow() const { return (iw + 2 * pad - k) / stride + 1; }
};

// The data types of one convolution. bf16: bf16 source and weights, F32 accumulation (oneDNN's
// brdgmm / brgconv bf16 kernels); dst_bf16: the result is written as bf16 (its readers are bf16
// primitives).
struct ConvIo {
  bool bf16 = false;
  bool dst_bf16 = false;
};

struct ConvPlan {
  dnnl::convolution_forward prim;
  dnnl::memory::desc src, dst;
  dnnl::memory w, b;
  size_t scratchpad_bytes = 0;  // taken from Runtime::scratchpad at run time
  std::string impl;             // oneDNN's implementation name (for logs and tests)
  // A GELU post-op on a bf16 result runs as gelu_erf_bf16_inplace over its gelu_values values
  // instead: oneDNN's erf post-op costs more than these bf16 convolutions themselves.
  int64_t gelu_values = 0;
};
ConvPlan make_conv_plan(Runtime& rt, WeightCache& wc, const ConvW& cw, const ConvGeom& g, PostOp post,
                        ConvIo io = {});
// src / dst are F32, or bf16 where the plan's ConvIo says so.
void run_conv(Runtime& rt, const ConvPlan& p, const void* src, void* dst);

// Under kBf16: whether the Linear's source already is bf16 (the previous op wrote it so) and whether
// its result may be written as bf16 (its only reader is a bf16 matmul). Ignored by kF32 / kInt8.
struct LinearIo {
  bool src_bf16 = false;
  bool dst_bf16 = false;
};

// y[M, N] = x[M, K] W^T + b for a Linear weight W [N, K] (or a 1x1 conv [N, K, 1, 1]).
// With kInt8 only `int8` (and `impl`) are set and run_linear takes the INT8 path (encoder/int8_linear.h).
// With kBf16 the weights are packed as bf16, and an F32 source is first rounded to bf16
// (quant::round_to_bf16) into the shared `bf16_src`.
struct LinearPlan {
  dnnl::matmul prim;
  dnnl::memory::desc src, dst;
  dnnl::memory w, b;
  size_t scratchpad_bytes = 0;
  std::shared_ptr<const Int8LinearPlan> int8;
  int64_t src_values = 0;  // kBf16 with an F32 source: its values, rounded into bf16_src per call
  std::shared_ptr<std::vector<uint16_t>> bf16_src;
  std::string impl;  // oneDNN's implementation name (for logs)
};
LinearPlan make_linear_plan(Runtime& rt, WeightCache& wc, const ConvW& lw, int64_t m, PostOp post,
                            VisionPrecision precision = VisionPrecision::kF32, LinearIo io = {});
// The kernel oneDNN picks for a Linear x[m, k] -> [m, n] with a bias at `precision`, without
// packing any weight (for inspect and bench; make_linear_plan builds the same primitive).
std::string linear_kernel_name(Runtime& rt, VisionPrecision precision, int64_t m, int64_t k, int64_t n,
                               PostOp post);
// src / dst are F32, or bf16 where the plan's LinearIo says so.
void run_linear(Runtime& rt, const LinearPlan& p, const void* src, void* dst);
// run_linear from inside an OpenMP parallel region, where oneDNN runs the primitive on the calling
// thread alone: on that thread's stream and buffers (scratchpad: linear_thread_scratchpad_bytes;
// int8_q / int8_sum: an INT8 plan's, int8_thread_bytes). For plans that take their source as it is
// (F32, bf16 with a bf16 source, INT8), not those that convert it.
struct LinearThreadBuffers {
  void* scratchpad = nullptr;
  uint8_t* int8_q = nullptr;
  float* int8_sum = nullptr;
};
int64_t linear_thread_scratchpad_bytes(const LinearPlan& p);
void run_linear_on_thread(Runtime& rt, dnnl::stream& stream, const LinearPlan& p, const void* src, void* dst,
                          const LinearThreadBuffers& b);

// Multi-head self-attention core for one image, reading q, k, v from the qkv matrix [N, 3C]
// (row = [Q heads | K heads | V heads], head_dim wide each; q pre-scaled) and writing the
// concatenated heads into out [N, C]:  out_h = softmax(q_h k_h^T) v_h.
// The heads are first gathered into dense [H, N, head_dim] blocks and the output scattered back:
// on the strided views of qkv and out oneDNN 2.6 has only gemm:jit, while dense blocks get its
// brgemm kernels (AMX in bf16). Then each thread takes (head, block of query rows) tasks in turn
// and runs the three primitives single-threaded on its own scores, which stay in L2.
// bf16: qkv and out are bf16; the scores stay F32 through the softmax, whose result is written as
// bf16 (softmax_v2) for the second matmul.
struct AttentionRows {  // the primitives for one block of `rows` query rows of one head
  int64_t rows = 0;
  dnnl::matmul qk, av;
  dnnl::primitive softmax;  // softmax_forward (F32), softmax_v2_forward (F32 -> bf16)
  dnnl::memory::desc q_md, kt_md, s_md, p_md, v_md, o_md;
  size_t scratchpad_bytes = 0;
};
struct AttentionPlan {
  int64_t tokens = 0, dim = 0, head_dim = 0, heads = 0;
  int threads = 1;  // threads the scratch is sized for
  bool bf16 = false;
  AttentionRows block, tail;  // tail.rows == 0: the blocks cover the tokens evenly
};
AttentionPlan make_attention_plan(Runtime& rt, int64_t tokens, int64_t dim, int64_t head_dim,
                                  bool bf16 = false);
// scores: scratch of attention_scratch_floats(p) floats, 64-byte aligned.
int64_t attention_scratch_floats(const AttentionPlan& p);
void run_attention(Runtime& rt, const AttentionPlan& p, const void* qkv, void* out, float* scores);

}  // namespace fvlm::enc
