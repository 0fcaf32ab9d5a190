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

struct ConvFfnPlan {
  ConvPlan dw7x7, fc1, fc2;
};
struct RepMixerBlockPlan {
  ConvPlan mixer;
  ConvFfnPlan ffn;
};
struct AttentionBlockPlan {
  LinearPlan qkv, proj;
  AttentionPlan mhsa;
  ConvFfnPlan ffn;
};
struct StagePlan {                       // one entry of `network`, at its output size
  int64_t h = 0, w = 0, c = 0;
  std::vector<RepMixerBlockPlan> repmixer;
  std::vector<AttentionBlockPlan> attention;
  ConvPlan down_lk, down_pw, cpe;
};

struct FastVitHdPlan {
  int64_t resolution = 0, batch = 0, out_hw = 0, out_c = 0;
  ConvPlan stem[3];
  std::vector<StagePlan> network;
  ConvPlan conv_exp;
  Tensor x0, x1, t, hidden, qkv, scores;   // scratch activations, sized for the largest block
};

// Throws Error{kBadArgs} unless resolution is a positive multiple of the output stride (64).
FastVitHdPlan make_fastvithd_plan(Runtime& rt, WeightCache& wc, const FastVitHdWeights& w, int64_t resolution,
                                  int64_t batch);

// pixels [B, 3, R, R] (NCHW, as preprocessed) -> out [B * out_hw^2, out_c].
void fastvithd_forward(Runtime& rt, const FastVitHdWeights& w, FastVitHdPlan& p, const float* pixels, float* out,
                       const TapFn& tap = {});

}  // namespace fvlm::enc
