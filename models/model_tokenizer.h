// The tokenizer that belongs to a model, wherever it is stored (HF tokenizer files beside
// config.json, or tokenizer.ggml.* in a converted GGUF file).
#pragma once
#include <string>

#include "decoder/tokenizer.h"
#include "models/model_source.h"

namespace fvlm {

Tokenizer open_tokenizer(const ModelSource& src);
// Opens just enough of the model at `path` (or $FASTVLM_MODEL) to get its tokenizer.
Tokenizer load_model_tokenizer(const std::string& path);

}  // namespace fvlm
