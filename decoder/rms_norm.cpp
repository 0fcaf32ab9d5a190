#include "decoder/rms_norm.h"

#include <cmath>

#include "core/parallel.h"

namespace fvlm::dec {

float sum_of_squares(const float* x, int64_t n) {
  float part[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) part[j] += x[i + j] * x[i + j];
  float ss = 0.f;
  for (; i < n; ++i) ss += x[i] * x[i];
  for (float p : part) ss += p;
  return ss;
}

namespace {
void rms_norm_row(const float* x, int64_t H, const float* w, float eps, float* y) {
  const float inv = 1.0f / std::sqrt(sum_of_squares(x, H) / float(H) + eps);  // torch.rsqrt(variance + eps)
  for (int64_t i = 0; i < H; ++i) y[i] = w[i] * (x[i] * inv);                 // self.weight * hidden_states
}
}  // namespace

void rms_norm(const float* x, int64_t T, int64_t H, const float* w, float eps, float* y) {
  parallel_for(T, 16, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) rms_norm_row(x + t * H, H, w, eps, y + t * H);
  });
}

}  // namespace fvlm::dec
