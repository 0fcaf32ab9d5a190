#include "decoder/qwen2_weights.h"

#include <fmt/format.h>

#include "core/error.h"
#include "decoder/qwen2_tensors.h"

namespace fvlm::dec {

namespace {
bool is_matrix_dtype(DType d) {
  return d == DType::F32 || d == DType::BF16 || d == DType::F16 || d == DType::Q8_0 || d == DType::Q4_0;
}

struct Binder {
  const TensorMap& t;
  Tensor matrix(const std::string& name) const {
    const Tensor& m = t.at(name);
    if (!is_matrix_dtype(m.dtype()))
      throw Error(Errc::kBadModel, fmt::format("[load] tensor {}: dtype {} is not a weight type", name,
                                               dtype_name(m.dtype())));
    return m;
  }
  Tensor vec_f32(const std::string& name) const {
    const Tensor& v = t.at(name);
    if (v.dtype() != DType::F32 && v.dtype() != DType::BF16 && v.dtype() != DType::F16)
      throw Error(Errc::kBadModel, fmt::format("[load] tensor {}: dtype {}, expected a float type", name,
                                               dtype_name(v.dtype())));
    return to_f32(v);
  }
};
}  // namespace

Qwen2Weights bind_qwen2(const Qwen2Config& c, const TensorMap& t) {
  TensorMap llm;
  for (const auto& [name, tensor] : t)
    if (is_qwen2_tensor(name)) llm.emplace(name, tensor);
  validate_tensors(qwen2_tensor_table(c), llm);

  const Binder b{llm};
  Qwen2Weights w;
  // Norms and biases (kKeepF32) become F32 copies; matrices stay views in their stored dtype.
  for_each_qwen2_tensor(c, &w, [&](const TensorSpec& s, Tensor* field) {
    if (!llm.count(s.name)) return;  // optional and absent (validated above): lm_head when tied
    *field = s.quant == QuantPolicy::kKeepF32 ? b.vec_f32(s.name) : b.matrix(s.name);
  });
  // The table makes lm_head optional only when tie_word_embeddings is true.
  if (w.lm_head.empty()) w.lm_head = w.embed_tokens;
  return w;
}

}  // namespace fvlm::dec
