// Model hyperparameters, read from a Hugging Face FastVLM config.json (model_type llava_qwen2).
// Every size in the engine comes from here: nothing is hard-coded for one checkpoint.
#pragma once
#include <array>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace fvlm {

// Names follow HF config.json so one grep finds both sides.
struct Qwen2Config {
  int hidden_size = 0;
  int num_hidden_layers = 0;
  int num_attention_heads = 0;
  int num_key_value_heads = 0;
  int intermediate_size = 0;
  int vocab_size = 0;  // embedding rows (151936), larger than the tokenizer
  float rms_norm_eps = 1e-6f;
  float rope_theta = 1e6f;
  int max_position_embeddings = 32768;
  bool tie_word_embeddings = true;
  int bos_token_id = 151643;
  int eos_token_id = 151645;
  int head_dim() const { return hidden_size / num_attention_heads; }
  int kv_dim() const { return num_key_value_heads * head_dim(); }
};

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

struct ModelConfig {
  std::string name;  // _name_or_path, for reports
  Qwen2Config llm;
  FastVitHdConfig vision;
  int mm_hidden_size = 3072;
  std::string mm_projector_type = "mlp2x_gelu";
  int projector_depth = 2;
  std::string image_aspect_ratio = "pad";                // pad | anyres | ...
  std::vector<std::array<int, 2>> image_grid_pinpoints;  // [w, h] pairs, for anyres
  int image_token_index = 151646;
  int tokenizer_model_max_length = 8192;
  nlohmann::json raw;     // the whole config.json, for inspect
  int checks_passed = 0;  // bounds and relations verified at parse (for inspect)
};

// One value of config.json outside its bound (or of the wrong JSON type, or missing).
struct ConfigProblem {
  std::string key;       // as in config.json, nested keys dotted: "fastvithd_config.image_size"
  std::string value;     // as written there ("0", "1000000000.0", "\"64\"", "missing")
  std::string expected;  // "an integer in [64, 4096]", "a multiple of num_attention_heads (14)"
};
std::string to_string(const ConfigProblem& p);  // "'key' is value, expected ..."

// Every value is checked against a bound generous for any FastVLM (0.5B..7B) and for reduced test
// models, but small enough that no allocation derived from it can explode (kQwen2Bounds and
// friends in config.cpp), then the relations between values (heads divide hidden_size, the
// encoder's total stride divides image_size, ...). A relation is only checked when its inputs passed.
struct CheckedConfig {
  ModelConfig config;  // problem values replaced by defaults: do not use if !problems.empty()
  std::vector<ConfigProblem> problems;  // every problem at once
};
// Throws Error{kUnsupported} for a checkpoint of another kind (model_type, vision tower, projector
// type, rope_scaling) and Error{kBadModel} only when `j` is not an object; everything else is a problem.
CheckedConfig check_model_config(const nlohmann::json& j);

// check_model_config, then one Error{kBadModel} listing every problem (message: count + first
// few; detail {"config_problems": [{key, value, expected}, ...]}).
ModelConfig parse_model_config(const nlohmann::json& j);
// Error{kBadModel} for `problems` (what: "config.json", "fastvlm-llm.gguf", ...). Problems empty: no-op.
void throw_config_problems(const std::string& what, const std::vector<ConfigProblem>& problems);
ModelConfig load_model_config(const std::string& config_json_path);

// Configs of the released checkpoints (for the random-weights generator and shape tests).
enum class ReleasedModel { k0_5B, k1_5B, k7B };
ModelConfig released_config(ReleasedModel m);

}  // namespace fvlm
