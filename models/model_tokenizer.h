// The tokenizer that belongs to a model, wherever it is stored (HF tokenizer files beside
// config.json, or tokenizer.ggml.* in a converted GGUF file).
#pragma once
#include <string>

#include "decoder/tokenizer.h"
#include "models/model_source.h"

namespace fvlm {

// Error{kBadModel} unless the model defines the chat template's special tokens (<|im_start|>,
// <|im_end|>, <|endoftext|>) as added tokens: without them they would be tokenized as plain text.
// A HF directory may define them in added_tokens.json, tokenizer_config.json (added_tokens_decoder)
// or tokenizer.json (added_tokens); the message names the files that are missing.
void check_chat_tokens(const ModelSource& src);
// The model's tokenizer, after check_chat_tokens; Error{kBadModel} when it has more ids than
// embedding rows (vocab_size).
Tokenizer open_tokenizer(const ModelSource& src);
// Opens just enough of the model at `path` (or $FASTVLM_MODEL) to get its tokenizer.
Tokenizer load_model_tokenizer(const std::string& path);

}  // namespace fvlm
