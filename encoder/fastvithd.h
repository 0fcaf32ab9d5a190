// FastViTHD forward (mci.py FastViT.forward_features + conv_exp, inference form) on oneDNN plans.
// A plan holds every primitive and scratch buffer for one (resolution, batch) and is reused.
// Activations are NHWC token matrices [B * H * W, C]; the output is [B * (R/64)^2, C_exp] in
// row-major (h, w) token order per image, exactly mobileclip_encoder.py's image_embeddings.
#pragma once
#include <functional>
#include <string_view>
#include <vector>

#include "core/runtime.h"
#include "core/tensor.h"
#include "encoder/dnnl_plans.h"
#include "encoder/fastvithd_weights.h"

namespace fvlm::enc {

// Called after the stem ("stem"), after every network[i] ("network_00".."network_NN") and after
// conv_exp ("conv_exp") with a view of the activation [B, H, W, C] (valid during the call only).
using TapFn = std::function<void(std::string_view name, const Tensor& bhwc)>;
// Called after every primitive-level op with its kind ("ffn_fc1", "attention", ...): bench_encoder's
// per-op breakdown times the gaps between calls (the CPU stream is synchronous).
using OpMarkFn = std::function<void(std::string_view op)>;

// 1x1 convolutions run as matmuls over the NHWC token matrix (oneDNN's sgemm beats its 1x1 conv here).
// ConvFFN's fc1 -> GELU -> fc2 runs over row chunks of the token matrix, so its 4C-wide hidden
// activation is one chunk (~4 MB), not the whole map (100 MB at 1024 px in stage 0).
struct ConvFfnPlan {
  ConvPlan dw7x7;  // F32 in every precision (bf16: fc1 rounds its source)
  int64_t rows = 0, chunk_rows = 0, c = 0, hidden = 0;
  bool bf16 = false;              // fc1 reads bf16 (rounded from the 7x7's F32 result) and writes bf16; its
                                  // GELU is a table pass (gelu_erf_bf16_inplace), not a post-op
  bool gelu_pass = false;         // fc1 has no GELU post-op: the table pass after it (bf16 or F32 hidden)
  LinearPlan fc1, fc2;            // chunk_rows rows
  LinearPlan fc1_tail, fc2_tail;  // rows % chunk_rows rows (when not 0)
  // Thread blocks (bf16, int8): each thread runs its own chunks start to end (bf16: round the 7x7's
  // rows -> fc1 -> GELU -> fc2; int8: fc1 -> GELU -> fc2, quantising in the thread), single-threaded
  // primitives inside one parallel region. 0 threads: the chunks run one after the other over all
  // threads.
  int threads = 0;
  // One thread's part of the hidden buffer, in this order: its bf16 source rows (bf16), its hidden
  // rows, the u8 source and residual sum of its INT8 blocks (int8), its oneDNN scratchpad.
  struct ThreadScratch {
    uint16_t* source;
    void* hidden;
    uint8_t* q;
    float* sum;
    void* scratchpad;
  };
  int64_t thread_bytes[5] = {};  // the sizes of ThreadScratch's parts
  static int64_t whole_lines(int64_t bytes) { return (bytes + 63) / 64 * 16; }  // in floats
  int64_t thread_scratch_floats() const {
    int64_t n = 0;
    for (const int64_t b : thread_bytes) n += whole_lines(b);
    return n;
  }
  ThreadScratch thread_scratch(float* hidden_buffer, int thread) const {
    float* at[5];
    at[0] = hidden_buffer + thread * thread_scratch_floats();
    for (int i = 1; i < 5; ++i) at[i] = at[i - 1] + whole_lines(thread_bytes[i - 1]);
    return {reinterpret_cast<uint16_t*>(at[0]), at[1], reinterpret_cast<uint8_t*>(at[2]), at[3], at[4]};
  }
};
struct RepMixerBlockPlan {
  ConvPlan mixer;
  ConvFfnPlan ffn;
};
struct AttentionBlockPlan {
  bool bf16 = false;  // the norm writes bf16 for qkv; qkv -> attention -> proj hand bf16 over
  LinearPlan qkv, proj;
  AttentionPlan mhsa;
  ConvFfnPlan ffn;
};
// A grouped conv with one input and m outputs per group (PatchEmbed proj.0, conv_exp): the input is
// repeated m times per channel, then oneDNN's depthwise kernel runs (its grouped path is im2col).
struct ExpandConvPlan {
  int64_t rows = 0, in_c = 0, multiplier = 1;
  bool bf16 = false;  // the repeat rounds to bf16 and the depthwise conv runs bf16
  ConvPlan dw;
};

struct StagePlan {  // one entry of `network`, at its output size
  int64_t h = 0, w = 0, c = 0;
  std::vector<RepMixerBlockPlan> repmixer;
  std::vector<AttentionBlockPlan> attention;
  ExpandConvPlan down_lk;
  ConvPlan cpe;
  LinearPlan down_pw;
};

// Floats each scratch buffer of a forward pass needs (the largest block of the plan decides).
struct ScratchSizes {
  int64_t x = 0, t = 0, hidden = 0, qkv = 0, scores = 0;
};

struct FastVitHdPlan {
  int64_t resolution = 0, batch = 0, out_hw = 0, out_c = 0;
  ScratchSizes scratch;
  ConvPlan stem[2];        // 3x3 s2, 3x3 s2 depthwise
  LinearPlan stem_pw;      // 1x1
  bool stem_bf16 = false;  // the image is rounded to bf16 and the stem hands bf16 over up to stem_pw
  std::vector<StagePlan> network;
  ExpandConvPlan conv_exp;
  VisionPrecision precision = VisionPrecision::kF32;  // resolved (never kAuto)
  std::string ffn_impl;                               // oneDNN's kernel of the first ConvFFN fc1 (for logs)
};

// Scratch activations, shared by all plans of a backend and grown to the largest plan run so far.
struct EncoderScratch {
  Tensor x0, x1, t, hidden, qkv, scores;
  void reserve(const ScratchSizes& s);
};

// Throws Error{kBadArgs} unless resolution is a positive multiple of the output stride (64).
// kInt8: every Linear / 1x1 (stem, PatchEmbed pointwise, ConvFFN fc1/fc2, attention qkv/proj) runs INT8.
// kBf16: those, the attention matmuls and the convolutions that feed a Linear (stem, PatchEmbed 7x7)
// run bf16 x bf16 -> F32 accumulation, handing bf16 over where the reader is bf16. The residual stream
// stays F32, and so do the convs that carry it (RepMixer and RepCPE, whose identity is folded into the
// centre tap: a bf16 weight would round the identity itself), conv_exp and the ConvFFN's depthwise 7x7
// (oneDNN's bf16 depthwise kernel is slower than its F32 one; fc1 rounds its result).
// kAuto is resolved here (resolve_vision_precision).
// ffn_chunk_rows: ConvFFN row chunk (0: automatic, ~4 MB hidden; tests force small ones).
// ffn_thread_blocks: under bf16 and int8, a ConvFFN with at least two chunks per thread runs them as
// thread blocks (ConvFfnPlan::threads); false: always one chunk after the other (tests compare the two).
FastVitHdPlan make_fastvithd_plan(Runtime& rt, WeightCache& wc, const FastVitHdWeights& w, int64_t resolution,
                                  int64_t batch, VisionPrecision precision = VisionPrecision::kF32,
                                  int64_t ffn_chunk_rows = 0, bool ffn_thread_blocks = true);

// The kernel oneDNN picks for the first ConvFFN's fc1 (stage 0, the widest Linear at the model's
// resolution) at `precision` (kAuto resolved): what FastVitHdPlan::ffn_impl will say, without a plan.
std::string ffn_kernel_name(Runtime& rt, const FastVitHdConfig& cfg, VisionPrecision precision);

// pixels [B, 3, R, R] (NCHW, as preprocessed) -> out [B * out_hw^2, out_c].
void fastvithd_forward(Runtime& rt, const FastVitHdWeights& w, const FastVitHdPlan& p,
                       EncoderScratch& scratch, const float* pixels, float* out, const TapFn& tap = {},
                       const OpMarkFn& mark = {});

}  // namespace fvlm::enc
