// FastViTHD and projector hyperparameters, as the vision half needs them. models/config.cpp fills
// these from config.json; field names follow mci.py and config.json.
#pragma once
#include <string>
#include <vector>

namespace fvlm {

// FastViTHD as built by mci.py `fastvithd()`; names follow mci.py.
struct FastVitHdConfig {
  int image_size = 1024;  // model resolution (mobileclip_<name>_<size>)
  std::vector<int> layers{2, 12, 24, 4, 2};
  std::vector<int> embed_dims{96, 192, 384, 768, 1536};
  std::vector<float> mlp_ratios{4, 4, 4, 4, 4};
  std::vector<bool> downsamples{true, true, true, true, true};
  std::vector<bool> attention{false, false, false, true, true};  // token_mixers == "attention"
  std::vector<bool> rep_cpe{false, false, false, true, true};    // pos_embs == RepCPE7x7
  int attention_head_dim = 32;
  int repmixer_kernel_size = 3;
  int down_patch_size = 7;
  int down_stride = 2;
  int cpe_kernel_size = 7;
  float cls_ratio = 2.0f;  // conv_exp widens the last stage by this
  float batchnorm_eps = 1e-5f;
  float layernorm_eps = 1e-5f;
  int projection_dim = 768;  // head.proj (unused by FastVLM)
  int output_stride = 64;
  int num_stages() const { return int(layers.size()); }
  int conv_exp_dim() const { return int(embed_dims.back() * cls_ratio); }
  int tokens_for(int resolution) const { return (resolution / output_stride) * (resolution / output_stride); }
};

// LLaVA's mm_projector: mlp{depth}x_gelu from the vision features to the LLM's hidden size.
struct ProjectorConfig {
  int mm_hidden_size = 3072;  // config.json mm_hidden_size: FastViTHD's conv_exp width
  int hidden_size = 0;        // the LLM's hidden_size
  int depth = 2;
  std::string type = "mlp2x_gelu";  // config.json mm_projector_type
};

// Everything the vision half (encoder + projector) needs.
struct VisionConfig {
  FastVitHdConfig fastvithd;
  ProjectorConfig projector;
};

}  // namespace fvlm
