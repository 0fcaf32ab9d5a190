// FastViTHD (mci.py, inference/reparameterised form) and mlp2x_gelu projector weights as plain F32
// structs. Binding upcasts F32/F16/BF16 checkpoint tensors and applies the load-time folds:
//   * ConvFFN BatchNorm (eps from config) folded into the depthwise 7x7 (which gains a bias);
//   * layer scales folded into the conv/linear that feeds the residual add (fc2, proj);
//   * the attention scale head_dim^-0.5 folded into the Q rows of qkv.
// Deferred binding (what the backend uses) keeps each matrix as a view of the checkpoint plus its
// pending row scales, and makes the F32 values only when oneDNN packs them (dense_weight): the
// encoder never holds a second F32 copy of itself (~500 MB at 0.5B shapes).
#pragma once
#include <vector>

#include "core/safetensors.h"
#include "core/tensor.h"
#include "encoder/fastvithd_config.h"

namespace fvlm::enc {

struct ConvW {  // w [O, I/groups, kh, kw] (Linear: [O, I]), b [O]
  Tensor w, b;  // w: F32 when bound eagerly; shape only (no data) when deferred
  int groups = 1;
  const void* id = nullptr;      // identity for the packed-weight cache: the checkpoint bytes of w
  Tensor src;                    // deferred: the checkpoint tensor w is made from (F32/F16/BF16)
  std::vector<float> row_scale;  // deferred folds: w[o, :] = src[o, :] * row_scale[o] (empty: 1)
};

// The F32 weight of `c`: c.w when it holds data, else src widened with its rows scaled, written
// into `staging` (the returned tensor views it: valid until staging is reused).
Tensor dense_weight(const ConvW& c, std::vector<float>& staging);

struct ConvFfnW {  // ConvFFN(dim, hidden)
  ConvW dw7x7;     // convffn.conv.{conv,bn} folded: [d,1,7,7] + bias
  ConvW fc1;       // convffn.fc1 [hidden, d, 1, 1]      (GELU after)
  ConvW fc2;       // convffn.fc2 [d, hidden, 1, 1] x layer_scale (residual)
  // convffn.conv.bn.{weight,bias,running_mean,running_var} [d]: read at bind, folded into dw7x7,
  // then released (empty in bound weights).
  Tensor bn_gamma, bn_beta, bn_mean, bn_var;
};

struct RepMixerBlockW {  // network.{s}.{j}
  ConvW mixer;           // token_mixer.reparam_conv [d,1,3,3] (identity folded in)
  ConvFfnW ffn;          // convffn.*, fc2 scaled by layer_scale [d,1,1]
  Tensor layer_scale;    // [d,1,1]: folded into ffn.fc2 at bind, then released
};

struct AttentionBlockW {                // network.{s}.{j}
  Tensor norm_w, norm_b;                // [d] norm.{weight,bias} (LayerNormChannel)
  ConvW qkv;                            // token_mixer.qkv.weight [3d, d], Q rows x head_dim^-0.5, no bias
  ConvW proj;                           // token_mixer.proj.{weight,bias} [d,d] x layer_scale_1
  ConvFfnW ffn;                         // convffn.*, fc2 scaled by layer_scale_2
  Tensor layer_scale_1, layer_scale_2;  // [d,1,1]: folded into proj / ffn.fc2 at bind, then released
};

struct PatchEmbedW {  // network.{i}.proj
  ConvW lk;           // proj.0.lkb_reparam [out,1,7,7], groups = in (multiplier out/in)
  ConvW pw;           // proj.1.reparam_conv [out,out,1,1]
};

struct StageW {  // one entry of the flat `network` list
  enum class Kind { kRepMixerStage, kAttentionStage, kPatchEmbed, kRepCpe } kind;
  int stage = 0;
  int dim = 0;
  std::vector<RepMixerBlockW> repmixer;
  std::vector<AttentionBlockW> attention;
  PatchEmbedW down;
  ConvW cpe;  // reparam_conv [d,1,7,7] (identity folded in)
};

struct ConvExpW {   // conv_exp: MobileOneBlock(use_se=True)
  ConvW conv;       // reparam_conv [exp,1,3,3], groups = last dim
  ConvW se_reduce;  // se.reduce [exp/16, exp, 1, 1]
  ConvW se_expand;  // se.expand [exp, exp/16, 1, 1]
};

struct FastVitHdWeights {
  FastVitHdConfig cfg;
  ConvW stem[3];                // patch_embed.{0,1,2}.reparam_conv
  std::vector<StageW> network;  // network.0 .. network.N
  ConvExpW conv_exp;
};

struct ProjectorW {            // mm_projector: Linear, GELU, Linear, ...
  std::vector<ConvW> linears;  // [H, mm_hidden], [H, H] ...
};

// Validates the vision tensors against the table (all problems at once, Error{kBadModel}) and binds
// through the same table (encoder/fastvithd_tensors.h), then applies the folds above.
// kDeferred: every matrix oneDNN packs is left to dense_weight (views of `tensors`, which must stay
// mapped); norms, biases and the SE weights that the forward reads itself are F32 either way.
enum class Binding { kEager, kDeferred };
FastVitHdWeights bind_fastvithd(const FastVitHdConfig& v, const TensorMap& tensors,
                                Binding mode = Binding::kEager);
ProjectorW bind_projector(const ProjectorConfig& c, const TensorMap& tensors);

}  // namespace fvlm::enc
