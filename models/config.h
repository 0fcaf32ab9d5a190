// Model hyperparameters, read from a Hugging Face FastVLM config.json (model_type llava_qwen2) into
// the decoder's Qwen2Config and the encoder's FastViTHD / projector configs (models/ composes; the
// config structs live with the code that runs them). Every size in the engine comes from here.
#pragma once
#include <array>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "decoder/qwen2_config.h"
#include "encoder/fastvithd_config.h"

namespace fvlm {

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

// The encoder's and projector's part of `c`.
VisionConfig vision_config(const ModelConfig& c);

// Configs of the released checkpoints (for the random-weights generator and shape tests).
enum class ReleasedModel { k0_5B, k1_5B, k7B };
ModelConfig released_config(ReleasedModel m);

}  // namespace fvlm
