// Element-wise kernels of the decoder that need exp(): SwiGLU's SiLU gate and the attention softmax.
// The _ref functions (std::exp) are the spec; the AVX2 variants use a Cephes-style exp polynomial
// (relative error ~2e-7), tested against them.
#pragma once
#include <cstdint>
#include <span>

#include "core/dispatch.h"

namespace fvlm::dec {

// gate[i] = silu(gate[i]) * up[i], silu(g) = g / (1 + exp(-g))   (Qwen2MLP: act_fn(gate_proj(x)) *
// up_proj(x))
using SiluMulFn = void (*)(float* gate, const float* up, int64_t n);
// x = softmax(x) in place (max-subtracted, f32 sum).
using SoftmaxFn = void (*)(float* x, int64_t n);

void silu_mul_ref(float* gate, const float* up, int64_t n);
void silu_mul_avx2(float* gate, const float* up, int64_t n);
void softmax_ref(float* x, int64_t n);
void softmax_avx2(float* x, int64_t n);

// "ref" first, then "avx2" (core/dispatch.h).
std::span<const Variant<SiluMulFn>> silu_mul_variants();
std::span<const Variant<SoftmaxFn>> softmax_variants();
SiluMulFn best_silu_mul();  // pick()'s choice, once
SoftmaxFn best_softmax();

}  // namespace fvlm::dec
