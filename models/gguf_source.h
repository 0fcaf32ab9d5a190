// Opening the converted form (models/convert.h): OUTDIR holding fastvlm-llm.gguf and
// fastvlm-vision.gguf, or either file (its sibling is found beside it). Both files are
// memory-mapped; the tensors come back under their checkpoint names as zero-copy views (quantised
// blocks included), so the rest of the engine sees the same TensorMap as for a HF directory.
#pragma once
#include <string>

#include "decoder/tokenizer_files.h"
#include "models/model_source.h"

namespace fvlm {

// True when `path` is a .gguf file or a directory holding fastvlm-llm.gguf.
bool is_gguf_model_path(const std::string& path);

// config from fastvlm.config_json; tensors renamed back (token_embd -> model.embed_tokens.weight,
// v.* -> model.vision_tower.vision_tower.model.*, mm.* -> model.mm_projector.*). A folded ConvFFN
// BatchNorm comes back as an identity BatchNorm carrying the folded bias (gamma = sqrt(eps),
// var = 0, mean = 0, beta = b'), which any BN folding at load reproduces exactly (scale = 1).
// Throws Error{kNotFound} / Error{kBadModel} (missing file, corrupt file, missing keys).
ModelSource open_gguf_model_source(const std::string& path, bool validate = true);

// tokenizer.ggml.* of the LLM file as tokenizer tables: NORMAL tokens -> vocab, CONTROL ->
// special added tokens, USER_DEFINED -> non-special added tokens, UNUSED ([PAD{id}]) dropped.
TokenizerFiles gguf_tokenizer_files(const std::string& path);

}  // namespace fvlm
