// The GGUF metadata keys that restate config.json (qwen2.* that llama.cpp trusts, fastvlm.vision.*
// and friends), derived from a ModelConfig, and the check that a converted file's keys agree with
// the config embedded in it (fastvlm.config_json). A file whose keys disagree would load in
// llama.cpp with wrong shapes or hyperparameters, so it is refused here too (models/gguf_source.cpp).
#pragma once
#include <string>
#include <vector>

#include "core/gguf.h"
#include "models/config.h"

namespace fvlm {

struct GgufConfigKey {
  std::string key;     // "qwen2.block_count"
  std::string source;  // what it restates: "num_hidden_layers"
  GgufValue value;     // the value, typed as `convert` writes it
};

// Keys of fastvlm-llm.gguf / fastvlm-vision.gguf that restate `c` (models/convert.h lists them).
std::vector<GgufConfigKey> gguf_llm_config_keys(const ModelConfig& c);
std::vector<GgufConfigKey> gguf_vision_config_keys(const ModelConfig& c);

// Every key of `keys` that is missing from `f`, of another type, or of another value, as a
// ConfigProblem naming the key, the file's value and the config's ("2 (num_hidden_layers)").
std::vector<ConfigProblem> check_gguf_config_keys(const GgufFile& f, const std::vector<GgufConfigKey>& keys);

}  // namespace fvlm
