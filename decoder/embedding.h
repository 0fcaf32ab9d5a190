// Token embedding lookup (nn.Embedding): rows of model.embed_tokens.weight widened to f32.
#pragma once
#include <cstdint>
#include <span>

#include "core/tensor.h"

namespace fvlm::dec {

// out[i, :] = table[ids[i], :] for a [V, H] F32/BF16/F16/Q8_0/Q4_0 table (quantised rows are
// dequantised, as ggml_get_rows does). An id outside [0, V) is Error{kBadArgs}; another dtype is
// Error{kUnsupported}.
void embed_rows(const Tensor& table, std::span<const int32_t> ids, float* out);

}  // namespace fvlm::dec
