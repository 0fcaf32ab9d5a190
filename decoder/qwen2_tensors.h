// The checkpoint tensors of the Qwen2 decoder (transformers names), each with its shape from the
// config and its quant policy. bind_qwen2 validates against this; models/ composes it with the
// vision tables for a whole checkpoint.
#pragma once
#include <string_view>
#include <vector>

#include <functional>

#include "core/tensor_spec.h"
#include "decoder/qwen2_config.h"
#include "decoder/qwen2_weights.h"

namespace fvlm::dec {

// Names the code above needs to single out (convert: the output matrix; inspect: per-layer kinds).
inline constexpr const char* kQwen2Embedding = "model.embed_tokens.weight";
inline constexpr const char* kQwen2LmHead = "lm_head.weight";
inline constexpr const char* kQwen2LayerPrefix = "model.layers.";  // then "{i}." and the layer's name

// visit(spec, field) for every tensor of the checkpoint, in checkpoint order; `field` is the member
// of `w` that holds it (w null: a scratch Tensor, for walking the table alone). bind_qwen2 binds
// through it, and qwen2_tensor_table (validation, inspect, convert, random weights) collects it.
using Qwen2TensorVisitor = std::function<void(const TensorSpec& spec, Tensor* field)>;
void for_each_qwen2_tensor(const Qwen2Config& c, Qwen2Weights* w, const Qwen2TensorVisitor& visit);

std::vector<TensorSpec> qwen2_tensor_table(const Qwen2Config& c);
// Whether a checkpoint name is in the decoder's namespaces (model.embed_tokens., model.layers.,
// model.norm., lm_head.): what bind_qwen2 takes from a whole checkpoint.
bool is_qwen2_tensor(std::string_view name);

}  // namespace fvlm::dec
