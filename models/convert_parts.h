// The two halves of `convert` (models/convert.h documents the files they write).
#pragma once
#include <string>

#include "core/tensor.h"
#include "models/model_source.h"

namespace fvlm {

// Each returns the number of tensors written to `path` (atomically: temp file + rename).
int write_llm_gguf(const ModelSource& src, DType type, bool pure, const std::string& path);   // convert_llm.cpp
int write_vision_gguf(const ModelSource& src, DType type, const std::string& path);   // convert_vision.cpp

// llama.cpp's llama_ftype of a whole-file type (general.file_type).
uint32_t llama_file_type(DType type);

}  // namespace fvlm
