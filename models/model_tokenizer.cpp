#include "models/model_tokenizer.h"

#include <filesystem>

#include "models/gguf_source.h"

namespace fvlm {

Tokenizer open_tokenizer(const ModelSource& src) {
  if (src.format == ModelFormat::kGguf) return Tokenizer::from_files(gguf_tokenizer_files(src.path));
  return Tokenizer::load(src.dir);
}

Tokenizer load_model_tokenizer(const std::string& path_in) {
  const std::string path = resolve_model_path(path_in);
  if (is_gguf_model_path(path)) return Tokenizer::from_files(gguf_tokenizer_files(path));
  const std::string dir = std::filesystem::is_directory(path) ? path
                                                              : std::filesystem::path(path).parent_path().string();
  return Tokenizer::load(dir);
}

}  // namespace fvlm
