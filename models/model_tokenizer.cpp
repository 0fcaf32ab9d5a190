#include "models/model_tokenizer.h"

#include <filesystem>

namespace fvlm {

Tokenizer open_tokenizer(const ModelSource& src) { return Tokenizer::load(src.dir); }

Tokenizer load_model_tokenizer(const std::string& path_in) {
  const std::string path = resolve_model_path(path_in);
  const std::string dir = std::filesystem::is_directory(path) ? path
                                                              : std::filesystem::path(path).parent_path().string();
  return Tokenizer::load(dir);
}

}  // namespace fvlm
