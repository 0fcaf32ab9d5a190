// The one tensor table of a whole FastVLM checkpoint, composed from the tables the encoder and the
// decoder own (encoder/fastvithd_tensors.h, decoder/qwen2_tensors.h; the spec types are
// core/tensor_spec.h). It drives validation at load, the converter's per-tensor policy, `inspect`,
// and the random-weights generator.
#pragma once
#include <vector>

#include "core/tensor_spec.h"
#include "decoder/qwen2_tensors.h"
#include "encoder/fastvithd_tensors.h"
#include "models/config.h"

namespace fvlm {

using enc::fastvithd_network_layout;
using enc::kProjectorPrefix;
using enc::kVisionPrefix;
using enc::NetworkEntry;
using enc::NetworkModule;

std::vector<TensorSpec> vision_tensor_table(const ModelConfig& c);     // enc::fastvithd_tensor_table
std::vector<TensorSpec> projector_tensor_table(const ModelConfig& c);  // enc::projector_tensor_table
std::vector<TensorSpec> llm_tensor_table(const ModelConfig& c);        // dec::qwen2_tensor_table
std::vector<TensorSpec> model_tensor_table(const ModelConfig& c);      // all three, checkpoint order

}  // namespace fvlm
