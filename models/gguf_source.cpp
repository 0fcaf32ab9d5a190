#include "models/gguf_source.h"

#include <cmath>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/gguf.h"
#include "core/mapped_file.h"
#include "models/convert.h"
#include "models/gguf_keys.h"

namespace fvlm {
namespace fs = std::filesystem;
namespace {

// The directory holding both files.
std::string gguf_dir(const std::string& path) {
  return fs::is_directory(path) ? path : fs::path(path).parent_path().string();
}

std::string need_file(const std::string& dir, const char* name) {
  const fs::path p = fs::path(dir) / name;
  if (!fs::exists(p)) throw Error(Errc::kNotFound, fmt::format("converted model: {} not found", p.string()));
  return p.string();
}

// GGUF LLM name -> checkpoint name, from the table.
std::map<std::string, std::string> llm_names(const ModelConfig& c) {
  std::map<std::string, std::string> m;
  for (const TensorSpec& s : llm_tensor_table(c)) m[s.gguf_name] = s.name;
  return m;
}

void add_vision(const GgufFile& f, const ModelConfig& c, TensorMap& out) {
  const float eps = c.vision.batchnorm_eps;
  std::map<std::string, enc::BatchNormFold> fold_of_bias;  // convert's folded bias -> its BatchNorm
  for (enc::BatchNormFold& fold : enc::fastvithd_batchnorm_folds(c.vision))
    fold_of_bias.emplace(fold.folded_bias, std::move(fold));
  for (auto& [name, t] : f.tensors()) {
    std::string ck;
    if (name.rfind(kGgufVisionPrefix, 0) == 0)
      ck = kVisionPrefix + name.substr(std::string(kGgufVisionPrefix).size());
    else if (name.rfind(kGgufProjectorPrefix, 0) == 0)
      ck = kProjectorPrefix + name.substr(std::string(kGgufProjectorPrefix).size());
    else
      throw Error(Errc::kBadModel, fmt::format("{}: unexpected tensor '{}'", f.path(), name));
    const auto fold = fold_of_bias.find(ck);
    if (fold == fold_of_bias.end()) {
      out[ck] = t;
      continue;
    }
    // Folded ConvFFN bias b' -> identity BatchNorm: gamma / sqrt(var + eps) == 1 exactly.
    const int64_t n = t.numel();
    Tensor gamma = Tensor::zeros(DType::F32, {n}), zeros = Tensor::zeros(DType::F32, {n});
    const float g = std::sqrt(0.0f + eps);
    for (int64_t i = 0; i < n; ++i) gamma.f32()[i] = g;
    out[fold->second.gamma] = gamma;
    out[fold->second.beta] = t;
    out[fold->second.mean] = zeros;
    out[fold->second.var] = zeros;
  }
}

// llama.cpp builds the model from the qwen2.* keys and tokenizer.ggml.tokens, we from the embedded
// config.json: both must describe the same model (the tensors are checked against the config).
void check_metadata(const GgufFile& llm, const GgufFile& vis, const ModelConfig& c) {
  std::vector<ConfigProblem> problems = check_gguf_config_keys(llm, gguf_llm_config_keys(c));
  for (ConfigProblem& p : check_gguf_config_keys(vis, gguf_vision_config_keys(c))) {
    if (p.key == "general.architecture") p.key = std::string(kGgufVisionFile) + " " + p.key;
    problems.push_back(std::move(p));
  }
  // llama.cpp takes n_vocab from the token list and needs one token per token_embd row.
  if (const GgufValue* t = llm.find("tokenizer.ggml.tokens"); t && size_t(c.llm.vocab_size) != t->size())
    problems.push_back({"tokenizer.ggml.tokens", fmt::format("a list of {} tokens", t->size()),
                        fmt::format("{} tokens, one per token_embd row (vocab_size in fastvlm.config_json)",
                                    c.llm.vocab_size)});
  throw_config_problems(
      fmt::format("{} / {}: metadata disagrees with fastvlm.config_json", llm.path(), kGgufVisionFile),
      problems);
}

}  // namespace

bool is_gguf_model_path(const std::string& path) {
  if (fs::is_directory(path)) return fs::exists(fs::path(path) / kGgufLlmFile);
  return fs::path(path).extension() == ".gguf";
}

ModelSource open_gguf_model_source(const std::string& path, bool validate) {
  if (!fs::exists(path)) throw Error(Errc::kNotFound, fmt::format("model not found: {}", path));
  ModelSource src;
  src.format = ModelFormat::kGguf;
  src.path = path;
  src.dir = gguf_dir(path);
  const GgufFile llm = GgufFile::open(need_file(src.dir, kGgufLlmFile));
  src.vision_file = MappedFile::open(need_file(src.dir, kGgufVisionFile));
  const GgufFile vis = GgufFile::parse(src.vision_file->data(), src.vision_file->size(), src.vision_file,
                                       src.vision_file->path());
  const nlohmann::json cfg = nlohmann::json::parse(
      vis.get("fastvlm.config_json").as_string("fastvlm.config_json"), nullptr, /*allow_exceptions=*/false);
  if (cfg.is_discarded())
    throw Error(Errc::kBadModel, fmt::format("{}: fastvlm.config_json is not JSON", vis.path()));
  src.config = parse_model_config(cfg);
  check_metadata(llm, vis, src.config);
  const auto names = llm_names(src.config);
  for (auto& [name, t] : llm.tensors()) {
    auto it = names.find(name);
    if (it == names.end())
      throw Error(Errc::kBadModel, fmt::format("{}: unexpected tensor '{}'", llm.path(), name));
    src.tensors[it->second] = t;
  }
  add_vision(vis, src.config, src.tensors);
  src.file_bytes = int64_t(fs::file_size(llm.path()) + fs::file_size(vis.path()));
  if (validate) validate_tensors(model_tensor_table(src.config), src.tensors);
  return src;
}

TokenizerFiles gguf_tokenizer_files(const std::string& path) {
  const GgufFile f = GgufFile::open(need_file(gguf_dir(path), kGgufLlmFile));
  const auto& tokens = f.get("tokenizer.ggml.tokens").as_strings("tokenizer.ggml.tokens");
  const std::vector<int64_t> types = f.get("tokenizer.ggml.token_type").as_ints("tokenizer.ggml.token_type");
  if (types.size() != tokens.size())
    throw Error(Errc::kBadModel,
                fmt::format("{}: {} tokens but {} token types", f.path(), tokens.size(), types.size()));
  TokenizerFiles tf;
  tf.vocab_source = tf.merges_source = f.path();
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (types[i] == 1)
      tf.vocab.emplace_back(tokens[i], int32_t(i));  // NORMAL
    else if (types[i] == 3 || types[i] == 4)
      tf.added.push_back({int32_t(i), tokens[i], types[i] == 3});
  }
  for (const std::string& m : f.get("tokenizer.ggml.merges").as_strings("tokenizer.ggml.merges")) {
    const size_t sp = m.find(' ');
    if (sp == std::string::npos)
      throw Error(Errc::kBadModel, fmt::format("{}: merge '{}' has no space", f.path(), m));
    tf.merges.emplace_back(m.substr(0, sp), m.substr(sp + 1));
  }
  return tf;
}

}  // namespace fvlm
