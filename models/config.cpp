#include "models/config.h"

#include <fstream>
#include <regex>

#include <fmt/format.h>

#include "core/error.h"

namespace fvlm {
namespace {

[[noreturn]] void bad_key(const std::string& key, const std::string& why) {
  throw Error(Errc::kBadModel, fmt::format("config.json: '{}' {}", key, why));
}

template <class T>
T get_required(const nlohmann::json& j, const std::string& key) {
  if (!j.contains(key) || j[key].is_null()) bad_key(key, "is missing");
  try {
    return j[key].get<T>();
  } catch (const nlohmann::json::exception&) {
    bad_key(key, "has the wrong type");
  }
}

template <class T>
T get_or(const nlohmann::json& j, const std::string& key, T fallback) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  try {
    return j[key].get<T>();
  } catch (const nlohmann::json::exception&) {
    bad_key(key, "has the wrong type");
  }
}

void require_positive(int v, const std::string& key) {
  if (v <= 0) bad_key(key, fmt::format("must be positive, is {}", v));
}

FastVitHdConfig parse_fastvithd(const nlohmann::json& j, const std::string& tower) {
  FastVitHdConfig v;  // defaults = the released FastViTHD (mci.py fastvithd())
  // mobileclip_<name>_<image_size>: the trailing number is the input size (mobileclip_encoder.py).
  static const std::regex tower_re(R"(^mobileclip_([A-Za-z0-9]+)_(\d+)$)");
  std::smatch m;
  if (!std::regex_match(tower, m, tower_re))
    throw Error(Errc::kUnsupported, fmt::format("config.json: vision tower '{}' is not a FastViTHD "
                                                "(mobileclip_<name>_<size>)", tower));
  v.image_size = std::stoi(m[2]);
  if (j.contains("fastvithd_config") && j["fastvithd_config"].is_object()) {
    const auto& f = j["fastvithd_config"];
    v.image_size = get_or<int>(f, "image_size", v.image_size);
    v.layers = get_required<std::vector<int>>(f, "layers");
    v.embed_dims = get_required<std::vector<int>>(f, "embed_dims");
    v.mlp_ratios = get_or<std::vector<float>>(f, "mlp_ratios", std::vector<float>(v.layers.size(), 4.0f));
    v.downsamples = get_or<std::vector<bool>>(f, "downsamples", std::vector<bool>(v.layers.size(), true));
    if (f.contains("token_mixers")) {
      v.attention.clear();
      for (const auto& t : f["token_mixers"]) v.attention.push_back(t.get<std::string>() == "attention");
    }
    if (f.contains("pos_embs")) {
      v.rep_cpe.clear();
      for (const auto& p : f["pos_embs"]) v.rep_cpe.push_back(!p.is_null());
    }
    v.attention_head_dim = get_or<int>(f, "attention_head_dim", v.attention_head_dim);
    v.repmixer_kernel_size = get_or<int>(f, "repmixer_kernel_size", v.repmixer_kernel_size);
    v.down_patch_size = get_or<int>(f, "down_patch_size", v.down_patch_size);
    v.down_stride = get_or<int>(f, "down_stride", v.down_stride);
    v.cls_ratio = get_or<float>(f, "cls_ratio", v.cls_ratio);
    v.batchnorm_eps = get_or<float>(f, "batchnorm_eps", v.batchnorm_eps);
    v.projection_dim = get_or<int>(f, "projection_dim", v.projection_dim);
    v.output_stride = get_or<int>(f, "output_stride", v.output_stride);
  }
  const size_t n = v.layers.size();
  if (n == 0 || v.embed_dims.size() != n || v.mlp_ratios.size() != n || v.downsamples.size() != n ||
      v.attention.size() != n || v.rep_cpe.size() != n)
    bad_key("fastvithd_config", "has per-stage lists of different lengths");
  // Both are divisors below: a 0 would be an integer division by zero (SIGFPE), not an error.
  require_positive(v.attention_head_dim, "fastvithd_config.attention_head_dim");
  require_positive(v.output_stride, "fastvithd_config.output_stride");
  for (size_t i = 0; i < n; ++i) {
    require_positive(v.embed_dims[i], "fastvithd_config.embed_dims");
    if (v.attention[i] && v.embed_dims[i] % v.attention_head_dim != 0)
      bad_key("fastvithd_config.embed_dims", "must be a multiple of attention_head_dim in attention stages");
  }
  if (v.image_size % v.output_stride != 0) bad_key("image_size", "must be a multiple of the output stride");
  return v;
}

}  // namespace

