// Qwen2RMSNorm: y = weight * x / sqrt(mean(x^2) + eps), per row, in f32.
#pragma once
#include <cstdint>

namespace fvlm::dec {

// sum of x[i]^2 over [0, n) in f32, eight partial sums (vectorisable; the error stays at f32 level).
// Also what the int8 prefill's outlier search measures a row with (decoder/int8_outliers.h).
float sum_of_squares(const float* x, int64_t n);

// x, y: [T, H] (may alias); w: [H]. Threads over rows.
void rms_norm(const float* x, int64_t T, int64_t H, const float* w, float eps, float* y);

}  // namespace fvlm::dec
