// Activations -> int8 blocks for the quantised matmul (QuantizedRows, quant/blocks.h), per CPU.
// blocks.h's quantize_acts_row is the specification; the AVX2 variant writes the same bytes, scales
// and sums bit for bit (same max, same f32 multiply, the same round-half-even conversion), so every
// matmul variant still sees one quantisation. Decode quantises each linear's input (~170 rows a
// token, and B rows per call in a batched step); the scalar loop (std::nearbyint per value) was
// ~4% of a batched decode step's CPU (perf, Q8_0, 8 sequences).
#pragma once
#include <cstdint>

#include <span>

#include "core/dispatch.h"
#include "quant/blocks.h"

namespace fvlm::quant {

void quantize_acts_row_avx2(const float* x, int64_t k, int8_t* qs, float* d, int32_t* sum);

using QuantizeActsFn = void (*)(const float* x, int64_t k, int8_t* qs, float* d, int32_t* sum);
// "ref" (blocks.h) first, then "avx2".
std::span<const Variant<QuantizeActsFn>> quantize_acts_variants();
// The variant pick() chose (once).
QuantizeActsFn best_quantize_acts();

}  // namespace fvlm::quant