ModelConfig parse_model_config(const nlohmann::json& j) {
  if (!j.is_object()) throw Error(Errc::kBadModel, "config.json is not a JSON object");
  ModelConfig c;
  c.raw = j;
  const std::string model_type = get_or<std::string>(j, "model_type", "");
  if (model_type != "llava_qwen2")
    throw Error(Errc::kUnsupported,
                fmt::format("config.json: model_type '{}' is not a FastVLM checkpoint (llava_qwen2)", model_type));
  c.name = get_or<std::string>(j, "_name_or_path", "");
  Qwen2Config& l = c.llm;
  l.hidden_size = get_required<int>(j, "hidden_size");
  l.num_hidden_layers = get_required<int>(j, "num_hidden_layers");
  l.num_attention_heads = get_required<int>(j, "num_attention_heads");
  l.num_key_value_heads = get_or<int>(j, "num_key_value_heads", l.num_attention_heads);
  l.intermediate_size = get_required<int>(j, "intermediate_size");
  l.vocab_size = get_required<int>(j, "vocab_size");
  l.rms_norm_eps = get_or<float>(j, "rms_norm_eps", 1e-6f);
  l.rope_theta = get_or<float>(j, "rope_theta", 10000.0f);
  l.max_position_embeddings = get_or<int>(j, "max_position_embeddings", 32768);
  l.tie_word_embeddings = get_or<bool>(j, "tie_word_embeddings", true);
  l.bos_token_id = get_or<int>(j, "bos_token_id", 151643);
  l.eos_token_id = get_or<int>(j, "eos_token_id", 151645);
  for (auto [v, k] : {std::pair{l.hidden_size, "hidden_size"}, {l.num_hidden_layers, "num_hidden_layers"},
                      {l.num_attention_heads, "num_attention_heads"}, {l.num_key_value_heads, "num_key_value_heads"},
                      {l.intermediate_size, "intermediate_size"}, {l.vocab_size, "vocab_size"}})
    require_positive(v, k);
  if (l.hidden_size % l.num_attention_heads != 0) bad_key("hidden_size", "is not a multiple of num_attention_heads");
  if (l.num_attention_heads % l.num_key_value_heads != 0)
    bad_key("num_key_value_heads", "does not divide num_attention_heads");
  if (j.contains("rope_scaling") && !j["rope_scaling"].is_null())
    throw Error(Errc::kUnsupported, "config.json: rope_scaling is not supported");

  c.mm_hidden_size = get_required<int>(j, "mm_hidden_size");
  c.mm_projector_type = get_or<std::string>(j, "mm_projector_type", "linear");
  static const std::regex mlp_re(R"(^mlp(\d+)x_gelu$)");
  std::smatch m;
  if (std::regex_match(c.mm_projector_type, m, mlp_re)) {
    c.projector_depth = std::stoi(m[1]);
  } else if (c.mm_projector_type == "linear") {
    c.projector_depth = 1;
  } else {
    throw Error(Errc::kUnsupported, fmt::format("config.json: mm_projector_type '{}'", c.mm_projector_type));
  }
  c.image_aspect_ratio = get_or<std::string>(j, "image_aspect_ratio", "pad");
  if (j.contains("image_grid_pinpoints") && j["image_grid_pinpoints"].is_array())
    for (const auto& p : j["image_grid_pinpoints"]) {
      if (!p.is_array() || p.size() != 2) bad_key("image_grid_pinpoints", "must be a list of [w, h] pairs");
      c.image_grid_pinpoints.push_back({p[0].get<int>(), p[1].get<int>()});
    }
  c.image_token_index = get_or<int>(j, "image_token_index", 151646);
  c.tokenizer_model_max_length = get_or<int>(j, "tokenizer_model_max_length", 8192);
  c.vision = parse_fastvithd(j, get_required<std::string>(j, "mm_vision_tower"));
  if (c.mm_hidden_size != c.vision.conv_exp_dim())
    bad_key("mm_hidden_size", fmt::format("is {}, but the vision tower outputs {} channels", c.mm_hidden_size,
                                          c.vision.conv_exp_dim()));
  return c;
}

ModelConfig load_model_config(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw Error(Errc::kNotFound, fmt::format("cannot open {}", path));
  nlohmann::json j = nlohmann::json::parse(f, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw Error(Errc::kBadModel, fmt::format("{}: not valid JSON", path));
  return parse_model_config(j);
}

ModelConfig released_config(ReleasedModel which) {
  nlohmann::json j = {
      {"model_type", "llava_qwen2"}, {"mm_vision_tower", "mobileclip_l_1024"}, {"mm_hidden_size", 3072},
      {"mm_projector_type", "mlp2x_gelu"}, {"rms_norm_eps", 1e-6}, {"rope_theta", 1000000.0},
      {"image_aspect_ratio", "pad"}, {"image_token_index", 151646}, {"bos_token_id", 151643},
      {"eos_token_id", 151645}, {"max_position_embeddings", 32768}, {"tokenizer_model_max_length", 8192}};
  switch (which) {
    case ReleasedModel::k0_5B:
      j.update({{"_name_or_path", "FastVLM-0.5B"}, {"hidden_size", 896}, {"num_hidden_layers", 24},
                {"num_attention_heads", 14}, {"num_key_value_heads", 2}, {"intermediate_size", 4864},
                {"vocab_size", 151936}, {"tie_word_embeddings", true}});
      break;
    case ReleasedModel::k1_5B:
      j.update({{"_name_or_path", "FastVLM-1.5B"}, {"hidden_size", 1536}, {"num_hidden_layers", 28},
                {"num_attention_heads", 12}, {"num_key_value_heads", 2}, {"intermediate_size", 8960},
                {"vocab_size", 151936}, {"tie_word_embeddings", true}});
      break;
    case ReleasedModel::k7B:
      j.update({{"_name_or_path", "FastVLM-7B"}, {"hidden_size", 3584}, {"num_hidden_layers", 28},
                {"num_attention_heads", 28}, {"num_key_value_heads", 4}, {"intermediate_size", 18944},
                {"vocab_size", 152064}, {"tie_word_embeddings", false}});
      break;
  }
  return parse_model_config(j);
}

}  // namespace fvlm
