// Finding and opening a model: a Hugging Face FastVLM directory (config.json + safetensors +
// tokenizer files), and later the converted GGUF form. Yields the config and the tensors under
// their checkpoint names, memory-mapped, validated against the tensor table.
#pragma once
#include <string>

#include "core/mapped_file.h"
#include "core/safetensors.h"
#include "models/config.h"
#include "models/tensor_table.h"

namespace fvlm {

enum class ModelFormat { kHuggingFace, kGguf };

struct ModelSource {
  ModelFormat format = ModelFormat::kHuggingFace;
  std::string path;  // what the user named
  std::string dir;   // directory holding config/tokenizer files
  ModelConfig config;
  TensorMap tensors;       // checkpoint names -> mmapped views
  int64_t file_bytes = 0;  // total size of the weight files
  // GGUF: the vision file alone (the encoder packs its weights; their file pages can then go).
  std::shared_ptr<const MappedFile> vision_file;
};

// Resolves `path` (or $FASTVLM_MODEL when empty) and opens it. Throws Error{kNotFound} when nothing
// is there, Error{kBadModel} for a malformed or mismatched checkpoint (every tensor problem at once).
ModelSource open_model_source(const std::string& path, bool validate = true);

// `path`, or $FASTVLM_MODEL, or Error{kBadArgs} saying how to name a model. A repository id
// (`apple/FastVLM-0.5B`, `REPO:q4_0`) that is no local path resolves from the pull cache
// (models/model_cache.h), or Error{kNotFound} saying how to pull it.
std::string resolve_model_path(const std::string& path);

}  // namespace fvlm
