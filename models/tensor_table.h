// The one tensor table of a FastVLM checkpoint: every tensor's checkpoint name, expected shape
// (derived from config.json), role and quantisation policy. It drives validation at load, the
// converter's per-tensor policy, `inspect`, and the random-weights generator.
#pragma once
#include <string>
#include <vector>

#include "core/safetensors.h"
#include "core/tensor.h"
#include "models/config.h"

namespace fvlm {

enum class TensorRole { kVision, kProjector, kLlm };

// How far `convert` may compress a tensor (gemma's min_size idea).
enum class QuantPolicy {
  kKeepF32,   // norms, biases, layer scales, BatchNorm statistics, SE: tiny and precision-critical
  kFloat16,   // vision convolutions and the projector: F16/BF16 at most
  kUpToInt8,  // LLM attention projections and ffn_down: any type asked, but not below 8 bits
              //   (q4_0 -> Q8_0, unless `convert --pure`)
  kUpToInt4,  // the other LLM matrices and embeddings: any type the user asks for
};

enum class Presence {
  kRequired,
  kOptional,  // lm_head.weight when embeddings are tied: used when present
  kIgnored,   // num_batches_tracked, head.proj: accepted and validated, never used
};

struct TensorSpec {
  std::string name;  // checkpoint name, e.g. "model.layers.3.self_attn.q_proj.weight"
  Shape shape;       // PyTorch shape, e.g. [out, in] for Linear, [out, in/groups, kh, kw] for Conv2d
  TensorRole role;
  QuantPolicy quant;
  Presence presence = Presence::kRequired;
};

// Checkpoint name prefixes.
inline constexpr const char* kVisionPrefix = "model.vision_tower.vision_tower.model.";
inline constexpr const char* kProjectorPrefix = "model.mm_projector.";

// The FastViTHD `network` list of mci.py, flattened: which module sits at each index.
enum class NetworkModule { kStage, kPatchEmbed, kRepCpe };
struct NetworkEntry {
  NetworkModule kind;
  int stage;  // the stage this module belongs to (PatchEmbed: the stage it leads into)
};
std::vector<NetworkEntry> fastvithd_network_layout(const FastVitHdConfig& v);

std::vector<TensorSpec> vision_tensor_table(const ModelConfig& c);
std::vector<TensorSpec> projector_tensor_table(const ModelConfig& c);
std::vector<TensorSpec> llm_tensor_table(const ModelConfig& c);
std::vector<TensorSpec> model_tensor_table(const ModelConfig& c);  // all three, checkpoint order

struct TensorProblem {
  std::string name;
  std::string what;  // "missing", "unexpected", "shape [a] expected [b]", "dtype I64"
};
// Every problem at once (empty = valid).
std::vector<TensorProblem> find_tensor_problems(const std::vector<TensorSpec>& table,
                                                const TensorMap& tensors);
// Throws one Error{kBadModel} listing every problem (message: count + first few; detail: all).
void validate_tensors(const std::vector<TensorSpec>& table, const TensorMap& tensors);

}  // namespace fvlm
