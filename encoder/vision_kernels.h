// Small hand-written kernels of the vision encoder that oneDNN does not fuse for us. All work on
// NHWC token matrices [pixels, C] (row = one pixel), threaded over rows with parallel_for. They are
// plain loops (each is its own scalar reference; tests/unit checks them against float64 math).
#pragma once
#include <cstdint>

namespace fvlm::enc {

// dst [rows, c * m] with dst[r, o] = src[r, o / m]: each channel repeated m times, so a grouped conv
// with one input and m outputs per group becomes a depthwise conv (mci.py pitfall: output o reads
// input channel o // m).
void repeat_channels(const float* src, float* dst, int64_t rows, int64_t c, int64_t m);
// The same, rounding to bf16 on the way (a bf16 depthwise conv reads it; the copy is the conversion).
void repeat_channels_bf16(const float* src, uint16_t* dst, int64_t rows, int64_t c, int64_t m);

// Exact GELU: 0.5 x (1 + erf(x / sqrt 2)), in place over n values.
void gelu_erf_inplace(float* x, int64_t n);
// The same on bf16 values, over the threads, with the best variant of encoder/gelu_bf16.h (the spec
// there); it replaces oneDNN's erf post-op, which on AMX cost more than the fc1 matmul it followed.
void gelu_erf_bf16_inplace(uint16_t* x, int64_t n);
// GELU of F32 values through that table (gelu_bf16.h's gelu_erf_f32_via_bf16), over the threads: the
// INT8 encoder's ConvFFN hidden.
void gelu_erf_f32_via_bf16_inplace(float* x, int64_t n);

// LayerNormChannel (mci.py): per row, (x - mean) / sqrt(biased var + eps) * w + b.
void layer_norm_rows(const float* x, float* y, int64_t rows, int64_t c, const float* w, const float* b,
                     float eps);
// The same, its result rounded to bf16 (the bf16 qkv matmul reads it without a conversion pass).
void layer_norm_rows_bf16(const float* x, uint16_t* y, int64_t rows, int64_t c, const float* w,
                          const float* b, float eps);

// SEBlock (mci.py) on one image x [hw, c], in place: m = mean over all hw (whole map);
// s = relu(Wr m + br) (Wr [r, c]); e = sigmoid(We s + be) (We [c, r]); x *= e per channel.
void squeeze_excite_inplace(float* x, int64_t hw, int64_t c, const float* wr, const float* br, int64_t r,
                            const float* we, const float* be);

}  // namespace fvlm::enc
