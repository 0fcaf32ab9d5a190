#include "models/gguf_keys.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace fvlm {
namespace {

bool is_float_type(GgufType t) { return t == GgufType::kF32 || t == GgufType::kF64; }

template <class T, class F>
std::string list_text(const std::vector<T>& xs, F one) {
  std::string s = "[";
  for (size_t i = 0; i < xs.size() && i < 12; ++i) s += (i ? ", " : "") + one(xs[i]);
  return s + (xs.size() > 12 ? ", ...]" : "]");
}

std::string quoted(const std::string& s) { return nlohmann::json(s).dump(); }
std::string float_text(double x) { return fmt::format("{}", float(x)); }  // shortest form of the f32

// A value as a short text; Error{kBadModel} from the accessors when the payload is unreadable.
std::string value_text(const GgufValue& v) {
  if (!v.is_array()) {
    if (v.type() == GgufType::kString) return quoted(v.as_string());
    if (v.type() == GgufType::kBool) return v.as_bool() ? "true" : "false";
    if (is_float_type(v.type())) return float_text(v.as_float());
    return std::to_string(v.as_int());
  }
  if (v.elem_type() == GgufType::kString) return list_text(v.as_strings(), quoted);
  if (v.elem_type() == GgufType::kBool)
    return list_text(v.as_ints(), [](int64_t x) { return std::string(x ? "true" : "false"); });
  if (is_float_type(v.elem_type())) return list_text(v.as_floats(), float_text);
  return list_text(v.as_ints(), [](int64_t x) { return std::to_string(x); });
}

// Same value, compared as the config's type: integers as integers (u32 vs i32 storage is fine),
// floats as the f32 the engine keeps, strings and lists element by element.
bool same_value(const GgufValue& want, const GgufValue& got) {
  if (want.is_array() != got.is_array()) return false;
  const GgufType t = want.is_array() ? want.elem_type() : want.type();
  if (t == GgufType::kString)
    return want.is_array() ? want.as_strings() == got.as_strings()
                           : got.type() == GgufType::kString && want.as_string() == got.as_string();
  if (t == GgufType::kBool)
    return want.is_array() ? want.as_ints() == got.as_ints()
                           : got.type() == GgufType::kBool && want.as_bool() == got.as_bool();
  if (is_float_type(t)) {
    if (!want.is_array()) return float(want.as_float()) == float(got.as_float());
    const std::vector<double> a = want.as_floats(), b = got.as_floats();
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
      if (float(a[i]) != float(b[i])) return false;
    return true;
  }
  return want.is_array() ? want.as_ints() == got.as_ints() : want.as_int() == got.as_int();
}

GgufValue u32(int v) { return GgufValue::u32(uint32_t(v)); }
template <class C>
GgufValue i32s(const C& xs) {
  return GgufValue::ints(GgufType::kI32, std::vector<int64_t>(xs.begin(), xs.end()));
}

}  // namespace

std::vector<GgufConfigKey> gguf_llm_config_keys(const ModelConfig& mc) {
  const Qwen2Config& c = mc.llm;
  return {
      {"general.architecture", "the qwen2 architecture", GgufValue::string("qwen2")},
      {"qwen2.block_count", "num_hidden_layers", u32(c.num_hidden_layers)},
      {"qwen2.context_length", "max_position_embeddings", u32(c.max_position_embeddings)},
      {"qwen2.embedding_length", "hidden_size", u32(c.hidden_size)},
      {"qwen2.feed_forward_length", "intermediate_size", u32(c.intermediate_size)},
      {"qwen2.attention.head_count", "num_attention_heads", u32(c.num_attention_heads)},
      {"qwen2.attention.head_count_kv", "num_key_value_heads", u32(c.num_key_value_heads)},
      {"qwen2.rope.freq_base", "rope_theta", GgufValue::f32(c.rope_theta)},
      {"qwen2.attention.layer_norm_rms_epsilon", "rms_norm_eps", GgufValue::f32(c.rms_norm_eps)},
  };
}

