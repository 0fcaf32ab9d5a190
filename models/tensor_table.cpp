#include "models/tensor_table.h"

#include <iterator>

namespace fvlm {

std::vector<TensorSpec> vision_tensor_table(const ModelConfig& c) {
  return enc::fastvithd_tensor_table(c.vision);
}

std::vector<TensorSpec> projector_tensor_table(const ModelConfig& c) {
  return enc::projector_tensor_table(vision_config(c).projector);
}

std::vector<TensorSpec> llm_tensor_table(const ModelConfig& c) { return dec::qwen2_tensor_table(c.llm); }

std::vector<TensorSpec> model_tensor_table(const ModelConfig& c) {
  std::vector<TensorSpec> all = vision_tensor_table(c);
  for (auto* part : {&projector_tensor_table, &llm_tensor_table}) {
    std::vector<TensorSpec> t = (*part)(c);
    all.insert(all.end(), std::make_move_iterator(t.begin()), std::make_move_iterator(t.end()));
  }
  return all;
}

}  // namespace fvlm
