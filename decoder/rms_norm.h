// Qwen2RMSNorm: y = weight * x / sqrt(mean(x^2) + eps), per row, in f32.
#pragma once
#include <cstdint>

namespace fvlm::dec {

// x, y: [T, H] (may alias); w: [H]. Threads over rows.
void rms_norm(const float* x, int64_t T, int64_t H, const float* w, float eps, float* y);

}  // namespace fvlm::dec