std::vector<GgufConfigKey> gguf_vision_config_keys(const ModelConfig& c) {
  const FastVitHdConfig& v = c.vision;
  std::vector<std::string> mixers, pos;
  std::vector<int64_t> downsamples;
  for (int s = 0; s < v.num_stages(); ++s) {
    mixers.push_back(v.attention[size_t(s)] ? "attention" : "repmixer");
    pos.push_back(v.rep_cpe[size_t(s)] ? "RepCPE7x7" : "");
    downsamples.push_back(v.downsamples[size_t(s)]);
  }
  const std::string p = "fastvithd_config.";
  return {
      {"general.architecture", "the fastvlm architecture", GgufValue::string("fastvlm")},
      {"fastvlm.vision.image_size", p + "image_size", u32(v.image_size)},
      {"fastvlm.vision.layers", p + "layers", i32s(v.layers)},
      {"fastvlm.vision.embed_dims", p + "embed_dims", i32s(v.embed_dims)},
      {"fastvlm.vision.mlp_ratios", p + "mlp_ratios",
       GgufValue::floats(GgufType::kF32, {v.mlp_ratios.begin(), v.mlp_ratios.end()})},
      {"fastvlm.vision.downsamples", p + "downsamples", GgufValue::ints(GgufType::kBool, downsamples)},
      {"fastvlm.vision.token_mixers", p + "token_mixers", GgufValue::strings(mixers)},
      {"fastvlm.vision.pos_embs", p + "pos_embs", GgufValue::strings(pos)},
      {"fastvlm.vision.attention_head_dim", p + "attention_head_dim", u32(v.attention_head_dim)},
      {"fastvlm.vision.repmixer_kernel_size", p + "repmixer_kernel_size", u32(v.repmixer_kernel_size)},
      {"fastvlm.vision.down_patch_size", p + "down_patch_size", u32(v.down_patch_size)},
      {"fastvlm.vision.down_stride", p + "down_stride", u32(v.down_stride)},
      {"fastvlm.vision.cpe_kernel_size", "RepCPE7x7", u32(v.cpe_kernel_size)},
      {"fastvlm.vision.cls_ratio", p + "cls_ratio", GgufValue::f32(v.cls_ratio)},
      {"fastvlm.vision.layernorm_eps", "LayerNormChannel eps", GgufValue::f32(v.layernorm_eps)},
      {"fastvlm.vision.batchnorm_eps", p + "batchnorm_eps", GgufValue::f32(v.batchnorm_eps)},
      {"fastvlm.vision.output_stride", p + "output_stride", u32(v.output_stride)},
      {"fastvlm.vision.batchnorm_folded", "the converter's BatchNorm folding", GgufValue::boolean(true)},
      {"fastvlm.projector.type", "mm_projector_type", GgufValue::string(c.mm_projector_type)},
      {"fastvlm.projector.depth", "mm_projector_type", u32(c.projector_depth)},
      {"fastvlm.mm_hidden_size", "mm_hidden_size", u32(c.mm_hidden_size)},
      {"fastvlm.llm.hidden_size", "hidden_size", u32(c.llm.hidden_size)},
      {"fastvlm.image_token_index", "image_token_index", u32(c.image_token_index)},
      {"fastvlm.image_aspect_ratio", "image_aspect_ratio", GgufValue::string(c.image_aspect_ratio)},
  };
}

std::vector<ConfigProblem> check_gguf_config_keys(const GgufFile& f, const std::vector<GgufConfigKey>& keys) {
  std::vector<ConfigProblem> problems;
  for (const GgufConfigKey& k : keys) {
    const std::string expected = fmt::format("{} ({} in fastvlm.config_json)", value_text(k.value), k.source);
    const GgufValue* got = f.find(k.key);
    if (!got) {
      problems.push_back({k.key, "missing", expected});
      continue;
    }
    try {
      if (!same_value(k.value, *got)) problems.push_back({k.key, value_text(*got), expected});
    } catch (const Error&) {  // another type than the converter writes
      const GgufType t = got->is_array() ? got->elem_type() : got->type();
      problems.push_back(
          {k.key, fmt::format("a value of type {}{}", got->is_array() ? "array of " : "", gguf_type_name(t)),
           expected});
    }
  }
  return problems;
}

}  // namespace fvlm
