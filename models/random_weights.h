// Random weights at the shapes of a tensor table: the project's own generator for measuring speed at
// the real 0.5B / 1.5B / 7B shapes without downloads. Never used to answer a question.
#pragma once
#include <cstdint>
#include <vector>

#include "core/safetensors.h"
#include "models/tensor_table.h"

namespace fvlm {

// Deterministic for a seed. Scales keep activations O(1) through deep stacks: matrices and convs
// ~ U(+-sqrt(3 / fan_in)) (variance 1/fan_in), norms and BatchNorm variances 1, biases and BatchNorm
// means small, layer scales 0.1, embeddings ~ U(+-0.05). Ignored tensors (num_batches_tracked,
// head.proj) are not generated. `dtype` is F32 or BF16 (the release dtype).
TensorMap random_weights(const std::vector<TensorSpec>& table, uint64_t seed, DType dtype = DType::BF16);

}  // namespace fvlm
