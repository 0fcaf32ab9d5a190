// Qwen2 decoder weights as plain structs, bound (no copies of matrices) from a checkpoint's tensors.
// Mirrors transformers Qwen2ForCausalLM / Qwen2DecoderLayer parameter names. Matrices keep their stored
// dtype (BF16/F16/F32/Q8_0/Q4_0): linear() dispatches on it. Norm weights and biases, tiny and
// added in f32 anyway, are converted to F32 copies at bind time.
#pragma once
#include <vector>

#include "core/safetensors.h"
#include "core/tensor.h"
#include "decoder/qwen2_config.h"

namespace fvlm::dec {

struct Qwen2LayerW {       // prefix model.layers.{i}.
  Tensor input_layernorm;  // [H] F32          input_layernorm.weight
  Tensor q_proj, q_bias;   // [H, H], [H] F32  self_attn.q_proj.{weight,bias}   (H = heads * head_dim)
  Tensor k_proj, k_bias;   // [KV, H], [KV]    self_attn.k_proj.{weight,bias}   (KV = kv_heads * head_dim)
  Tensor v_proj, v_bias;   // [KV, H], [KV]    self_attn.v_proj.{weight,bias}
  Tensor o_proj;           // [H, H]           self_attn.o_proj.weight (no bias)
  Tensor post_attention_layernorm;  // [H] F32          post_attention_layernorm.weight
  Tensor gate_proj;                 // [FF, H]          mlp.gate_proj.weight
  Tensor up_proj;                   // [FF, H]          mlp.up_proj.weight
  Tensor down_proj;                 // [H, FF]          mlp.down_proj.weight
};

struct Qwen2Weights {
  Tensor embed_tokens;              // [V, H]           model.embed_tokens.weight
  std::vector<Qwen2LayerW> layers;  // num_hidden_layers
  Tensor norm;                      // [H] F32          model.norm.weight
  Tensor lm_head;                   // [V, H]           lm_head.weight, else embed_tokens (tied)
};

// Validates every LLM tensor against the table derived from `c` (all problems reported at once,
// Error{kBadModel}), then binds. Vision and projector tensors in `t` are ignored here. The views
// keep the mapped files alive.
Qwen2Weights bind_qwen2(const Qwen2Config& c, const TensorMap& t);

}  // namespace fvlm::dec
