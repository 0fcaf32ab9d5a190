// GELU (exact, erf form) over bf16 values in place: the ConvFFN hidden of the bf16 encoder, which
// fc1 writes as bf16 without oneDNN's erf post-op (that cost more than an AMX fc1 itself:
// bench/README.md, "AMX"). The spec: each value v becomes f32_to_bf16(0.5 v (1 + erf(v / sqrt 2)))
// with v and the formula in f32 and std::erf (NaN stays NaN). A bf16 has 65536 values, so both
// variants look the answer up in one table of the spec (made once, on first use, 128 KB):
//   ref    : one scalar load per value
//   avx512 : 16 values per vpgatherdd (2-byte scale, the low half of each 32-bit read kept): ~2x
//            an Eigen-style rational erf in f32 (uop-bound at ~16 cycles per 16 values) and exact.
//            Gathers are slow on Intel cores with the Downfall (GDS) microcode fix (Skylake to
//            Ice/Tiger Lake); the bf16 encoder is auto only with AMX (Sapphire Rapids on), which
//            it does not affect.
// tests/unit/test_gelu_bf16.cpp holds every variant to float64 math on all 65536 values.
#pragma once
#include <cmath>
#include <cstdint>
#include <span>

#include "core/dispatch.h"

namespace fvlm::enc {

// Exact GELU in f32, the spec of every variant (and of vision_kernels' gelu_erf_inplace).
inline float gelu_erf(float v) { return 0.5f * v * (1.0f + std::erf(v * float(M_SQRT1_2))); }

using GeluBf16Fn = void (*)(uint16_t* x, int64_t n);

// The table: entry i is the spec's GELU of bf16 i; one zero entry past the end, so that a 4-byte
// read at any entry stays inside.
const uint16_t* gelu_erf_bf16_table();

void gelu_erf_bf16_ref(uint16_t* x, int64_t n);
void gelu_erf_bf16_avx512(uint16_t* x, int64_t n);

// "ref" first, then "avx512" (core/dispatch.h).
std::span<const Variant<GeluBf16Fn>> gelu_erf_bf16_variants();

// The same table for F32 values (the INT8 encoder's ConvFFN hidden, which fc1 writes as F32 without
// oneDNN's erf post-op: it cost as much as the int8 fc1 itself, bench/README.md session 31). The spec:
// each value v becomes bf16_to_f32(table[f32_to_bf16(v)]), i.e. GELU of v rounded to bf16, rounded to
// bf16: within 2^-8 relative of exact GELU, far inside the u8 step that fc2 quantises it to next.
using GeluF32Fn = void (*)(float* x, int64_t n);
void gelu_erf_f32_via_bf16_ref(float* x, int64_t n);
void gelu_erf_f32_via_bf16_avx2(float* x, int64_t n);
void gelu_erf_f32_via_bf16_avx512(float* x, int64_t n);

// "ref" first, then "avx2", "avx512" (core/dispatch.h).
std::span<const Variant<GeluF32Fn>> gelu_erf_f32_via_bf16_variants();

}  // namespace fvlm::enc
