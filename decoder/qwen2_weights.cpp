#include "decoder/qwen2_weights.h"

#include <fmt/format.h>

#include "core/error.h"
#include "models/tensor_table.h"

namespace fvlm::dec {

namespace {
bool is_matrix_dtype(DType d) {
  return d == DType::F32 || d == DType::BF16 || d == DType::F16 || d == DType::Q8_0 || d == DType::Q4_0;
}

struct Binder {
  const TensorMap& t;
  Tensor matrix(const std::string& name) const {
    const Tensor& m = t.at(name);
    if (!is_matrix_dtype(m.dtype()))
      throw Error(Errc::kBadModel, fmt::format("[load] tensor {}: dtype {} is not a weight type", name,
                                               dtype_name(m.dtype())));
    return m;
  }
  Tensor vec_f32(const std::string& name) const {
    const Tensor& v = t.at(name);
    if (v.dtype() != DType::F32 && v.dtype() != DType::BF16 && v.dtype() != DType::F16)
      throw Error(Errc::kBadModel, fmt::format("[load] tensor {}: dtype {}, expected a float type", name,
                                               dtype_name(v.dtype())));
    return to_f32(v);
  }
};
}  // namespace

Qwen2Weights bind_qwen2(const ModelConfig& c, const TensorMap& t) {
  TensorMap llm;
  for (const auto& [name, tensor] : t)
    if (!name.starts_with(kVisionPrefix) && !name.starts_with(kProjectorPrefix)) llm.emplace(name, tensor);
  validate_tensors(llm_tensor_table(c), llm);

  const Binder b{llm};
  Qwen2Weights w;
  w.embed_tokens = b.matrix("model.embed_tokens.weight");
  for (int i = 0; i < c.llm.num_hidden_layers; ++i) {
    const std::string p = fmt::format("model.layers.{}.", i);
    Qwen2LayerW& l = w.layers.emplace_back();
    l.input_layernorm = b.vec_f32(p + "input_layernorm.weight");
    l.q_proj = b.matrix(p + "self_attn.q_proj.weight");
    l.q_bias = b.vec_f32(p + "self_attn.q_proj.bias");
    l.k_proj = b.matrix(p + "self_attn.k_proj.weight");
    l.k_bias = b.vec_f32(p + "self_attn.k_proj.bias");
    l.v_proj = b.matrix(p + "self_attn.v_proj.weight");
    l.v_bias = b.vec_f32(p + "self_attn.v_proj.bias");
    l.o_proj = b.matrix(p + "self_attn.o_proj.weight");
    l.post_attention_layernorm = b.vec_f32(p + "post_attention_layernorm.weight");
    l.gate_proj = b.matrix(p + "mlp.gate_proj.weight");
    l.up_proj = b.matrix(p + "mlp.up_proj.weight");
    l.down_proj = b.matrix(p + "mlp.down_proj.weight");
  }
  w.norm = b.vec_f32("model.norm.weight");
  // The table makes lm_head optional only when tie_word_embeddings is true.
  w.lm_head = llm.count("lm_head.weight") ? b.matrix("lm_head.weight") : w.embed_tokens;
  return w;
}

}  // namespace fvlm::dec
