// make_random_model: writes a Hugging Face FastVLM directory with RANDOM weights at the real shapes
// of FastVLM-0.5B / 1.5B / 7B, so speed and memory can be measured without downloading weights.
// Its answers are noise: it is a measuring tool, never a model.
//
//   make_random_model --size 0.5b --out /tmp/fastvlm-0.5b-random --tokenizer-from ../shared/golden/tiny/model
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/error.h"
#include "core/safetensors.h"
#include "models/random_weights.h"

using namespace fvlm;
namespace fs = std::filesystem;

int main(int argc, char** argv) {
  std::string size = "0.5b", out, tokenizer_from;
  uint64_t seed = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--size"))
      size = argv[i + 1];
    else if (!std::strcmp(argv[i], "--out"))
      out = argv[i + 1];
    else if (!std::strcmp(argv[i], "--tokenizer-from"))
      tokenizer_from = argv[i + 1];
    else if (!std::strcmp(argv[i], "--seed"))
      seed = std::stoull(argv[i + 1]);
  }
  if (out.empty() || tokenizer_from.empty()) {
    std::fprintf(
        stderr,
        "usage: make_random_model --size 0.5b|1.5b|7b --out DIR --tokenizer-from MODEL_DIR [--seed N]\n");
    return 2;
  }
  try {
    const ReleasedModel which = size == "7b"     ? ReleasedModel::k7B
                                : size == "1.5b" ? ReleasedModel::k1_5B
                                                 : ReleasedModel::k0_5B;
    ModelConfig c = released_config(which);
    c.raw["_name_or_path"] = "random-" + c.name;
    fs::create_directories(out);
    std::ofstream(fs::path(out) / "config.json") << c.raw.dump(2) << "\n";
    for (const char* f : {"vocab.json", "merges.txt", "tokenizer_config.json", "added_tokens.json",
                          "special_tokens_map.json", "tokenizer.json", "generation_config.json"}) {
      const fs::path src = fs::path(tokenizer_from) / f;
      if (fs::exists(src)) fs::copy_file(src, fs::path(out) / f, fs::copy_options::overwrite_existing);
    }
    std::fprintf(stderr, "generating %s random weights (seed %llu)...\n", c.name.c_str(),
                 (unsigned long long)seed);
    const TensorMap weights = random_weights(model_tensor_table(c), seed, DType::BF16);
    int64_t params = 0;
    for (const auto& [n, t] : weights) params += t.numel();
    write_safetensors((fs::path(out) / "model.safetensors").string(), weights);
    std::fprintf(stderr, "wrote %s: %zu tensors, %.1f M parameters (BF16)\n", out.c_str(), weights.size(),
                 double(params) / 1e6);
    return 0;
  } catch (const Error& e) {
    std::fprintf(stderr, "make_random_model: %s\n", e.what());
    return 1;
  }
}
