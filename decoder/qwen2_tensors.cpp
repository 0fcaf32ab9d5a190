// The Qwen2 tensor table (transformers Qwen2ForCausalLM parameter names and llama.cpp's GGUF names,
// shapes from the config), walked field by field: the one place the decoder's tensor names are
// spelled.
#include "decoder/qwen2_tensors.h"

#include <fmt/format.h>

namespace fvlm::dec {

void for_each_qwen2_tensor(const Qwen2Config& l, Qwen2Weights* w, const Qwen2TensorVisitor& visit) {
  const int64_t h = l.hidden_size, kv = l.kv_dim(), ff = l.intermediate_size;
  Tensor unused;  // the field of every tensor when only the table is asked for
  auto field = [&](Tensor& f) { return w ? &f : &unused; };
  // Each tensor's transformers name, then its llama.cpp (GGUF) name (convert_hf_to_gguf.py Qwen2Model).
  auto add = [&](std::string name, std::string gguf, Shape shape, QuantPolicy q, Tensor* f,
                 Presence p = Presence::kRequired) {
    visit(TensorSpec{std::move(name), std::move(shape), TensorRole::kLlm, q, p, std::move(gguf)}, f);
  };
  if (w) w->layers.resize(size_t(l.num_hidden_layers));
  add(kQwen2Embedding, "token_embd.weight", {l.vocab_size, h}, QuantPolicy::kUpToInt4,
      w ? &w->embed_tokens : &unused);
  // Attention projections and ffn_down keep 8 bits when Q4_0 is asked (bench/README.md has the
  // measurements): the attention ones move the logits most per weight and are only ~12% of a Qwen2
  // layer (GQA: small k, v); with ffn_down too, Q4_0's first token matches FP32 on the goldens.
  Qwen2LayerW scratch_layer;
  for (int i = 0; i < l.num_hidden_layers; ++i) {
    Qwen2LayerW& y = w ? w->layers[size_t(i)] : scratch_layer;
    const std::string p = fmt::format("{}{}.", kQwen2LayerPrefix, i), g = fmt::format("blk.{}.", i);
    add(p + "input_layernorm.weight", g + "attn_norm.weight", {h}, QuantPolicy::kKeepF32,
        field(y.input_layernorm));
    add(p + "self_attn.q_proj.weight", g + "attn_q.weight", {h, h}, QuantPolicy::kUpToInt8, field(y.q_proj));
    add(p + "self_attn.q_proj.bias", g + "attn_q.bias", {h}, QuantPolicy::kKeepF32, field(y.q_bias));
    add(p + "self_attn.k_proj.weight", g + "attn_k.weight", {kv, h}, QuantPolicy::kUpToInt8, field(y.k_proj));
    add(p + "self_attn.k_proj.bias", g + "attn_k.bias", {kv}, QuantPolicy::kKeepF32, field(y.k_bias));
    add(p + "self_attn.v_proj.weight", g + "attn_v.weight", {kv, h}, QuantPolicy::kUpToInt8, field(y.v_proj));
    add(p + "self_attn.v_proj.bias", g + "attn_v.bias", {kv}, QuantPolicy::kKeepF32, field(y.v_bias));
    add(p + "self_attn.o_proj.weight", g + "attn_output.weight", {h, h}, QuantPolicy::kUpToInt8,
        field(y.o_proj));
    add(p + "post_attention_layernorm.weight", g + "ffn_norm.weight", {h}, QuantPolicy::kKeepF32,
        field(y.post_attention_layernorm));
    add(p + "mlp.gate_proj.weight", g + "ffn_gate.weight", {ff, h}, QuantPolicy::kUpToInt4,
        field(y.gate_proj));
    add(p + "mlp.up_proj.weight", g + "ffn_up.weight", {ff, h}, QuantPolicy::kUpToInt4, field(y.up_proj));
    add(p + "mlp.down_proj.weight", g + "ffn_down.weight", {h, ff}, QuantPolicy::kUpToInt8,
        field(y.down_proj));
  }
  add("model.norm.weight", "output_norm.weight", {h}, QuantPolicy::kKeepF32, w ? &w->norm : &unused);
  // Tied models may still store lm_head.weight (the 0.5B release does): use it when present.
  add(kQwen2LmHead, "output.weight", {l.vocab_size, h}, QuantPolicy::kUpToInt4, w ? &w->lm_head : &unused,
      l.tie_word_embeddings ? Presence::kOptional : Presence::kRequired);
}

std::vector<TensorSpec> qwen2_tensor_table(const Qwen2Config& c) {
  std::vector<TensorSpec> out;
  for_each_qwen2_tensor(c, nullptr, [&](const TensorSpec& s, Tensor*) { out.push_back(s); });
  return out;
}

bool is_qwen2_tensor(std::string_view name) {
  for (std::string_view prefix : {"model.embed_tokens.", kQwen2LayerPrefix, "model.norm.", "lm_head."})
    if (name.starts_with(prefix)) return true;
  return false;
}

}  // namespace fvlm::dec
