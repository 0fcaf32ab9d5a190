#include "decoder/activations.h"

#include <algorithm>
#include <cmath>

namespace fvlm::dec {
namespace {
constexpr Variant<SiluMulFn> kSiluMul[] = {
    {"ref", CpuFeature::kNone, silu_mul_ref},
    {"avx2", CpuFeature::kAvx2, silu_mul_avx2},
};
constexpr Variant<SoftmaxFn> kSoftmax[] = {
    {"ref", CpuFeature::kNone, softmax_ref},
    {"avx2", CpuFeature::kAvx2, softmax_avx2},
};
}  // namespace

void silu_mul_ref(float* gate, const float* up, int64_t n) {
  for (int64_t i = 0; i < n; ++i) gate[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

void softmax_ref(float* x, int64_t n) {
  float mx = x[0];
  for (int64_t i = 1; i < n; ++i) mx = std::max(mx, x[i]);
  float sum = 0.f;
  for (int64_t i = 0; i < n; ++i) sum += (x[i] = std::exp(x[i] - mx));
  const float inv = 1.0f / sum;
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

std::span<const Variant<SiluMulFn>> silu_mul_variants() { return kSiluMul; }
std::span<const Variant<SoftmaxFn>> softmax_variants() { return kSoftmax; }

SiluMulFn best_silu_mul() {
  static const SiluMulFn f = pick("silu_mul", kSiluMul).fn;
  return f;
}

SoftmaxFn best_softmax() {
  static const SoftmaxFn f = pick("softmax", kSoftmax).fn;
  return f;
}

}  // namespace fvlm::dec
