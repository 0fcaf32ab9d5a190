// GELU (exact, erf form) over bf16 values in place: the ConvFFN hidden of the bf16 encoder, which
// fc1 writes as bf16 without oneDNN's erf post-op (that cost more than an AMX fc1 itself:
// bench/README.md, "AMX"). The spec: each value v becomes f32_to_bf16(0.5 v (1 + erf(v / sqrt 2)))
// with v and the formula in f32 and std::erf (NaN stays NaN).
//   ref    : a 65536-entry table of the spec, one load per value (made once, on first use)
//   avx512 : 16 values per step, erf as a rational function (Eigen's fast float erf: |error| <
//            7e-8 on [-4, 4], +-1 beyond), so a result may round to the bf16 next to the spec's
// tests/unit/test_gelu_bf16.cpp holds every variant to float64 math on all 65536 values.
#pragma once
#include <cstdint>
#include <span>

#include "core/dispatch.h"

namespace fvlm::enc {

using GeluBf16Fn = void (*)(uint16_t* x, int64_t n);

void gelu_erf_bf16_ref(uint16_t* x, int64_t n);
void gelu_erf_bf16_avx512(uint16_t* x, int64_t n);

// "ref" first, then "avx512" (core/dispatch.h).
std::span<const Variant<GeluBf16Fn>> gelu_erf_bf16_variants();

}  // namespace fvlm::enc
