// ggml's Q8_0 and Q4_0 block formats, bit for bit, and their reference (scalar) quantisation.
// The weight quantisers mirror ggml-quants.c quantize_row_q8_0_ref / quantize_row_q4_0_ref, so a
// file written by `convert` holds the same bytes llama.cpp's own quantiser would write.
//
//   Q8_0 (34 bytes / 32 weights): f16 d; int8 qs[32];  w[j] = qs[j] * d
//   Q4_0 (18 bytes / 32 weights): f16 d; uint8 qs[16]; w[j]    = ((qs[j] & 0xF) - 8) * d   j < 16
//                                                      w[j+16] = ((qs[j] >> 4)  - 8) * d
#pragma once
#include <cstdint>

namespace fvlm::quant {

inline constexpr int kBlock = 32;  // QK8_0 == QK4_0

struct BlockQ8_0 {
  uint16_t d;  // f16 scale = max|x| / 127
  int8_t qs[kBlock];
};
struct BlockQ4_0 {
  uint16_t d;  // f16 scale = (signed value of max |x|) / -8
  uint8_t qs[kBlock / 2];
};
static_assert(sizeof(BlockQ8_0) == 34 && alignof(BlockQ8_0) == 2);
static_assert(sizeof(BlockQ4_0) == 18 && alignof(BlockQ4_0) == 2);

// Weights -> blocks. k % 32 == 0. Rounding as ggml: Q8_0 roundf (half away from zero) of x/d;
// Q4_0 truncation of x/d + 8.5, clamped to 15 (so the extreme value maps to exactly -8).
// The value of largest magnitude among x[0..n), sign kept (the first on ties; 0 if all are 0):
// what ggml's q4_0 scale is made of.
float signed_absmax(const float* x, int n);

void quantize_row_q8_0(const float* x, BlockQ8_0* y, int64_t k);
void quantize_row_q4_0(const float* x, BlockQ4_0* y, int64_t k);
// Same layout, smaller error: per block, a few rounds of least-squares scale refit and re-rounding
// from ggml's grid and its mirror (blocks.cpp). `convert` uses this one; any Q4_0 reader decodes it.
void quantize_row_q4_0_min_error(const float* x, BlockQ4_0* y, int64_t k);
void dequantize_row_q8_0(const BlockQ8_0* x, float* y, int64_t k);
void dequantize_row_q4_0(const BlockQ4_0* x, float* y, int64_t k);

// Activations quantised on the fly for the integer dot products ("Q8_0-style"): per block of 32,
// d = max|x| / 127 kept in f32 (ggml keeps f16; f32 is free here and more exact),
// q = round-half-even(x * (127 / max|x|)), and sum = sum of q (used by some kernels).
// Every kernel variant consumes this one reference quantisation, so all variants see identical
// integers and differ only in float summation order.
struct QuantizedRows {
  int64_t rows = 0, k = 0;  // k % 32 == 0
  int8_t* qs = nullptr;     // [rows, k]
  float* d = nullptr;       // [rows, k / 32]
  int32_t* sum = nullptr;   // [rows, k / 32]
};
void quantize_acts_row(const float* x, int64_t k, int8_t* qs, float* d, int32_t* sum);

}  // namespace fvlm::quant
