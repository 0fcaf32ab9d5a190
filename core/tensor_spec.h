// What a checkpoint tensor must be: its name, shape, role and how far `convert` may compress it.
// The encoder and the decoder each own the table of their tensors (encoder/fastvithd_tensors.h,
// decoder/qwen2_tensors.h); validation, `inspect`, `convert` and the random-weights generator walk
// those tables. Shared here because both layers and everything above them need the types.
#pragma once
#include <string>
#include <vector>

#include "core/safetensors.h"
#include "core/tensor.h"

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
  std::string gguf_name = {};  // llama.cpp's name in a GGUF file, where llama.cpp has the tensor
};

// Appends specs under a name prefix; keeps table-building code one line per tensor.
struct TensorTableBuilder {
  std::vector<TensorSpec>& out;
  TensorRole role;
  std::string prefix;
  void add(const std::string& name, Shape shape, QuantPolicy q, Presence p = Presence::kRequired) {
    out.push_back({prefix + name, std::move(shape), role, q, p});
  }
  // A conv or linear with bias: weight (policy q) + bias (F32).
  void conv(const std::string& name, Shape w, QuantPolicy q = QuantPolicy::kFloat16) {
    const int64_t out_ch = w[0];
    add(name + ".weight", std::move(w), q);
    add(name + ".bias", {out_ch}, QuantPolicy::kKeepF32);
  }
};

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
