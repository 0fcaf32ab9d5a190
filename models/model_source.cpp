#include "models/model_source.h"

#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/error.h"
#include "models/gguf_source.h"
#include "models/model_cache.h"
#include "models/model_tokenizer.h"

namespace fvlm {
namespace fs = std::filesystem;

std::string resolve_model_path(const std::string& path) {
  std::string named = path;
  if (named.empty())
    if (const char* env = std::getenv("FASTVLM_MODEL"); env && *env) named = env;
  if (named.empty())
    throw Error(Errc::kBadArgs, "no model: pass -m/--model DIR or REPO (pulled) or set FASTVLM_MODEL");
  // A Hub repository id (pulled into the cache) when no local file or folder has that name.
  if (names_cached_model(named)) return resolve_cached_model(named);
  return named;
}

ModelSource open_model_source(const std::string& path_in, bool validate) {
  const std::string path = resolve_model_path(path_in);
  if (!fs::exists(path)) throw Error(Errc::kNotFound, fmt::format("model not found: {}", path));
  if (is_gguf_model_path(path)) return open_gguf_model_source(path, validate);  // the converted form
  ModelSource src;
  src.path = path;
  src.dir = fs::is_directory(path) ? path : fs::path(path).parent_path().string();
  const fs::path config = fs::path(src.dir) / "config.json";
  if (!fs::is_directory(path) || !fs::exists(config))
    throw Error(Errc::kBadModel, fmt::format("{}: not a FastVLM model directory (no config.json)", path));
  src.format = ModelFormat::kHuggingFace;
  src.config = load_model_config(config.string());
  src.tensors = read_safetensors_dir(src.dir);
  for (const auto& entry : fs::directory_iterator(src.dir))
    if (entry.path().extension() == ".safetensors") src.file_bytes += int64_t(entry.file_size());
  if (validate) validate_tensors(model_tensor_table(src.config), src.tensors);
  // Refused here too, so that `convert` does not write a GGUF whose chat tokens are plain text.
  if (validate) check_chat_tokens(src);
  spdlog::debug("opened {} ({} tensors)", path, src.tensors.size());
  return src;
}

}  // namespace fvlm
